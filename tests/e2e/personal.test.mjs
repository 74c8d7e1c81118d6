// personal.test.mjs - personal overrides end to end: two users of one
// project, the real CLI (end-to-end encrypted routes, client-side expansion)
// and the server's raw routes (server access) giving the same values.
//
// A sets a personal override of a shared secret: A's `arca run` and export see
// it (unless --no-overrides), B's see the shared value, `secrets list` marks
// it; an override needs its shared secret; deleting the shared secret deletes
// the override (history keeps both); machines cannot have overrides; a key
// rotation keeps overrides readable; ${KEY} resolves to A's override for A only.
// An override set with arca's client is sealed to its owner: an admin holding
// the project key (and the server, with server access) cannot open it.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

import {
    apiCall, bootstrapAndLogin, inviteAndSignup, newCli, NODE, readToken, removeTempDirs,
    serviceTokenIn, startServer,
} from './harness.mjs';

const T = { timeout: 300000 };
let srv;
let a; /* CLI of user A (the admin) */
let b; /* CLI of user B (a member) */
let proj;
let pid;

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

const env = (cli, extra = []) => ok(cli, ['export', '--format', 'json', '--env=dev', ...pid, ...extra])
    .then((r) => JSON.parse(r.stdout));

/* The project key as a member's client opens it (crypto_box_seal_open with the
 * private key of the CLI's credentials file), with @noble, not libarca. */
async function projectKeyOf(cli) {
    const creds = JSON.parse(await readFile(`${cli.configDir}/credentials.json`, 'utf8'));
    const find = (o, k) => (o && typeof o === 'object'
        ? (k in o ? o[k] : Object.values(o).map((v) => find(v, k)).find((v) => v !== undefined))
        : undefined);
    const sk = Buffer.from(find(creds, 'privateKey'), 'base64');
    const pk = x25519.getPublicKey(sk);
    const p = await apiCall(srv, 'GET', `/api/arca/v1/projects/${proj.id}`, { token: await readToken(cli) });
    assert.equal(p.status, 200, p.text);
    const wrapped = Buffer.from(p.json.membership.encryptedProjectKey, 'base64');
    const epk = wrapped.subarray(0, 32);
    const s = x25519.getSharedSecret(sk, epk);
    const sigma = new Uint32Array(new Uint8Array(utf8ToBytes('expand 32-byte k')).buffer);
    const k = new Uint32Array(8);
    hsalsa(sigma, new Uint32Array(new Uint8Array(s).buffer), new Uint32Array(4), k);
    const nonce = blake2b(concatBytes(epk, pk), { dkLen: 24 });
    return xsalsa20poly1305(new Uint8Array(k.buffer), nonce).decrypt(wrapped.subarray(32));
}

/* Opens a record of the versions route with key (throws when it does not open). */
function openRecord(key, v, field = 'value') {
    const rec = Buffer.from(v[field], 'base64');
    const f = v.owner ? `personal:${v.owner}:${field}` : field;
    const ad = Buffer.from(['arca.record.v1', proj.id, v.environment, v.path, v.key, f].join('\0'));
    return Buffer.from(xchacha20poly1305(key, rec.subarray(1, 25), ad).decrypt(rec.subarray(25)))
        .toString('utf8');
}

async function versionsAs(cli) {
    const r = await apiCall(srv, 'GET', `/api/arca/v1/projects/${proj.id}/versions`,
        { token: await readToken(cli) });
    assert.equal(r.status, 200, r.text);
    return r.json.versions;
}

const rawAs = async (cli, method, name, query, body) => apiCall(srv, method,
    `/api/v3/secrets/raw/${name}?${new URLSearchParams({ workspaceId: proj.id, environment: 'dev', ...query })}`,
    { token: await readToken(cli), body: body && { workspaceId: proj.id, environment: 'dev', ...body } });

before(async () => {
    srv = await startServer();
    a = await newCli(srv);
    await bootstrapAndLogin(a);
    const r = await ok(a, ['projects', 'create', 'pers', '--server-access', '--format', 'json']);
    proj = JSON.parse(r.stdout);
    pid = ['--project-id', proj.id];
    b = (await inviteAndSignup(a, srv, 'b@example.com')).cli;
    await ok(a, ['members', 'add', 'b@example.com', '--role', 'member', ...pid]);
    await ok(a, ['secrets', 'set', 'DB_HOST=db.shared', 'DB_URL=postgres://${DB_HOST}:5432/app',
        'PLAIN=p', '--env=dev', ...pid]);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('an override is used by its owner only; list marks it; --no-overrides ignores it', T, async () => {
    const set = await ok(a, ['secrets', 'set', '--personal', 'DB_HOST=localhost', '--env=dev', ...pid]);
    assert.match(set.stdout, /DB_HOST: created \(version 1\)/);

    let r = await ok(a, ['run', '--env=dev', ...pid, '--', NODE, '-e',
        'process.stdout.write(process.env.DB_HOST + "|" + process.env.DB_URL)']);
    assert.equal(r.stdout, 'localhost|postgres://localhost:5432/app');
    r = await ok(b, ['run', '--env=dev', ...pid, '--', NODE, '-e',
        'process.stdout.write(process.env.DB_HOST + "|" + process.env.DB_URL)']);
    assert.equal(r.stdout, 'db.shared|postgres://db.shared:5432/app');
    assert.deepEqual(await env(a, ['--no-overrides']),
        { DB_HOST: 'db.shared', DB_URL: 'postgres://db.shared:5432/app', PLAIN: 'p' });

    const list = JSON.parse((await ok(a, ['secrets', 'list', '--format', 'json', '--env=dev', ...pid])).stdout);
    assert.deepEqual(list.filter((s) => s.key === 'DB_HOST').map((s) => `${s.type}:${s.value}`),
        ['shared:db.shared', 'personal:localhost']);
    const table = (await ok(a, ['secrets', 'list', '--env=dev', ...pid])).stdout;
    assert.match(table, /^DB_HOST\s+personal\s+1\s/m);
    assert.match(table, /^DB_HOST\s+shared\s+1\s/m);
    const bl = JSON.parse((await ok(b, ['secrets', 'list', '--format', 'json', '--env=dev', ...pid])).stdout);
    assert.deepEqual(bl.filter((s) => s.key === 'DB_HOST').map((s) => s.type), ['shared']);

    r = await ok(a, ['secrets', 'get', 'DB_HOST', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'localhost\n');
    r = await ok(a, ['secrets', 'get', 'DB_HOST', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'db.shared\n');
    r = await b.arca(['secrets', 'get', 'DB_HOST', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.code, 4, `B has no override: ${r.stderr}`);
});

test('an override is sealed to its owner: an admin with the project key cannot open it', T, async () => {
    await ok(b, ['secrets', 'set', '--personal', 'DB_HOST=b-private-host', '--env=dev', ...pid]);
    let r = await ok(b, ['run', '--env=dev', ...pid, '--', NODE, '-e',
        'process.stdout.write(process.env.DB_HOST + "|" + process.env.DB_URL)']);
    assert.equal(r.stdout, 'b-private-host|postgres://b-private-host:5432/app');
    r = await ok(b, ['secrets', 'get', 'DB_HOST', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'b-private-host\n');

    /* A, an admin, gets every version's ciphertext from the versions route and
     * holds the project key: it opens the shared value, not B's override */
    const key = await projectKeyOf(a);
    const versions = await versionsAs(a);
    const shared = versions.find((v) => v.key === 'DB_HOST' && !v.owner);
    assert.equal(openRecord(key, shared), 'db.shared', 'the project key is the right one');
    const bId = JSON.parse((await ok(b, ['whoami', '--format', 'json'])).stdout).id;
    const bOverride = versions.find((v) => v.key === 'DB_HOST' && v.owner === bId);
    assert.ok(bOverride, 'B\'s override is listed');
    assert.equal(Buffer.from(bOverride.value, 'base64')[0], 0x02, 'an owner-sealed record');
    assert.throws(() => openRecord(key, bOverride), 'the project key does not open it');
    /* nor does the CLI show it to A */
    const al = JSON.parse((await ok(a, ['secrets', 'list', '--format', 'json', '--env=dev', ...pid])).stdout);
    assert.ok(!al.some((s) => s.value === 'b-private-host'));

    /* the server holds the project key too (server access): its raw routes
     * cannot open the override, so they show B the shared value */
    const g = await rawAs(b, 'GET', 'DB_HOST', { type: 'personal' });
    assert.equal(g.status, 404, g.text);
    assert.match(g.json.message, /sealed to you/);
    const v4 = await apiCall(srv, 'GET', `/api/v4/secrets?${new URLSearchParams({ projectId: proj.id,
        environment: 'dev', includePersonalOverrides: 'true', expandSecretReferences: 'true' })}`,
    { token: await readToken(b) });
    assert.equal(v4.status, 200, v4.text);
    assert.deepEqual(v4.json.secrets.filter((s) => s.secretKey.startsWith('DB_'))
        .map((s) => `${s.type}:${s.secretKey}=${s.secretValue}`),
    ['shared:DB_HOST=db.shared', 'shared:DB_URL=postgres://db.shared:5432/app']);
    const u = await rawAs(b, 'PATCH', 'DB_HOST', {}, { type: 'personal', secretComment: 'c' });
    assert.equal(u.status, 400, u.text);
    assert.match(u.json.message, /sealed to its owner/);
    r = await ok(b, ['secrets', 'get', 'DB_HOST', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'b-private-host\n', 'the refused update changed nothing');
});

test('client-side and server-side expansion agree, per user', T, async () => {
    for (const cli of [a, b]) {
        const token = await readToken(cli);
        const q = new URLSearchParams({ workspaceId: proj.id, environment: 'dev',
            expandSecretReferences: 'true' });
        const res = await apiCall(srv, 'GET', `/api/v4/secrets?${q}&includePersonalOverrides=true`,
            { token });
        assert.equal(res.status, 400, 'v4 wants projectId');
        const v4 = await apiCall(srv, 'GET', `/api/v4/secrets?${new URLSearchParams({ projectId: proj.id,
            environment: 'dev', includePersonalOverrides: 'true' })}`, { token });
        assert.equal(v4.status, 200, v4.text);
        const server = Object.fromEntries(v4.json.secrets.map((s) => [s.secretKey, s.secretValue]));
        /* the overrides of both are sealed to them: the server shows the shared values */
        assert.deepEqual(server, await env(cli, ['--no-overrides']));
        assert.notDeepEqual(server, await env(cli));
    }
});

test('refusals: no shared secret; machine identities and service tokens have no overrides', T, async () => {
    let r = await a.arca(['secrets', 'set', '--personal', 'NO_SUCH=x', '--env=dev', ...pid]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no corresponding shared secret/);
    assert.equal((await env(a)).NO_SUCH, undefined);

    const ir = await ok(a, ['identities', 'create', 'bot', ...pid, '--role', 'member', '--format', 'json']);
    const ident = JSON.parse(ir.stdout);
    const m = await newCli(srv);
    await ok(m, ['login', '--method=universal-auth', '--client-id', ident.clientId,
        '--client-secret', ident.clientSecret]);
    r = await m.arca(['secrets', 'set', '--personal', 'DB_HOST=bot', '--env=dev', ...pid]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /only users have personal overrides/);
    assert.equal((await env(m)).DB_HOST, 'db.shared', 'a machine sees the shared value');

    const st = await ok(a, ['service-token', 'create', '--name', 'ci', '--env=dev', ...pid,
        '--access', 'read-write']);
    const full = serviceTokenIn(st.stdout);
    const s = await newCli(srv);
    r = await s.arca(['secrets', 'delete', '--personal', 'DB_HOST', '--env=dev'], { env: { ARCA_TOKEN: full } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /only users have personal overrides/);

    /* the server refuses too, whatever a client sends */
    const creds = JSON.parse(await import('node:fs/promises').then((fs) =>
        fs.readFile(`${m.configDir}/credentials.json`, 'utf8')));
    const botToken = JSON.stringify(creds).match(/arca_i_[A-Za-z0-9_-]+/)[0];
    const w = await apiCall(srv, 'POST', `/api/arca/v1/projects/${proj.id}/secrets/batch`, {
        token: botToken, body: { environment: 'dev', secretPath: '/',
            secrets: [{ key: 'DB_HOST', type: 'personal', value: Buffer.from([1, ...new Array(60).fill(7)]).toString('base64') }] } });
    assert.equal(w.status, 400, w.text);
    assert.match(w.json.message, /Must be user/);
});

test('rotating the project key keeps overrides readable, on both kinds of route', T, async () => {
    /* an override written through the raw routes is under the project key (the
     * server sealed it): the server reads it, and so does its owner's CLI */
    const w = await rawAs(a, 'POST', 'PLAIN', {}, { type: 'personal', secretValue: 'raw-mine' });
    assert.equal(w.status, 200, w.text);
    const before = (await versionsAs(a)).filter((v) => v.owner);
    await ok(a, ['projects', 'rotate-key', '--yes', ...pid]);
    /* B's owner-sealed override went through the rotation untouched */
    const after = (await versionsAs(a)).filter((v) => v.owner);
    for (const v of before.filter((x) => Buffer.from(x.value ?? '', 'base64')[0] === 0x02))
        assert.equal(after.find((x) => x.secretId === v.secretId && x.version === v.version).value,
            v.value);
    let r = await ok(a, ['secrets', 'get', 'DB_HOST', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'localhost\n');
    assert.equal((await env(a)).DB_HOST, 'localhost');
    assert.equal((await env(b)).DB_HOST, 'b-private-host');
    r = await ok(a, ['secrets', 'get', 'PLAIN', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'raw-mine\n');
    const g = await rawAs(a, 'GET', 'PLAIN', { type: 'personal' });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.secret.secretValue, 'raw-mine');
    assert.equal((await rawAs(a, 'GET', 'DB_HOST', { type: 'personal' })).status, 404);
    /* its owner setting it with the CLI, even to the same value, seals it to them */
    const set = await ok(a, ['secrets', 'set', '--personal', 'PLAIN=raw-mine', '--env=dev', ...pid]);
    assert.match(set.stdout, /PLAIN: updated/);
    assert.equal((await rawAs(a, 'GET', 'PLAIN', { type: 'personal' })).status, 404);
    r = await ok(a, ['secrets', 'get', 'PLAIN', '--personal', '--plain', '--env=dev', ...pid]);
    assert.equal(r.stdout, 'raw-mine\n');
    /* the owner may delete a sealed override through the raw routes */
    const d = await rawAs(b, 'DELETE', 'DB_HOST', {}, { type: 'personal' });
    assert.equal(d.status, 200, d.text);
    assert.equal((await env(b)).DB_HOST, 'db.shared');
});

test('deleting the shared secret deletes the override; history keeps both', T, async () => {
    await ok(a, ['secrets', 'set', 'TMP=shared', '--env=dev', ...pid]);
    await ok(a, ['secrets', 'set', '--personal', 'TMP=mine', '--env=dev', ...pid]);
    await ok(b, ['secrets', 'set', '--personal', 'TMP=bs', '--env=dev', ...pid]);
    assert.equal((await env(b)).TMP, 'bs');

    await ok(b, ['secrets', 'delete', 'TMP', '--env=dev', ...pid]);
    assert.equal((await env(a)).TMP, undefined);
    assert.equal((await env(b)).TMP, undefined);
    const list = JSON.parse((await ok(a, ['secrets', 'list', '--format', 'json', '--env=dev', ...pid])).stdout);
    assert.equal(list.find((s) => s.key === 'TMP'), undefined);

    let r = await ok(a, ['secrets', 'history', 'TMP', '--show-values', '--format', 'json', '--env=dev', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout).map((v) => `${v.version}:${v.action}:${v.value ?? ''}`),
        ['2:deleted:', '1:created:shared']);
    r = await ok(a, ['secrets', 'history', 'TMP', '--personal', '--show-values', '--format', 'json',
        '--env=dev', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout).map((v) => `${v.version}:${v.action}:${v.value ?? ''}`),
        ['2:deleted:', '1:created:mine']);

    /* deleting only an override keeps the shared secret */
    await ok(a, ['secrets', 'set', 'TMP=again', '--env=dev', ...pid]);
    await ok(a, ['secrets', 'set', '--personal', 'TMP=mine2', '--env=dev', ...pid]);
    await ok(a, ['secrets', 'delete', '--personal', 'TMP', '--env=dev', ...pid]);
    assert.equal((await env(a)).TMP, 'again');
    r = await a.arca(['secrets', 'rollback', 'TMP', '--version', '1', '--personal', '--env=dev', ...pid]);
    assert.notEqual(r.code, 0, 'overrides are not rolled back');
});
