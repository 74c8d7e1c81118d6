// Recomputes every known-answer vector in tests/vectors/seal.json with an
// implementation independent of libsodium (the @noble packages, pinned in
// tests/package.json) and checks it equals the committed hex.  The C unit test
// (tests/unit/test_seal.c) checks the same file against src/crypto/seal.c, so a
// vector that passes both is a known answer, not "whatever our code printed".
//
// Run: cd tests && npm install && node --test e2e/seal_vectors.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { argon2id } from '@noble/hashes/argon2.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

const V = JSON.parse(readFileSync(new URL('../vectors/seal.json', import.meta.url), 'utf8'));

const hex = bytesToHex;
const unhex = hexToBytes;
const NUL = new Uint8Array([0]);
const RECORD_VERSION = new Uint8Array([0x01]);

// BLAKE2b personal strings: 15 ASCII characters and a NUL, 16 bytes.
const personal = (s) => {
    const p = concatBytes(utf8ToBytes(s), NUL);
    assert.equal(p.length, 16);
    return p;
};
const PERSONAL_SECRET = personal('arca-secret-kdf');
const PERSONAL_TOKEN = personal('arca-token-hash');

// Parts joined by a single 0x00, no trailing 0x00.
const joinAd = (...parts) => {
    const out = [];
    parts.forEach((p, i) => {
        if (i > 0) out.push(NUL);
        out.push(utf8ToBytes(p));
    });
    return concatBytes(...out);
};

const recordAd = (a) =>
    joinAd('arca.record.v1', a.project_id, a.environment, a.path, a.key, a.field);
const boxAd = (label) => joinAd('arca.box.v1', label);

// version 0x01 || nonce (24) || XChaCha20-Poly1305-IETF ciphertext || tag (16)
const record = (key, nonce, ad, plain) =>
    concatBytes(RECORD_VERSION, nonce, xchacha20poly1305(key, nonce, ad).encrypt(plain));

// crypto_box_seed_keypair: sk = SHA-512(seed)[0..32) as stored (unclamped),
// pk = X25519 base-point multiplication (noble clamps the scalar, as libsodium does).
const seedKeypair = (seed) => {
    const sk = sha512(seed).slice(0, 32);
    return { sk, pk: x25519.getPublicKey(sk) };
};

// crypto_box_beforenm: HSalsa20 of the X25519 shared point with a zero 16-byte input.
const boxBeforenm = (pk, sk) => {
    const s = x25519.getSharedSecret(sk, pk);
    const sigma = new Uint32Array(new Uint8Array(utf8ToBytes('expand 32-byte k')).buffer);
    const k = new Uint32Array(new Uint8Array(s).buffer);
    const zero = new Uint32Array(4);
    const out = new Uint32Array(8);
    hsalsa(sigma, k, zero, out);
    return new Uint8Array(out.buffer);
};

// crypto_box_seal with a given ephemeral secret key:
// epk || crypto_box_easy(m, nonce = BLAKE2b-192(epk || pk), pk, esk), tag before ciphertext.
const boxSeal = (plain, pk, esk) => {
    const epk = x25519.getPublicKey(esk);
    const nonce = blake2b(concatBytes(epk, pk), { dkLen: 24 });
    const k = boxBeforenm(pk, esk);
    return concatBytes(epk, xsalsa20poly1305(k, nonce).encrypt(plain));
};

const split = (out64) => ({ auth_key: out64.slice(0, 32), kek: out64.slice(32, 64) });

test('record: AD layout and XChaCha20-Poly1305 record', () => {
    assert.ok(V.record.length >= 2);
    for (const v of V.record) {
        const ad = recordAd(v.ad);
        assert.equal(hex(ad), v.ad_hex);
        const rec = record(unhex(v.key), unhex(v.nonce), ad, unhex(v.plaintext));
        assert.equal(rec.length, unhex(v.plaintext).length + 41);
        assert.equal(hex(rec), v.record);
    }
});

test('owner record: owner key from the user\'s secret key, record with first byte 0x02', () => {
    assert.ok(V.owner_record.length >= 1);
    const PERSONAL_OWNER = concatBytes(utf8ToBytes('arca-owner-key'), NUL, NUL);
    assert.equal(PERSONAL_OWNER.length, 16);
    for (const v of V.owner_record) {
        const key = blake2b(utf8ToBytes(v.ad.project_id), { dkLen: 32, key: unhex(v.sk),
            personalization: PERSONAL_OWNER });
        assert.equal(hex(key), v.owner_key);
        const ad = recordAd(v.ad);
        assert.equal(hex(ad), v.ad_hex);
        const rec = concatBytes(new Uint8Array([0x02]), unhex(v.nonce),
            xchacha20poly1305(key, unhex(v.nonce), ad).encrypt(unhex(v.plaintext)));
        assert.equal(hex(rec), v.record);
    }
});

test('box: symmetric wrapping with the label AD', () => {
    assert.ok(V.box.length >= 1);
    for (const v of V.box) {
        const ad = boxAd(v.label);
        assert.equal(hex(ad), v.ad_hex);
        assert.equal(hex(record(unhex(v.key), unhex(v.nonce), ad, unhex(v.plaintext))), v.box);
    }
});

test('password: Argon2id v1.3, p = 1, 64 bytes split 32/32', () => {
    assert.ok(V.password.length >= 1);
    for (const v of V.password) {
        assert.equal(v.memlimit % 1024, 0);
        const out = argon2id(unhex(v.password), unhex(v.salt), {
            t: v.opslimit,
            m: v.memlimit / 1024,
            p: 1,
            version: 0x13,
            dkLen: 64,
        });
        const { auth_key, kek } = split(out);
        assert.equal(hex(auth_key), v.auth_key);
        assert.equal(hex(kek), v.kek);
    }
});

test('secret: BLAKE2b-512 personal "arca-secret-kdf\\0", split 32/32', () => {
    assert.ok(V.secret.length >= 1);
    for (const v of V.secret) {
        const out = blake2b(unhex(v.secret), { dkLen: 64, personalization: PERSONAL_SECRET });
        const { auth_key, kek } = split(out);
        assert.equal(hex(auth_key), v.auth_key);
        assert.equal(hex(kek), v.kek);
    }
});

test('token hash: BLAKE2b-256 personal "arca-token-hash\\0"', () => {
    assert.ok(V.token_hash.length >= 1);
    for (const v of V.token_hash) {
        const h = blake2b(utf8ToBytes(v.token), { dkLen: 32, personalization: PERSONAL_TOKEN });
        assert.equal(hex(h), v.hash);
    }
});

test('keyed hash: BLAKE2b-256 with a 32-byte key', () => {
    assert.ok(V.keyed_hash.length >= 1);
    for (const v of V.keyed_hash) {
        const h = blake2b(unhex(v.data), { dkLen: 32, key: unhex(v.key) });
        assert.equal(hex(h), v.hash);
    }
});

test('share links: the access and content keys of a link key (and a password\'s kek)', () => {
    assert.ok(V.share.length >= 2);
    const kh = (key, data) => blake2b(data, { dkLen: 32, key });
    for (const v of V.share) {
        const link = unhex(v.link_key);
        assert.equal(hex(kh(link, utf8ToBytes('arca.share.access.v1'))), v.access);
        const k0 = kh(link, utf8ToBytes('arca.share.content.v1'));
        assert.equal(hex(v.kek ? kh(unhex(v.kek), k0) : k0), v.content);
    }
});

test('keypair: crypto_box_seed_keypair', () => {
    assert.ok(V.keypair.length >= 1);
    for (const v of V.keypair) {
        const { pk, sk } = seedKeypair(unhex(v.seed));
        assert.equal(hex(sk), v.sk);
        assert.equal(hex(pk), v.pk);
    }
});

test('sealed box: crypto_box_seal with a fixed ephemeral key', () => {
    assert.ok(V.sealed_box.length >= 1);
    for (const v of V.sealed_box) {
        const { pk, sk } = seedKeypair(unhex(v.recipient_seed));
        assert.equal(hex(pk), v.recipient_pk);
        assert.equal(hex(sk), v.recipient_sk);
        const wrapped = boxSeal(unhex(v.plaintext), pk, unhex(v.ephemeral_sk));
        assert.equal(wrapped.length, unhex(v.plaintext).length + 48);
        assert.equal(hex(wrapped), v.wrapped);
    }
});
