// The web app's crypto module (web/src/crypto/index.js, libsodium-wrappers-sumo)
// against the known answers of tests/vectors/seal.json, which tests/unit/test_seal.c
// checks against the C code: the browser and libarca read and write the same bytes.
//
// Run: (cd web && npm ci) && node --test tests/web/crypto.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';

import * as C from '../../web/src/crypto/index.js';

const V = JSON.parse(readFileSync(new URL('../vectors/seal.json', import.meta.url), 'utf8'));
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const adOf = (a) => ({
    projectId: a.project_id, environment: a.environment, path: a.path, key: a.key, field: a.field,
});

before(async () => {
    await C.ready();
});

test('record: the AD and the XChaCha20-Poly1305 record of every vector, and back', () => {
    assert.ok(V.record.length >= 2);
    for (const v of V.record) {
        const ad = adOf(v.ad);
        assert.equal(hex(C.recordAd(ad)), v.ad_hex);
        const rec = C.recordEncrypt(unhex(v.key), ad, unhex(v.plaintext), unhex(v.nonce));
        assert.equal(hex(rec), v.record);
        assert.equal(hex(C.recordDecrypt(unhex(v.key), ad, unhex(v.record))), v.plaintext);
    }
});

test('record: moved to another key, environment, path, project or field, it fails to open', () => {
    const v = V.record[0];
    const ad = adOf(v.ad);
    for (const change of [
        { key: 'OTHER' }, { environment: 'prod2' }, { path: '/x' }, { projectId: 'p' },
        { field: 'comment' }, { field: C.adField('someone', 'value') },
    ]) {
        assert.throws(() => C.recordDecrypt(unhex(v.key), { ...ad, ...change }, unhex(v.record)),
            `opened with ${JSON.stringify(change)}`);
    }
    const bad = unhex(v.record);
    bad[bad.length - 1] ^= 1;
    assert.throws(() => C.recordDecrypt(unhex(v.key), ad, bad));
    bad[bad.length - 1] ^= 1;
    bad[0] = 2; // unknown version
    assert.throws(() => C.recordDecrypt(unhex(v.key), ad, bad));
});

test('record: text round trip, and personal overrides bound to their owner', () => {
    const key = C.random(32);
    const ad = { projectId: 'p1', environment: 'dev', path: '/', key: 'K', field: 'value' };
    const b64 = C.recordSealText(key, ad, 'héllo\nworld');
    assert.equal(C.recordOpenText(key, ad, b64), 'héllo\nworld');
    assert.equal(C.adField('', 'value'), 'value');
    assert.equal(C.adField('u1', 'comment'), 'personal:u1:comment');
    const own = { ...ad, field: C.adField('u1', 'value') };
    const rec = C.recordSealText(key, own, 'mine');
    assert.throws(() => C.recordOpenText(key, ad, rec));
    assert.equal(C.recordOpenText(key, own, rec), 'mine');
});

test('box: symmetric wrapping with the label AD', () => {
    for (const v of V.box) {
        assert.equal(hex(C.boxAd(v.label)), v.ad_hex);
        assert.equal(hex(C.box(unhex(v.key), v.label, unhex(v.plaintext), unhex(v.nonce))), v.box);
        assert.equal(hex(C.unbox(unhex(v.key), v.label, unhex(v.box))), v.plaintext);
        assert.throws(() => C.unbox(unhex(v.key), v.label + 'x', unhex(v.box)));
    }
});

test('password: Argon2id split into auth key and KEK', () => {
    for (const v of V.password) {
        const { authKey, kek } = C.passwordDerive(unhex(v.password), unhex(v.salt), v.opslimit,
            v.memlimit);
        assert.equal(hex(authKey), v.auth_key);
        assert.equal(hex(kek), v.kek);
    }
});

test('password: parameters a server must not impose are refused', () => {
    const salt = new Uint8Array(16);
    assert.throws(() => C.passwordDerive('pw', salt, 0, 64 << 20), /unsafe/);
    assert.throws(() => C.passwordDerive('pw', salt, 3, 1 << 20), /unsafe/);
    assert.throws(() => C.passwordDerive('pw', salt, 3, 2 ** 31), /unsafe/);
});

test('secret: BLAKE2b split of a client secret', () => {
    for (const v of V.secret) {
        const { authKey, kek } = C.secretDerive(unhex(v.secret));
        assert.equal(hex(authKey), v.auth_key);
        assert.equal(hex(kek), v.kek);
    }
});

test('token hash and keyed hash', () => {
    for (const v of V.token_hash) assert.equal(hex(C.tokenHash(v.token)), v.hash);
    for (const v of V.keyed_hash) assert.equal(hex(C.keyedHash(unhex(v.key), unhex(v.data))), v.hash);
});

test('key pairs from a seed, and the sealed box of the vector opens to its plaintext', () => {
    for (const v of V.keypair) {
        const kp = C.keypairFromSeed(unhex(v.seed));
        assert.equal(hex(kp.privateKey), v.sk);
        assert.equal(hex(kp.publicKey), v.pk);
        assert.ok(C.keypairMatches(kp.publicKey, kp.privateKey));
    }
    for (const v of V.sealed_box) {
        const kp = C.keypairFromSeed(unhex(v.recipient_seed));
        assert.equal(hex(kp.publicKey), v.recipient_pk);
        assert.equal(hex(C.unwrap(kp.publicKey, kp.privateKey, unhex(v.wrapped))), v.plaintext);
        const again = C.wrap(kp.publicKey, unhex(v.plaintext));
        assert.equal(again.length, unhex(v.plaintext).length + 48);
        assert.equal(hex(C.unwrap(kp.publicKey, kp.privateKey, again)), v.plaintext);
        const other = C.keypairNew();
        assert.throws(() => C.unwrap(other.publicKey, other.privateKey, again));
        assert.ok(!C.keypairMatches(kp.publicKey, other.privateKey));
    }
});

test('fingerprint: equal values agree across environments, others and other projects differ', () => {
    const k = C.fingerprintKey(C.random(32));
    const a = C.fingerprint(k, '/', 'DB', 'postgres://x');
    assert.equal(a, C.fingerprint(k, '/', 'DB', 'postgres://x'));
    assert.match(a, /^[A-Za-z0-9_-]{7}$/);
    assert.notEqual(a, C.fingerprint(k, '/', 'DB', 'postgres://y'));
    assert.notEqual(a, C.fingerprint(k, '/', 'DB2', 'postgres://x'));
    assert.notEqual(a, C.fingerprint(C.fingerprintKey(C.random(32)), '/', 'DB', 'postgres://x'));
});

test('share links: access and content keys, with and without a password KEK', () => {
    assert.ok(V.share.length >= 2);
    for (const v of V.share) {
        const { access, content } = C.shareKeys(unhex(v.link_key), v.kek ? unhex(v.kek) : null);
        assert.equal(hex(access), v.access);
        assert.equal(hex(content), v.content);
    }
});
