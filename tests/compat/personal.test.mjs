// personal.test.mjs - personal overrides, batch routes and v4 writes on the
// Infisical-compatible routes (infisical-api.md §2.4, §2.5, §3.3), with its
// own server.
//
// Users reach the raw routes with their arca session token (apiCall), and
// through sdk5 (@infisical/sdk 5.0.2) where that SDK passes `type`
// (createSecret, getSecret, deleteSecret).  No studied SDK calls the batch
// routes or the v4 writes (contract §2.4 and §2.5), so those go through
// apiCall only.  Logins here: the admin, two invited users, one identity.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { InfisicalSDK } from 'sdk5';

import {
    apiCall, assertApiError, bootstrapAndLogin, inviteAndSignup, newCli, readToken, removeTempDirs,
    startServer,
} from '../e2e/harness.mjs';

const T = { timeout: 300000 };

let srv;
let admin; /* CLI context of the administrator ("A") */
let proj; /* the project, with server access */
let tokA; /* A's session token */
let tokB; /* B's session token (project member) */
let tokLimited; /* a member whose role only reaches prod:/app/** */
let ident; /* {clientId, clientSecret} of a member identity */

async function ok(cli, args) {
    const r = await cli.arca(args);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

const q = (o) => new URLSearchParams(o).toString();
const where = () => ({ workspaceId: proj.id, environment: 'prod' });

async function raw(method, name, token, body) {
    const route = `/api/v3/secrets/raw/${name}`;
    if (method === 'GET')
        return apiCall(srv, 'GET', `${route}?${q({ ...where(), ...body })}`, { token });
    return apiCall(srv, method, route, { token, body: { ...where(), ...body } });
}

async function list(token, extra = {}, v4 = false) {
    const route = v4
        ? `/api/v4/secrets?${q({ projectId: proj.id, environment: 'prod', ...extra })}`
        : `/api/v3/secrets/raw?${q({ ...where(), ...extra })}`;
    const r = await apiCall(srv, 'GET', route, { token });
    assert.equal(r.status, 200, r.text);
    return r.json.secrets;
}

const entries = (secrets, key) => secrets.filter((s) => s.secretKey === key)
    .map((s) => `${s.type}:${s.secretValue}`).sort();

/* A documented JSON error; its message matches msg (a string: exactly). */
function refused(r, status, msg) {
    const names = { 400: 'BadRequest', 403: 'PermissionDenied', 404: 'NotFound', 413: 'PayloadTooLarge' };
    const body = assertApiError(r, status, names[status], r.text);
    if (typeof msg === 'string')
        assert.equal(body.message, msg);
    else if (msg)
        assert.match(body.message, msg);
}

async function okRaw(method, name, token, body) {
    const r = await raw(method, name, token, body);
    assert.equal(r.status, 200, `${method} ${name}: ${r.text}`);
    return r.json;
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    const p = await ok(admin, ['projects', 'create', 'pers', '--server-access', '--format', 'json']);
    proj = JSON.parse(p.stdout);
    const pid = ['--project-id', proj.id];
    tokA = await readToken(admin);
    const b = await inviteAndSignup(admin, srv, 'b@example.com');
    await ok(admin, ['members', 'add', 'b@example.com', '--role', 'member', ...pid]);
    tokB = await readToken(b.cli);
    await ok(admin, ['roles', 'create', 'app-only', ...pid,
        '--allow', 'secrets:describe,read,create,edit,delete:prod:/app/**']);
    const l = await inviteAndSignup(admin, srv, 'limited@example.com');
    await ok(admin, ['members', 'add', 'limited@example.com', '--role', 'app-only', ...pid]);
    tokLimited = await readToken(l.cli);
    const i = await ok(admin, ['identities', 'create', 'pers-bot', ...pid, '--role', 'member',
        '--format', 'json']);
    ident = JSON.parse(i.stdout);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('a personal override: its owner sees it next to the shared value, nobody else does', T, async () => {
    await okRaw('POST', 'DB_HOST', tokA, { secretValue: 'db.shared' });
    const made = await okRaw('POST', 'DB_HOST', tokA, { secretValue: 'localhost', type: 'personal' });
    assert.equal(made.secret.type, 'personal');
    assert.equal(made.secret.secretValue, 'localhost');
    assert.equal(made.secret.version, 1);

    /* v3 list: both entries for the owner, shared only for others */
    assert.deepEqual(entries(await list(tokA), 'DB_HOST'), ['personal:localhost', 'shared:db.shared']);
    assert.deepEqual(entries(await list(tokB), 'DB_HOST'), ['shared:db.shared']);
    /* v4 list: the override replaces the shared entry only when asked for */
    assert.deepEqual(entries(await list(tokA, { includePersonalOverrides: 'true' }, true), 'DB_HOST'),
        ['personal:localhost']);
    assert.deepEqual(entries(await list(tokA, { includePersonalOverrides: 'false' }, true), 'DB_HOST'),
        ['shared:db.shared']);
    assert.deepEqual(entries(await list(tokB, { includePersonalOverrides: 'true' }, true), 'DB_HOST'),
        ['shared:db.shared']);

    /* get by type */
    assert.equal((await okRaw('GET', 'DB_HOST', tokA, { type: 'personal' })).secret.secretValue,
        'localhost');
    assert.equal((await okRaw('GET', 'DB_HOST', tokA, { type: 'shared' })).secret.secretValue,
        'db.shared');
    refused(await raw('GET', 'DB_HOST', tokB, { type: 'personal' }), 404);

    /* update the override; the shared value is untouched */
    const upd = await okRaw('PATCH', 'DB_HOST', tokA, { secretValue: '127.0.0.1', type: 'personal' });
    assert.equal(upd.secret.version, 2);
    assert.equal((await okRaw('GET', 'DB_HOST', tokB, {})).secret.secretValue, 'db.shared');

    /* a second override of the same key by the same user is refused; B may have their own */
    refused(await raw('POST', 'DB_HOST', tokA, { secretValue: 'x', type: 'personal' }), 400,
        /already exist/);
    await okRaw('POST', 'DB_HOST', tokB, { secretValue: 'b-host', type: 'personal' });
    assert.deepEqual(entries(await list(tokA), 'DB_HOST'), ['personal:127.0.0.1', 'shared:db.shared']);
    assert.deepEqual(entries(await list(tokB), 'DB_HOST'), ['personal:b-host', 'shared:db.shared']);
});

test('refusals: no shared secret, renaming an override, an unknown type', T, async () => {
    const r = await raw('POST', 'NO_SHARED', tokA, { secretValue: 'v', type: 'personal' });
    refused(r, 400,
        'Failed to create personal secret override for no corresponding shared secret');
    await okRaw('POST', 'RENAME_ME', tokA, { secretValue: 's' });
    await okRaw('POST', 'RENAME_ME', tokA, { secretValue: 'p', type: 'personal' });
    refused(await raw('PATCH', 'RENAME_ME', tokA,
        { type: 'personal', newSecretName: 'OTHER' }), 400, /cannot be renamed/);
    refused(await raw('POST', 'RENAME_ME', tokA, { secretValue: 'p', type: 'team' }), 400,
        /'type'/);
    refused(await raw('DELETE', 'NOPE', tokA, { type: 'personal' }), 404);
});

test('deleting the shared secret deletes every override; deleting an override keeps the shared', T, async () => {
    await okRaw('POST', 'TMP', tokA, { secretValue: 'shared' });
    await okRaw('POST', 'TMP', tokA, { secretValue: 'mine', type: 'personal' });
    await okRaw('POST', 'TMP', tokB, { secretValue: 'bs', type: 'personal' });

    const del = await okRaw('DELETE', 'TMP', tokB, { type: 'personal' });
    assert.equal(del.secret.type, 'personal');
    assert.deepEqual(entries(await list(tokB), 'TMP'), ['shared:shared']);
    assert.deepEqual(entries(await list(tokA), 'TMP'), ['personal:mine', 'shared:shared']);

    await okRaw('DELETE', 'TMP', tokA, {});
    assert.deepEqual(entries(await list(tokA), 'TMP'), []);
    refused(await raw('GET', 'TMP', tokA, { type: 'personal' }), 404);
    /* a new shared secret does not bring the old override back */
    await okRaw('POST', 'TMP', tokA, { secretValue: 'again' });
    assert.deepEqual(entries(await list(tokA), 'TMP'), ['shared:again']);
    /* the override's history is kept: its version 1 is still readable */
    const old = await okRaw('GET', 'TMP', tokA, { type: 'shared', version: '1' });
    assert.equal(old.secret.secretValue, 'shared');
});

test('references resolve to the caller\'s override, for that caller only', T, async () => {
    await okRaw('POST', 'API_HOST', tokA, { secretValue: 'api.shared' });
    await okRaw('POST', 'API_URL', tokA, { secretValue: 'https://${API_HOST}/v1' });
    await okRaw('POST', 'API_HOST', tokA, { secretValue: 'localhost:8080', type: 'personal' });
    const url = (secrets) => secrets.find((s) => s.secretKey === 'API_URL').secretValue;
    assert.equal(url(await list(tokA, { expandSecretReferences: 'true' })), 'https://localhost:8080/v1');
    assert.equal(url(await list(tokB, { expandSecretReferences: 'true' })), 'https://api.shared/v1');
    assert.equal(url(await list(tokA, { includePersonalOverrides: 'true' }, true)),
        'https://localhost:8080/v1');
    assert.equal(url(await list(tokA, { includePersonalOverrides: 'false' }, true)),
        'https://api.shared/v1');
    const one = await okRaw('GET', 'API_URL', tokA, { expandSecretReferences: 'true' });
    assert.equal(one.secret.secretValue, 'https://localhost:8080/v1');
});

test('sdk5: a user creates, reads and deletes an override; an identity gets the SDK\'s 400', T, async () => {
    await okRaw('POST', 'SDK_KEY', tokA, { secretValue: 'shared-sdk' });
    const user = new InfisicalSDK({ siteUrl: srv.url }).auth().accessToken(tokA);
    const o = { projectId: proj.id, environment: 'prod' };
    const made = await user.secrets().createSecret('SDK_KEY', { ...o, secretValue: 'mine', type: 'personal' });
    assert.equal(made.secret.type, 'personal');
    const got = await user.secrets().getSecret({ ...o, secretName: 'SDK_KEY', type: 'personal' });
    assert.equal(got.secretValue, 'mine');
    assert.equal((await user.secrets().getSecret({ ...o, secretName: 'SDK_KEY' })).secretValue,
        'shared-sdk');
    await user.secrets().deleteSecret('SDK_KEY', { ...o, type: 'personal' });
    await assert.rejects(user.secrets().getSecret({ ...o, secretName: 'SDK_KEY', type: 'personal' }),
        (e) => /404|not found/i.test(String(e.message) + String(e.status)));

    const bot = new InfisicalSDK({ siteUrl: srv.url });
    await bot.auth().universalAuth.login({ clientId: ident.clientId, clientSecret: ident.clientSecret });
    await assert.rejects(bot.secrets().createSecret('SDK_KEY', { ...o, secretValue: 'x', type: 'personal' }),
        (e) => /Must be user to create personal secret/.test(e.message));
    await assert.rejects(bot.secrets().deleteSecret('SDK_KEY', { ...o, type: 'personal' }),
        (e) => /Must be user to delete personal secret/.test(e.message));
    /* it sees shared secrets only */
    const token = bot.auth().getAccessToken();
    assert.deepEqual(entries(await list(token), 'DB_HOST'), ['shared:db.shared']);
});

test('batch create is all-or-nothing; update upserts across folders; delete by type', T, async () => {
    const B = '/api/v3/secrets/batch/raw';
    const c = await apiCall(srv, 'POST', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        secrets: [{ secretKey: 'B1', secretValue: 'one' }, { secretKey: 'B2', secretValue: 'two' }] } });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.json.secrets.map((s) => `${s.secretKey}=${s.secretValue}@${s.secretPath}`),
        ['B1=one@/batch', 'B2=two@/batch']);

    /* one exists already: 400 and B3 is not written */
    const dup = await apiCall(srv, 'POST', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        secrets: [{ secretKey: 'B3', secretValue: 'three' }, { secretKey: 'B1', secretValue: 'x' }] } });
    refused(dup, 400, /already exist/);
    assert.deepEqual((await list(tokA, { secretPath: '/batch' })).map((s) => s.secretKey), ['B1', 'B2']);

    /* upsert: one update at /batch, one create in another folder, in one request */
    const u = await apiCall(srv, 'PATCH', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        mode: 'upsert', secrets: [{ secretKey: 'B1', secretValue: 'one v2' },
            { secretKey: 'B9', secretValue: 'nine', secretPath: '/other' }] } });
    assert.equal(u.status, 200, u.text);
    assert.deepEqual(u.json.secrets.map((s) => `${s.secretKey}=${s.secretValue}@${s.secretPath}#${s.version}`),
        ['B1=one v2@/batch#2', 'B9=nine@/other#1']);
    /* failOnNotFound (the default): nothing written when one is missing */
    const f = await apiCall(srv, 'PATCH', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        secrets: [{ secretKey: 'B2', secretValue: 'two v2' }, { secretKey: 'MISSING', secretValue: 'm' }] } });
    refused(f, 404);
    assert.equal((await okRaw('GET', 'B2', tokA, { secretPath: '/batch' })).secret.secretValue, 'two');
    /* rename through batch update */
    const rn = await apiCall(srv, 'PATCH', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        secrets: [{ secretKey: 'B2', newSecretName: 'B2_NEW' }] } });
    assert.equal(rn.status, 200, rn.text);
    assert.equal(rn.json.secrets[0].secretKey, 'B2_NEW');
    assert.equal(rn.json.secrets[0].secretValue, 'two');

    /* an override through batch, then delete: personal and shared items */
    const po = await apiCall(srv, 'PATCH', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        mode: 'upsert', secrets: [{ secretKey: 'B1', secretValue: 'my b1', type: 'personal' }] } });
    assert.equal(po.status, 200, po.text);
    assert.equal(po.json.secrets[0].type, 'personal');
    const d = await apiCall(srv, 'DELETE', B, { token: tokA, body: { ...where(), secretPath: '/batch',
        secrets: [{ secretKey: 'B1', type: 'personal' }, { secretKey: 'B2_NEW', type: 'shared' }] } });
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json.secrets.map((s) => `${s.secretKey}:${s.type}`), ['B1:personal', 'B2_NEW:shared']);
    assert.deepEqual(entries(await list(tokA, { secretPath: '/batch' }), 'B1'), ['shared:one v2']);

    /* limits and bad input */
    const many = Array.from({ length: 501 }, (_, i) => ({ secretKey: `K${i}`, secretValue: 'v' }));
    refused(await apiCall(srv, 'POST', B, { token: tokA, body: { ...where(), secrets: many } }),
        413);
    refused(await apiCall(srv, 'POST', B, { token: tokA, body: { ...where(), secrets: [] } }),
        400);
    refused(await apiCall(srv, 'PATCH', B, { token: tokA, body: { ...where(), mode: 'merge',
        secrets: [{ secretKey: 'B1' }] } }), 400, /mode/);
});

test('batch: each item is checked against its own folder; one refusal writes nothing', T, async () => {
    const B = '/api/v4/secrets/batch';
    const body = { projectId: proj.id, environment: 'prod', secretPath: '/app', mode: 'upsert',
        secrets: [{ secretKey: 'IN_APP', secretValue: 'ok' },
            { secretKey: 'OUTSIDE', secretValue: 'no', secretPath: '/root-only' }] };
    const r = await apiCall(srv, 'PATCH', B, { token: tokLimited, body });
    refused(r, 403);
    const inApp = await raw('GET', 'IN_APP', tokA, { secretPath: '/app' });
    assert.equal(inApp.status, 404, 'nothing of the refused batch was written');
    /* the same batch limited to its folder goes through (v4, projectId) */
    body.secrets.pop();
    const ok2 = await apiCall(srv, 'PATCH', B, { token: tokLimited, body });
    assert.equal(ok2.status, 200, ok2.text);
    assert.equal(ok2.json.secrets[0].secretPath, '/app');
    /* non-members get 404 */
    const outsider = await apiCall(srv, 'POST', B, { token: null, body });
    assert.equal(outsider.status, 401);
});

test('v4 single writes with projectId: create, update, personal override, delete', T, async () => {
    const at = { projectId: proj.id, environment: 'prod' };
    const c = await apiCall(srv, 'POST', '/api/v4/secrets/V4_KEY', { token: tokA,
        body: { ...at, secretValue: 'v4 value' } });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.secret.secretValue, 'v4 value');
    const u = await apiCall(srv, 'PATCH', '/api/v4/secrets/V4_KEY', { token: tokA,
        body: { ...at, secretValue: 'v4 updated' } });
    assert.equal(u.json.secret.version, 2, u.text);
    const p = await apiCall(srv, 'POST', '/api/v4/secrets/V4_KEY', { token: tokA,
        body: { ...at, secretValue: 'v4 mine', type: 'personal' } });
    assert.equal(p.json.secret.type, 'personal', p.text);
    refused(await apiCall(srv, 'POST', '/api/v4/secrets/V4_KEY', { token: tokA,
        body: { workspaceId: proj.id, environment: 'prod', secretValue: 'x' } }), 400,
    /Missing project id/);
    const d = await apiCall(srv, 'DELETE', '/api/v4/secrets/V4_KEY', { token: tokA, body: at });
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(entries(await list(tokA), 'V4_KEY'), []);
});
