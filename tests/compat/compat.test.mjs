// compat.test.mjs - Infisical's own SDKs against arca's Infisical-compatible routes.
//
// Two real SDKs, installed side by side through npm aliases (package.json):
//   sdk2 = @infisical/sdk 2.3.5, a Rust core loaded through napi (its platform
//          binary is the optional dependency @infisical/sdk-linux-x64-gnu); it
//          runs in child Node processes that `require('@infisical/sdk')` through
//          a node_modules/@infisical/sdk symlink, as a user's program would;
//   sdk5 = @infisical/sdk 5.0.2, fetch-based, imported here directly.
//
// One server.  The admin bootstraps with the CLI, creates the project "shop"
// with server access (the CLI hands the server a copy of the project key
// wrapped by the server's root key), writes secrets with the end-to-end
// encrypting CLI, and creates machine identities.  The SDKs log in with
// universal auth and read and write through /api/v3/secrets/raw; every value
// written on one side is read back on the other.
//
// Login routes are rate-limited per address (20 at once, 20 a minute) and per
// account (10, 5 a minute): each identity here logs in at most four times and
// the whole file about sixteen times (a new test that logs in should count).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, test } from 'node:test';

import { InfisicalSDK } from 'sdk5';

import {
    apiCall, assertApiError, bootstrapAndLogin, CHILD_TIMEOUT_MS, newCli, NODE, REPO_ROOT,
    removeTempDirs, startServer, tempDir,
} from '../e2e/harness.mjs';

const T = { timeout: 300000 };
const SDK2_DIR = path.join(REPO_ROOT, 'tests', 'compat', 'node_modules', 'sdk2');
const SETTING_RE = /server.access/i; /* "server access", "server-access", "serverAccess" */

/* The snippet from the issue, verbatim.  It uses top-level await, which a
 * CommonJS file cannot, so it is put inside an async function (text unchanged). */
const SNIPPET = `const { InfisicalClient } = require('@infisical/sdk');   // npm @infisical/sdk 2.x
const client = new InfisicalClient({
  siteUrl: process.env.INFISICAL_URL,
  auth: { universalAuth: { clientId: process.env.INFISICAL_CLIENT_ID,
                           clientSecret: process.env.INFISICAL_CLIENT_SECRET } },
});
const secrets = await client.listSecrets({ environment: 'prod', projectId: process.env.INFISICAL_PROJECT_ID });
secrets.forEach(s => console.log(s.secretKey, s.secretValue));
`;

/* The secrets the CLI writes into shop/prod before anything else. */
const PROD = {
    DB_URL: 'postgres://db.internal:5432/shop',
    API_KEY: 'sk_live_1234567890abcdef',
    GREETING: 'héllo wörld ✓',
    FEATURE_FLAGS: 'a=1,b=2',
};

let srv;
let admin; /* CLI context of the first administrator */
let shop; /* {id, ...} of the project with server access */
let ciBot; /* {identityId, clientId, clientSecret} of shop's member identity */
let sdkDir; /* a directory whose node_modules/@infisical/sdk is sdk2 */

async function ok(args, opts) {
    const r = await admin.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function createProject(name, extra = []) {
    const r = await ok(['projects', 'create', name, ...extra, '--format', 'json']);
    const p = JSON.parse(r.stdout);
    assert.equal(typeof p.id, 'string');
    return p;
}

async function createIdentity(name, projectId, role = 'member') {
    const r = await ok(['identities', 'create', name, '--project-id', projectId, '--role', role,
        '--format', 'json']);
    const j = JSON.parse(r.stdout);
    assert.equal(typeof j.clientId, 'string', r.stdout);
    assert.equal(typeof j.clientSecret, 'string', r.stdout);
    return j;
}

const setSecrets = (projectId, env, kv) => ok(['secrets', 'set',
    ...Object.entries(kv).map(([k, v]) => `${k}=${v}`), '--env', env, '--project-id', projectId]);

/* `arca secrets get NAME --plain`: the value, or null when the CLI says it is missing (exit 4). */
async function cliGet(projectId, name, env = 'prod') {
    const r = await admin.arca(['secrets', 'get', name, '--plain', '--env', env, '--project-id', projectId]);
    if (r.code === 4)
        return null;
    assert.equal(r.code, 0, `arca secrets get ${name}: exit ${r.code}: ${r.stderr}`);
    assert.ok(r.stdout.endsWith('\n'), r.stdout);
    return r.stdout.slice(0, -1);
}

/* Every secret of the folder as the CLI sees it: {KEY: value}. */
async function cliExport(projectId, env = 'prod') {
    const r = await ok(['export', '--format', 'json', '--env', env, '--project-id', projectId]);
    return JSON.parse(r.stdout);
}

async function sdk5Login(ident) {
    const sdk = new InfisicalSDK({ siteUrl: srv.url });
    await sdk.auth().universalAuth.login({ clientId: ident.clientId, clientSecret: ident.clientSecret });
    return sdk;
}

/* Runs fn (an async function) and returns what it threw; fails if it did not throw. */
async function thrown(fn, what) {
    try {
        await fn();
    } catch (e) {
        return e;
    }
    assert.fail(`${what}: expected an error`);
}

/* A raw secret object as the SDKs need it (contract §2.4: Rust2 requires every one). */
function assertRawSecret(s, { key, value, projectId, env = 'prod' }) {
    assert.equal(s.secretKey, key);
    if (value !== undefined)
        assert.equal(s.secretValue, value, `value of ${key}`);
    assert.equal(typeof s.secretValue, 'string');
    assert.ok(Number.isInteger(s.version) && s.version >= 1, `integer version: ${JSON.stringify(s)}`);
    assert.equal(s.workspace, projectId, `workspace: ${JSON.stringify(s)}`);
    assert.equal(s.environment, env);
    assert.equal(s.type, 'shared');
    assert.equal(typeof s.secretComment, 'string', `string secretComment: ${JSON.stringify(s)}`);
}

const byKey = (secrets) => Object.fromEntries(secrets.map((s) => [s.secretKey, s.secretValue]));

/* ---- sdk2 in child processes ------------------------------------------- */

function childEnv(extra) {
    const env = { PATH: process.env.PATH };
    for (const k of ['LANG', 'LC_ALL', 'LD_LIBRARY_PATH'])
        if (process.env[k] !== undefined)
            env[k] = process.env[k];
    return { ...env, ...extra };
}

function runNode(file, env) {
    return new Promise((resolve, reject) => {
        const p = spawn(NODE, [file], { cwd: sdkDir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        p.stdout.on('data', (c) => out.push(c));
        p.stderr.on('data', (c) => err.push(c));
        const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
        p.on('error', reject);
        p.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'),
                stderr: Buffer.concat(err).toString('utf8') });
        });
    });
}

/* The snippet, run as a user would: node snippet.cjs with the INFISICAL_* variables. */
async function runSnippet(ident, projectId, { url = srv.url } = {}) {
    const file = path.join(sdkDir, 'snippet.cjs');
    await writeFile(file, '(async () => {\n' + SNIPPET +
        '})().catch((e) => { console.error(e && e.message); process.exitCode = 1; });\n');
    return runNode(file, { INFISICAL_URL: url, INFISICAL_CLIENT_ID: ident.clientId,
        INFISICAL_CLIENT_SECRET: ident.clientSecret, INFISICAL_PROJECT_ID: projectId });
}

/* A long-lived sdk2 client in a child (it logs in once): call(method, options)
 * sends one JSON line {id, method, options} and gets back {id, ok: true, value}
 * or {id, ok: false, message}. */
const SDK2_SERVER = `const { InfisicalClient } = require('@infisical/sdk');
const readline = require('node:readline');
const client = new InfisicalClient({
  siteUrl: process.env.INFISICAL_URL,
  auth: { universalAuth: { clientId: process.env.INFISICAL_CLIENT_ID,
                           clientSecret: process.env.INFISICAL_CLIENT_SECRET } },
});
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, method, options } = JSON.parse(line);
  let reply;
  try {
    reply = { id, ok: true, value: await client[method](options) };
  } catch (e) {
    reply = { id, ok: false, message: String(e && e.message) };
  }
  process.stdout.write(JSON.stringify(reply) + '\\n');
});
`;

async function sdk2Client(ident) {
    const file = path.join(sdkDir, 'sdk2-server.cjs');
    await writeFile(file, SDK2_SERVER);
    const p = spawn(NODE, [file], { cwd: sdkDir, stdio: ['pipe', 'pipe', 'pipe'],
        env: childEnv({ INFISICAL_URL: srv.url, INFISICAL_CLIENT_ID: ident.clientId,
            INFISICAL_CLIENT_SECRET: ident.clientSecret }) });
    const err = [];
    p.stderr.on('data', (c) => err.push(c));
    const waiting = new Map();
    let nextId = 1;
    readline.createInterface({ input: p.stdout }).on('line', (l) => {
        const reply = JSON.parse(l);
        waiting.get(reply.id)?.resolve(reply);
        waiting.delete(reply.id);
    });
    p.on('close', (code, signal) => {
        for (const w of waiting.values())
            w.reject(new Error(`sdk2 child exited (${code ?? signal}): ${Buffer.concat(err)}`));
        waiting.clear();
    });
    return {
        call(method, options) {
            return new Promise((resolve, reject) => {
                const id = nextId++;
                const timer = setTimeout(() => reject(new Error(`sdk2 ${method} timed out`)), CHILD_TIMEOUT_MS);
                waiting.set(id, { resolve: (v) => (clearTimeout(timer), resolve(v)),
                    reject: (e) => (clearTimeout(timer), reject(e)) });
                p.stdin.write(JSON.stringify({ id, method, options }) + '\n');
            });
        },
        async ok(method, options) {
            const r = await this.call(method, options);
            assert.ok(r.ok, `sdk2 ${method}(${JSON.stringify(options)}) failed: ${r.message}`);
            return r.value;
        },
        close() {
            p.stdin.end();
            p.kill('SIGKILL');
        },
    };
}

/* ---- setup --------------------------------------------------------------- */

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    shop = await createProject('shop', ['--server-access']);
    await setSecrets(shop.id, 'prod', PROD);
    await setSecrets(shop.id, 'dev', { DEV_ONLY: 'not in prod' });
    ciBot = await createIdentity('ci-bot', shop.id);

    sdkDir = await tempDir('arca-compat-');
    await mkdir(path.join(sdkDir, 'node_modules', '@infisical'), { recursive: true });
    await symlink(SDK2_DIR, path.join(sdkDir, 'node_modules', '@infisical', 'sdk'), 'dir');
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

/* ---- 1. the snippet ------------------------------------------------ */

test('the snippet from the issue (@infisical/sdk 2.3.5) prints the secrets the CLI set in prod', T, async () => {
    const r = await runSnippet(ciBot, shop.id);
    assert.equal(r.code, 0, `snippet failed (exit ${r.code}, signal ${r.signal}):\n${r.stderr}${r.stdout}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    const expected = Object.entries(PROD).map(([k, v]) => `${k} ${v}`);
    assert.deepEqual([...lines].sort(), [...expected].sort(), `snippet output:\n${r.stdout}`);
});

/* ---- 2. sdk5 --------------------------------------------------------------- */

test('sdk5: login, renew, list, get, create, update, delete; CLI and SDK read each other', T, async () => {
    const ident = await createIdentity('sdk5-bot', shop.id);
    const sdk = await sdk5Login(ident);
    const first = sdk.auth().getAccessToken();
    assert.equal(typeof first, 'string');
    assert.ok(first.length > 0);
    await sdk.auth().universalAuth.renew();
    assert.equal(typeof sdk.auth().getAccessToken(), 'string');

    const o = { environment: 'prod', projectId: shop.id };
    const list = await sdk.secrets().listSecrets(o);
    assert.ok(Array.isArray(list.secrets), JSON.stringify(list));
    assert.ok(Array.isArray(list.imports), `imports is an array: ${JSON.stringify(list)}`);
    assert.deepEqual(byKey(list.secrets), PROD);
    for (const s of list.secrets)
        assertRawSecret(s, { key: s.secretKey, value: PROD[s.secretKey], projectId: shop.id });
    assert.equal(list.secrets.find((s) => s.secretKey === 'DEV_ONLY'), undefined, 'dev stays out of prod');

    const got = await sdk.secrets().getSecret({ ...o, secretName: 'DB_URL' });
    assertRawSecret(got, { key: 'DB_URL', value: PROD.DB_URL, projectId: shop.id });

    /* SDK writes, CLI reads. */
    const created = await sdk.secrets().createSecret('SDK_MADE', { ...o, secretValue: 'from sdk5 ✓' });
    assertRawSecret(created.secret, { key: 'SDK_MADE', value: 'from sdk5 ✓', projectId: shop.id });
    assert.equal(created.secret.version, 1);
    assert.equal(await cliGet(shop.id, 'SDK_MADE'), 'from sdk5 ✓');

    const updated = await sdk.secrets().updateSecret('SDK_MADE', { ...o, secretValue: 'updated by sdk5' });
    assertRawSecret(updated.secret, { key: 'SDK_MADE', value: 'updated by sdk5', projectId: shop.id });
    assert.equal(updated.secret.version, 2);
    assert.equal(await cliGet(shop.id, 'SDK_MADE'), 'updated by sdk5');

    /* CLI writes, SDK reads. */
    await setSecrets(shop.id, 'prod', { SDK_MADE: 'overwritten by the CLI' });
    const back = await sdk.secrets().getSecret({ ...o, secretName: 'SDK_MADE' });
    assert.equal(back.secretValue, 'overwritten by the CLI');
    assert.equal(back.version, 3);
    assert.equal(byKey((await sdk.secrets().listSecrets(o)).secrets).SDK_MADE, 'overwritten by the CLI');

    const deleted = await sdk.secrets().deleteSecret('SDK_MADE', o);
    assert.equal(deleted.secret?.secretKey, 'SDK_MADE', JSON.stringify(deleted));
    assert.equal(await cliGet(shop.id, 'SDK_MADE'), null, 'the CLI no longer finds the deleted secret');
    assert.deepEqual(byKey((await sdk.secrets().listSecrets(o)).secrets), PROD);
    assert.deepEqual(await cliExport(shop.id), PROD);
});

/* ---- sdk2 beyond the snippet ---------------------------------------------- */

test('sdk2: get, create, update, delete; CLI and SDK read each other', T, async () => {
    const ident = await createIdentity('sdk2-bot', shop.id);
    const c = await sdk2Client(ident);
    try {
        const o = { environment: 'prod', projectId: shop.id };
        const got = await c.ok('getSecret', { ...o, secretName: 'API_KEY' });
        assert.equal(got.secretKey, 'API_KEY');
        assert.equal(got.secretValue, PROD.API_KEY);

        const created = await c.ok('createSecret', { ...o, secretName: 'RUST_MADE', secretValue: 'from sdk2' });
        assert.equal(created.secretKey, 'RUST_MADE');
        assert.equal(await cliGet(shop.id, 'RUST_MADE'), 'from sdk2');

        const updated = await c.ok('updateSecret', { ...o, secretName: 'RUST_MADE', secretValue: 'sdk2 again' });
        assert.equal(updated.secretKey, 'RUST_MADE');
        assert.equal(await cliGet(shop.id, 'RUST_MADE'), 'sdk2 again');

        /* a key this client never fetched (sdk2 caches gets for 5 minutes) */
        await setSecrets(shop.id, 'prod', { CLI_MADE: 'for sdk2' });
        assert.equal((await c.ok('getSecret', { ...o, secretName: 'CLI_MADE' })).secretValue, 'for sdk2');

        for (const name of ['RUST_MADE', 'CLI_MADE'])
            assert.equal((await c.ok('deleteSecret', { ...o, secretName: name })).secretKey, name);
        assert.equal(await cliGet(shop.id, 'RUST_MADE'), null);
        assert.deepEqual(byKey(await c.ok('listSecrets', o)), PROD);
    } finally {
        c.close();
    }
});

test('the snippet with a trailing slash on INFISICAL_URL (sdk2 then asks for //api/...)', T, async () => {
    const ident = await createIdentity('slash-bot', shop.id);
    const r = await runSnippet(ident, shop.id, { url: srv.url + '/' });
    assert.equal(r.code, 0, `snippet failed (exit ${r.code}, signal ${r.signal}):\n${r.stderr}${r.stdout}`);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l !== '').sort(),
        Object.entries(PROD).map(([k, v]) => `${k} ${v}`).sort());
});

test('permissions hold for SDK callers: a viewer cannot write, another project\'s identity cannot read', T, async () => {
    const viewer = await createIdentity('viewer-bot', shop.id, 'viewer');
    const sdk = await sdk5Login(viewer);
    const o = { environment: 'prod', projectId: shop.id };
    assert.deepEqual(byKey((await sdk.secrets().listSecrets(o)).secrets), await cliExport(shop.id));
    const e = await thrown(() => sdk.secrets().createSecret('VIEWER_MADE', { ...o, secretValue: 'x' }),
        'a viewer creating a secret');
    assert.match(e.message, /\[StatusCode=403\]/);
    const u = await thrown(() => sdk.secrets().updateSecret('DB_URL', { ...o, secretValue: 'x' }),
        'a viewer updating a secret');
    assert.match(u.message, /\[StatusCode=403\]/);
    assert.equal(await cliGet(shop.id, 'VIEWER_MADE'), null);
    assert.equal(await cliGet(shop.id, 'DB_URL'), PROD.DB_URL);

    const elsewhere = await createProject('elsewhere', ['--server-access']);
    const outsider = await createIdentity('outsider-bot', elsewhere.id);
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: outsider.clientId, clientSecret: outsider.clientSecret } });
    assert.equal(login.status, 200, login.text);
    for (const route of [`/api/v3/secrets/raw?workspaceId=${shop.id}&environment=prod`,
        `/api/v3/secrets/raw/DB_URL?workspaceId=${shop.id}&environment=prod`,
        `/api/v4/secrets?projectId=${shop.id}&environment=prod`]) {
        const r = await apiCall(srv, 'GET', route, { token: login.json.accessToken });
        assert.ok(r.status === 403 || r.status === 404, `${route}: ${r.status} ${r.text}`);
        assertApiError(r, r.status, r.status === 403 ? 'PermissionDenied' : 'NotFound', r.text);
        assert.ok(!r.text.includes(PROD.DB_URL), 'no value leaks');
    }
});

/* ---- 3. errors through the SDKs' own error types ------------------------- */

test('a wrong client secret: 401 from the server, sdk5 InfisicalSDKRequestError, sdk2 rejects', T, async () => {
    const ident = await createIdentity('wrong-bot', shop.id);
    const wrong = 'f'.repeat(64) === ident.clientSecret ? '0'.repeat(64) : 'f'.repeat(64);

    const r = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: ident.clientId, clientSecret: wrong } });
    const body = assertApiError(r, 401, 'UnauthorizedError', r.text);
    assert.ok(!r.text.includes(wrong));
    assert.equal(body.accessToken, undefined);

    const sdk = new InfisicalSDK({ siteUrl: srv.url });
    const e5 = await thrown(() => sdk.auth().universalAuth.login({ clientId: ident.clientId,
        clientSecret: wrong }), 'sdk5 login with a wrong secret');
    assert.equal(e5.name, 'InfisicalSDKRequestError', e5.stack);
    assert.match(e5.message, /\[StatusCode=401\]/);
    assert.match(e5.message, /\[URL=[^\]]*\/api\/v1\/auth\/universal-auth\/login\]/);

    const s2 = await runSnippet({ ...ident, clientSecret: wrong }, shop.id);
    assert.notEqual(s2.code, 0, `the snippet must fail: ${s2.stdout}`);
    assert.equal(s2.stdout, '', 'nothing printed');
    assert.match(s2.stderr, /Failed to authenticate/, s2.stderr);
});

test('an unknown secret: 404 NotFound, sdk5 [StatusCode=404], sdk2 "not found"', T, async () => {
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: ciBot.clientId, clientSecret: ciBot.clientSecret } });
    assert.equal(login.status, 200, login.text);
    const token = login.json.accessToken;
    const q = `workspaceId=${shop.id}&environment=prod&secretPath=/`;
    const r = await apiCall(srv, 'GET', `/api/v3/secrets/raw/NO_SUCH_SECRET?${q}`, { token });
    assertApiError(r, 404, 'NotFound', r.text);
    for (const m of ['PATCH', 'DELETE']) {
        const w = await apiCall(srv, m, '/api/v3/secrets/raw/NO_SUCH_SECRET', { token,
            body: { workspaceId: shop.id, environment: 'prod', secretPath: '/', secretValue: 'x' } });
        assertApiError(w, 404, 'NotFound', w.text);
    }

    const sdk = await sdk5Login(ciBot);
    const e5 = await thrown(() => sdk.secrets().getSecret({ environment: 'prod', projectId: shop.id,
        secretName: 'NO_SUCH_SECRET' }), 'sdk5 getSecret of an unknown name');
    assert.equal(e5.name, 'InfisicalSDKRequestError', e5.stack);
    assert.match(e5.message, /\[StatusCode=404\]/);
    const d5 = await thrown(() => sdk.secrets().deleteSecret('NO_SUCH_SECRET', { environment: 'prod',
        projectId: shop.id }), 'sdk5 deleteSecret of an unknown name');
    assert.match(d5.message, /\[StatusCode=404\]/);

    const c = await sdk2Client(ciBot);
    try {
        const g = await c.call('getSecret', { environment: 'prod', projectId: shop.id, secretName: 'NO_SUCH_SECRET' });
        assert.equal(g.ok, false, JSON.stringify(g));
        assert.match(g.message, /Secret with name 'NO_SUCH_SECRET' not found/);
    } finally {
        c.close();
    }
});

test('creating a secret that exists: 400 BadRequest, the value is unchanged', T, async () => {
    const sdk = await sdk5Login(ciBot);
    const e = await thrown(() => sdk.secrets().createSecret('DB_URL', { environment: 'prod',
        projectId: shop.id, secretValue: 'clobbered' }), 'sdk5 createSecret of an existing name');
    assert.match(e.message, /\[StatusCode=400\]/);
    assert.equal(await cliGet(shop.id, 'DB_URL'), PROD.DB_URL);
});

/* ---- 4. projects without server access ----------------------------------- */

test('a project without server access: the raw routes answer 400 naming the setting', T, async () => {
    const plain = await createProject('plain');
    await setSecrets(plain.id, 'prod', { ONLY_E2E: 'the server cannot read this' });
    const ident = await createIdentity('plain-bot', plain.id);
    const sdk = await sdk5Login(ident);
    const token = sdk.auth().getAccessToken();

    const r = await apiCall(srv, 'GET', `/api/v3/secrets/raw?workspaceId=${plain.id}&environment=prod`, { token });
    const body = assertApiError(r, 400, 'BadRequest', r.text);
    assert.match(body.message, SETTING_RE);
    const g = await apiCall(srv, 'GET', `/api/v3/secrets/raw/ONLY_E2E?workspaceId=${plain.id}&environment=prod`,
        { token });
    assert.match(assertApiError(g, 400, 'BadRequest', g.text).message, SETTING_RE);
    const w = await apiCall(srv, 'POST', '/api/v3/secrets/raw/NEW_ONE', { token,
        body: { workspaceId: plain.id, environment: 'prod', secretValue: 'x' } });
    assert.match(assertApiError(w, 400, 'BadRequest', w.text).message, SETTING_RE);

    const e = await thrown(() => sdk.secrets().listSecrets({ environment: 'prod', projectId: plain.id }),
        'sdk5 listSecrets on a project without server access');
    assert.match(e.message, /\[StatusCode=400\]/);
    assert.match(e.message, SETTING_RE);
    assert.equal(await cliGet(plain.id, 'NEW_ONE'), null, 'nothing was written');
});

test('projects update --server-access off makes a working project refuse; on again restores it', T, async () => {
    const legacy = await createProject('legacy', ['--server-access']);
    await setSecrets(legacy.id, 'prod', { LEGACY: 'v1' });
    const ident = await createIdentity('legacy-bot', legacy.id);
    const sdk = await sdk5Login(ident);
    const o = { environment: 'prod', projectId: legacy.id };
    assert.deepEqual(byKey((await sdk.secrets().listSecrets(o)).secrets), { LEGACY: 'v1' });

    await ok(['projects', 'update', legacy.id, '--server-access', 'off']);
    const e = await thrown(() => sdk.secrets().listSecrets(o), 'listSecrets after --server-access off');
    assert.match(e.message, /\[StatusCode=400\]/);
    assert.match(e.message, SETTING_RE);
    const g = await thrown(() => sdk.secrets().getSecret({ ...o, secretName: 'LEGACY' }), 'getSecret after off');
    assert.match(g.message, /\[StatusCode=400\]/);
    /* the end-to-end encrypted CLI still works */
    await setSecrets(legacy.id, 'prod', { LEGACY: 'v2' });
    assert.equal(await cliGet(legacy.id, 'LEGACY'), 'v2');

    await ok(['projects', 'update', legacy.id, '--server-access', 'on']);
    assert.deepEqual(byKey((await sdk.secrets().listSecrets(o)).secrets), { LEGACY: 'v2' });
});

/* ---- 5. v4 and ETags ------------------------------------------------------ */

test('login and renew bodies; GET /api/v4/secrets with ETag and If-None-Match (304)', T, async () => {
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: ciBot.clientId, clientSecret: ciBot.clientSecret } });
    assert.equal(login.status, 200, login.text);
    const fourFields = (j, what) => {
        assert.equal(typeof j.accessToken, 'string', `${what}: ${JSON.stringify(j)}`);
        assert.ok(j.accessToken.length > 0);
        assert.ok(Number.isInteger(j.expiresIn) && j.expiresIn > 0, `${what} expiresIn: ${JSON.stringify(j)}`);
        assert.ok(Number.isInteger(j.accessTokenMaxTTL) && j.accessTokenMaxTTL > 0,
            `${what} accessTokenMaxTTL: ${JSON.stringify(j)}`);
        assert.equal(j.tokenType, 'Bearer');
    };
    fourFields(login.json, 'login');
    const renew = await apiCall(srv, 'POST', '/api/v1/auth/token/renew',
        { body: { accessToken: login.json.accessToken } });
    assert.equal(renew.status, 200, renew.text);
    fourFields(renew.json, 'renew');
    const token = renew.json.accessToken;

    const expected = await cliExport(shop.id);
    const url = `/api/v4/secrets?projectId=${shop.id}&environment=prod`;
    const r = await apiCall(srv, 'GET', url, { token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(byKey(r.json.secrets), expected);
    for (const s of r.json.secrets)
        assertRawSecret(s, { key: s.secretKey, value: expected[s.secretKey], projectId: shop.id });
    const etag = r.headers.get('etag');
    assert.ok(etag, 'the list carries an ETag');

    const again = await apiCall(srv, 'GET', url, { token, headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, again.text);
    assert.equal(again.text, '');
    const other = await apiCall(srv, 'GET', url, { token, headers: { 'If-None-Match': '"not-it"' } });
    assert.equal(other.status, 200);

    const one = `/api/v4/secrets/DB_URL?projectId=${shop.id}&environment=prod`;
    const g = await apiCall(srv, 'GET', one, { token });
    assert.equal(g.status, 200, g.text);
    assertRawSecret(g.json.secret, { key: 'DB_URL', value: expected.DB_URL, projectId: shop.id });
    const getTag = g.headers.get('etag');
    assert.ok(getTag, 'a single secret carries an ETag');
    assert.equal((await apiCall(srv, 'GET', one, { token, headers: { 'If-None-Match': getTag } })).status, 304);
    const missing = await apiCall(srv, 'GET', `/api/v4/secrets/NO_SUCH_SECRET?projectId=${shop.id}&environment=prod`,
        { token });
    assertApiError(missing, 404, 'NotFound', missing.text);

    /* a change gives a new ETag (the CLI agent re-renders only when it changes) */
    await setSecrets(shop.id, 'prod', { ETAG_PROBE: 'changed' });
    try {
        const changed = await apiCall(srv, 'GET', url, { token, headers: { 'If-None-Match': etag } });
        assert.equal(changed.status, 200, 'a stale If-None-Match gets the new list');
        assert.equal(byKey(changed.json.secrets).ETAG_PROBE, 'changed');
        assert.notEqual(changed.headers.get('etag'), etag);
    } finally {
        await ok(['secrets', 'delete', 'ETAG_PROBE', '--env', 'prod', '--project-id', shop.id]);
    }
});
