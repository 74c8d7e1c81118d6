// imports.test.mjs - folders and secret imports through Infisical's SDKs
// (sdk5 = @infisical/sdk 5.0.2 in process, sdk2 = 2.3.5 in a child process,
// as in compat.test.mjs) against arca's /api/v1/folders, /api/v1/secret-imports
// and the raw list/get routes with recursive / include_imports.
//
// Own server (it logs in a few times).  The admin makes a project with server
// access with the CLI and writes secrets end-to-end encrypted; a member
// identity drives the SDKs and creates imports over HTTP (no SDK has them).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { InfisicalSDK } from 'sdk5';

import {
    apiCall, assertApiError as apiError, bootstrapAndLogin, CHILD_TIMEOUT_MS, newCli, NODE, REPO_ROOT,
    removeTempDirs, startServer, tempDir,
} from '../e2e/harness.mjs';

const T = { timeout: 300000 };
const SDK2_DIR = path.join(REPO_ROOT, 'tests', 'compat', 'node_modules', 'sdk2');

let srv;
let admin;
let proj;
let bot; /* member identity: {clientId, clientSecret} */
let sdk; /* sdk5 logged in as bot */
let token; /* bot's access token, for the routes no SDK has */

async function ok(args) {
    const r = await admin.arca(args);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

const set = (env, p, kv) => ok(['secrets', 'set', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`),
    '--env', env, '--path', p, '--project-id', proj.id]);
const ERRORS = { 400: 'BadRequest', 403: 'PermissionDenied', 404: 'NotFound' };
const assertApiError = (res, status) => apiError(res, status, ERRORS[status], res.text);
const byKey = (secrets) => Object.fromEntries(secrets.map((s) => [s.secretKey, s.secretValue]));

async function addImport(env, p, fromEnv, fromPath, tok = token) {
    return apiCall(srv, 'POST', '/api/v1/secret-imports', { token: tok, body: {
        workspaceId: proj.id, environment: env, path: p, import: { environment: fromEnv, path: fromPath } } });
}

async function identity(name, role) {
    const j = JSON.parse((await ok(['identities', 'create', name, '--project-id', proj.id, '--role', role,
        '--format', 'json'])).stdout);
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: j.clientId, clientSecret: j.clientSecret } });
    assert.equal(login.status, 200, login.text);
    return { ...j, token: login.json.accessToken };
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    proj = JSON.parse((await ok(['projects', 'create', 'imp', '--server-access', '--format', 'json'])).stdout);
    bot = await identity('imp-bot', 'member');
    token = bot.token;
    sdk = new InfisicalSDK({ siteUrl: srv.url });
    await sdk.auth().universalAuth.login({ clientId: bot.clientId, clientSecret: bot.clientSecret });

    await set('dev', '/', { SHARED_A: 'dev-a', ONLY_DEV: 'd', REF: '${SHARED_A}+${ONLY_DEV}' });
    await set('staging', '/common', { SHARED_A: 'staging-a', ONLY_STAGING: 's' });
    await set('prod', '/', { OWN: 'prod-own', SHARED_A: 'prod-a', USES: '${dev.REF}' });
});

after(async () => {
    await srv?.stop();
    await removeTempDirs();
});

test('sdk5 folders().create and listFolders; folders by id, delete, rename refused', T, async () => {
    const o = { environment: 'dev', projectId: proj.id };
    const f = await sdk.folders().create({ ...o, name: 'payments', path: '/' });
    assert.equal(f.name, 'payments');
    assert.equal(typeof f.id, 'string');
    assert.equal(f.path, '/payments');
    const again = await sdk.folders().create({ ...o, name: 'payments', path: '/' });
    assert.equal(again.id, f.id, 'creating an existing folder returns it');
    const deep = await sdk.folders().create({ ...o, name: 'leaf', path: '/nested1/nested2' });
    assert.equal(deep.path, '/nested1/nested2/leaf');

    let list = await sdk.folders().listFolders({ ...o, path: '/' });
    assert.deepEqual(list.map((x) => x.name).sort(), ['nested1', 'payments']);
    list = await sdk.folders().listFolders({ ...o, path: '/', recursive: true });
    assert.deepEqual(list.map((x) => x.path).sort(),
        ['/nested1', '/nested1/nested2', '/nested1/nested2/leaf', '/payments']);

    const v2 = await apiCall(srv, 'GET', `/api/v2/folders?projectId=${proj.id}&environment=dev&directory=/nested1`,
        { token });
    assert.equal(v2.status, 200, v2.text);
    assert.deepEqual(v2.json.folders.map((x) => x.name), ['nested2'], 'directory when path is absent');
    const one = await apiCall(srv, 'GET', `/api/v1/folders/${f.id}`, { token });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.folder.environment.envSlug, 'dev');
    assert.equal(one.json.folder.projectId, proj.id);

    const bad = await apiCall(srv, 'POST', '/api/v1/folders', { token,
        body: { workspaceId: proj.id, environment: 'dev', name: '../x', path: '/' } });
    assertApiError(bad, 400);
    const rename = await apiCall(srv, 'PATCH', `/api/v1/folders/${f.id}`, { token,
        body: { workspaceId: proj.id, environment: 'dev', name: 'other', path: '/' } });
    assertApiError(rename, 400);
    assert.match(rename.json.message, /cannot be renamed/);

    const del = await apiCall(srv, 'DELETE', '/api/v1/folders/nested1', { token,
        body: { workspaceId: proj.id, environment: 'dev', directory: '/' } });
    assert.equal(del.status, 200, del.text);
    list = await sdk.folders().listFolders({ ...o, path: '/', recursive: true });
    assert.deepEqual(list.map((x) => x.path), ['/payments']);
});

test('imports: listSecretsWithImports, include_imports blocks, getSecret falls back, last import wins', T, async () => {
    let r = await addImport('prod', '/', 'dev', '/');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.secretImport.importEnv.slug, 'dev');
    assert.equal(r.json.secretImport.position, 1);
    r = await addImport('prod', '/', 'staging', '/common');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.secretImport.position, 2);
    assertApiError(await addImport('prod', '/', 'staging', '/common'), 400);
    assertApiError(await apiCall(srv, 'POST', '/api/v1/secret-imports', { token, body: {
        workspaceId: proj.id, environment: 'prod', path: '/', isReplication: true,
        import: { environment: 'dev', path: '/x' } } }), 400);

    const listed = await apiCall(srv, 'GET', `/api/v1/secret-imports?workspaceId=${proj.id}&environment=prod&path=/`,
        { token });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.json.secretImports.map((i) => [i.importEnv.slug, i.importPath, i.position]),
        [['dev', '/', 1], ['staging', '/common', 2]]);
    const v2 = await apiCall(srv, 'GET', `/api/v2/secret-imports?projectId=${proj.id}&environment=prod&path=/`,
        { token });
    assert.equal(v2.status, 200, v2.text);
    assert.deepEqual(v2.json.secretImports.map((i) => i.id), listed.json.secretImports.map((i) => i.id));

    const o = { environment: 'prod', projectId: proj.id };
    const plain = await sdk.secrets().listSecrets(o);
    assert.deepEqual(plain.imports, [], 'no imports unless asked (v3)');
    const withImp = await sdk.secrets().listSecrets({ ...o, includeImports: true });
    assert.deepEqual(withImp.imports.map((b) => [b.environment, b.secretPath]), [['dev', '/'], ['staging', '/common']]);
    for (const b of withImp.imports)
        assert.equal(typeof b.folderId, 'string');
    /* imported secrets expand in their own environment */
    assert.equal(byKey(withImp.imports[0].secrets).REF, 'dev-a+d');
    assert.equal(byKey(withImp.secrets).USES, 'dev-a+d');

    const merged = byKey(await sdk.secrets().listSecretsWithImports(o));
    assert.equal(merged.OWN, 'prod-own');
    assert.equal(merged.SHARED_A, 'prod-a', "the folder's own value wins");
    assert.equal(merged.ONLY_DEV, 'd');
    assert.equal(merged.ONLY_STAGING, 's');

    const got = await sdk.secrets().getSecret({ ...o, secretName: 'ONLY_STAGING', includeImports: true });
    assert.equal(got.secretValue, 's');
    await assert.rejects(sdk.secrets().getSecret({ ...o, secretName: 'ONLY_STAGING' }));
    /* both imports have SHARED_A; prod's own hides them: delete it, the last import wins */
    await ok(['secrets', 'delete', 'SHARED_A', '--env', 'prod', '--project-id', proj.id]);
    const last = await sdk.secrets().getSecret({ ...o, secretName: 'SHARED_A', includeImports: true });
    assert.equal(last.secretValue, 'staging-a');
    /* v4 includes imports by default */
    const v4 = await apiCall(srv, 'GET', `/api/v4/secrets?projectId=${proj.id}&environment=prod`, { token });
    assert.equal(v4.status, 200, v4.text);
    assert.equal(v4.json.imports.length, 2);

    /* reorder: staging first, then dev wins */
    const stagingImp = listed.json.secretImports[1];
    r = await apiCall(srv, 'PATCH', `/api/v1/secret-imports/${stagingImp.id}`, { token,
        body: { workspaceId: proj.id, environment: 'prod', path: '/', import: { position: 1 } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.secretImport.position, 1);
    const first = await sdk.secrets().getSecret({ ...o, secretName: 'SHARED_A', includeImports: true });
    assert.equal(first.secretValue, 'dev-a');
    await ok(['secrets', 'set', 'SHARED_A=prod-a', '--env', 'prod', '--project-id', proj.id]);
});

test('sdk2 listSecrets({includeImports:true, recursive:true})', T, async () => {
    await set('prod', '/svc/api', { SUB: 'sub-value' });
    const sdkDir = await tempDir('arca-compat-imp-');
    await mkdir(path.join(sdkDir, 'node_modules', '@infisical'), { recursive: true });
    await symlink(SDK2_DIR, path.join(sdkDir, 'node_modules', '@infisical', 'sdk'), 'dir');
    const file = path.join(sdkDir, 'list.cjs');
    await writeFile(file, `const { InfisicalClient } = require('@infisical/sdk');
(async () => {
  const client = new InfisicalClient({ siteUrl: process.env.INFISICAL_URL,
    auth: { universalAuth: { clientId: process.env.ID, clientSecret: process.env.SECRET } } });
  const s = await client.listSecrets({ environment: 'prod', projectId: process.env.PROJECT,
    includeImports: true, recursive: true });
  console.log(JSON.stringify(s.map((x) => [x.secretKey, x.secretValue, x.secretPath])));
})().catch((e) => { console.error(e && e.message); process.exitCode = 1; });
`);
    const r = await new Promise((resolve, reject) => {
        const p = spawn(NODE, [file], { cwd: sdkDir, stdio: ['ignore', 'pipe', 'pipe'],
            env: { PATH: process.env.PATH, INFISICAL_URL: srv.url, ID: bot.clientId, SECRET: bot.clientSecret,
                PROJECT: proj.id } });
        const out = [];
        const err = [];
        p.stdout.on('data', (c) => out.push(c));
        p.stderr.on('data', (c) => err.push(c));
        const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
        p.on('error', reject);
        p.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout: Buffer.concat(out).toString(),
            stderr: Buffer.concat(err).toString() })));
    });
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout);
    const m = Object.fromEntries(rows.map(([k, v]) => [k, v]));
    assert.equal(m.OWN, 'prod-own');
    assert.equal(m.SUB, 'sub-value', 'recursive lists sub-folders');
    assert.deepEqual(rows.find(([k]) => k === 'SUB'), ['SUB', 'sub-value', '/svc/api']);
    assert.equal(m.ONLY_DEV, 'd', 'imported');
    assert.equal(m.ONLY_STAGING, 's', 'imported');
});

test('sdk5 listSecrets({recursive:true}) gives each secret its own secretPath', T, async () => {
    const res = await sdk.secrets().listSecrets({ environment: 'prod', projectId: proj.id, recursive: true });
    const sub = res.secrets.find((s) => s.secretKey === 'SUB');
    assert.equal(sub.secretPath, '/svc/api');
    assert.equal(res.secrets.find((s) => s.secretKey === 'OWN').secretPath, '/');
});

test('a member who cannot read the source neither sees the block nor can create the import', T, async () => {
    await ok(['roles', 'create', 'prod-only', '--project-id', proj.id,
        '--allow', 'secrets:read:prod:/**', '--allow', 'folders:*:prod:/**']);
    const limited = await identity('prod-only-bot', 'prod-only');
    const res = await apiCall(srv, 'GET',
        `/api/v3/secrets/raw?workspaceId=${proj.id}&environment=prod&include_imports=true`, { token: limited.token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.imports, []);
    assert.equal(res.json.secrets.find((s) => s.secretKey === 'ONLY_DEV'), undefined);
    const r = await addImport('prod', '/other', 'dev', '/', limited.token);
    assertApiError(r, 403);
    const g = await apiCall(srv, 'GET',
        `/api/v3/secrets/raw/ONLY_DEV?workspaceId=${proj.id}&environment=prod&include_imports=true`,
        { token: limited.token });
    assertApiError(g, 404);
    assertApiError(await apiCall(srv, 'GET', `/api/v1/folders?workspaceId=${proj.id}&environment=dev`,
        { token: limited.token }), 403);

    /* a non-member: 404 for the project's folders and imports, by query or by id */
    const other = JSON.parse((await ok(['projects', 'create', 'other', '--server-access', '--format', 'json'])).stdout);
    const j = JSON.parse((await ok(['identities', 'create', 'outsider', '--project-id', other.id, '--role', 'admin',
        '--format', 'json'])).stdout);
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: j.clientId, clientSecret: j.clientSecret } });
    const outsider = login.json.accessToken;
    assertApiError(await apiCall(srv, 'GET', `/api/v1/folders?workspaceId=${proj.id}&environment=dev`,
        { token: outsider }), 404);
    const folders = await sdk.folders().listFolders({ environment: 'prod', projectId: proj.id, path: '/' });
    assertApiError(await apiCall(srv, 'GET', `/api/v1/folders/${folders[0].id}`, { token: outsider }), 404);
    const imps = await apiCall(srv, 'GET', `/api/v1/secret-imports?workspaceId=${proj.id}&environment=prod&path=/`,
        { token });
    assertApiError(await apiCall(srv, 'DELETE', `/api/v1/secret-imports/${imps.json.secretImports[0].id}`,
        { token: outsider, body: {} }), 404);
});

test('a cycle of imports terminates', T, async () => {
    /* prod:/ imports dev:/ ; make dev:/ import prod:/ */
    const r = await addImport('dev', '/', 'prod', '/');
    assert.equal(r.status, 200, r.text);
    const res = await apiCall(srv, 'GET',
        `/api/v3/secrets/raw?workspaceId=${proj.id}&environment=dev&include_imports=true`, { token });
    assert.equal(res.status, 200, res.text);
    const block = res.json.imports.find((b) => b.environment === 'prod');
    assert.equal(byKey(block.secrets).OWN, 'prod-own');
    const del = await apiCall(srv, 'DELETE', `/api/v1/secret-imports/${r.json.secretImport.id}`, { token,
        body: { workspaceId: proj.id, environment: 'dev', path: '/' } });
    assert.equal(del.status, 200, del.text);
});

test('equality: references into imported secrets give the same values on the server (sdk5) and in arca export', T, async () => {
    await set('dev', '/refs', { BASE: 'b', R1: '${BASE}-1' });
    await set('staging', '/lib', { L: '${dev.refs.R1}/L', BASE: 'lib-base', R2: '${BASE}' });
    await set('staging', '/eq', { OWN: 'own-${staging.lib.L}', PLAIN: 'p' });
    for (const [env, p] of [['dev', '/refs'], ['staging', '/lib']])
        assert.equal((await addImport('staging', '/eq', env, p)).status, 200);

    const o = { environment: 'staging', projectId: proj.id, secretPath: '/eq' };
    const res = await sdk.secrets().listSecrets({ ...o, includeImports: true, expandSecretReferences: true });
    /* the documented precedence: own secrets, then imports from the last to the first */
    const serverSide = byKey(res.secrets);
    for (const block of [...res.imports].reverse())
        for (const s of block.secrets)
            if (!(s.secretKey in serverSide))
                serverSide[s.secretKey] = s.secretValue;
    const expected = { OWN: 'own-b-1/L', PLAIN: 'p', BASE: 'lib-base', R1: 'b-1', L: 'b-1/L', R2: 'lib-base' };
    assert.deepEqual(serverSide, expected);

    const r = await ok(['export', '--env', 'staging', '--path', '/eq', '--format', 'json', '--project-id', proj.id]);
    assert.deepEqual(JSON.parse(r.stdout), serverSide, 'arca export (client-side) equals the server');
    const run = await ok(['run', '--env', 'staging', '--path', '/eq', '--project-id', proj.id, '--',
        'sh', '-c', 'printf "%s|%s|%s" "$OWN" "$R1" "$BASE"']);
    assert.equal(run.stdout, 'own-b-1/L|b-1|lib-base');

    /* the server's get-by-name agrees on the contested key: the last import wins */
    const got = await sdk.secrets().getSecret({ ...o, secretName: 'BASE', includeImports: true });
    assert.equal(got.secretValue, 'lib-base');
    const r1 = await sdk.secrets().getSecret({ ...o, secretName: 'R1', includeImports: true });
    assert.equal(r1.secretValue, 'b-1', 'an imported secret expands in its own folder');
});
