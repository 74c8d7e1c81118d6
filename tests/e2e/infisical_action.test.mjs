// infisical_action.test.mjs - what Infisical's own GitHub action (Infisical/secrets-action)
// sends, against arca: its universal-auth login posts an application/x-www-form-urlencoded
// body, and it lists secrets by the project's slug (workspaceSlug) instead of its ID.
// Infisical's server takes form bodies wherever it takes JSON, and project slugs on the v3
// secret routes (workspaceSlug in a query, projectSlug in a body): so does arca, strictly
// (libmicrohttpd's decoder; a field twice, text that is not UTF-8 are refused).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    apiCall, assertApiError, bootstrapAndLogin, createProject, newCli, removeTempDirs,
    startServer,
} from './harness.mjs';

const T = { timeout: 300000 };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
let server, admin, project, other, ident;

before(async () => {
    server = await startServer();
    admin = await newCli(server);
    await bootstrapAndLogin(admin);
    project = await createProject(admin, 'Web Shop');
    other = await createProject(admin, 'other-team');
    const pid = ['--project-id', project.id];
    for (const args of [['projects', 'update', project.id, '--server-access', 'on'],
        ['projects', 'update', other.id, '--server-access', 'on'],
        ['secrets', 'set', 'DB_URL=postgres://db/shop', 'REF=${DB_URL}?ssl=1', '--env=prod', ...pid],
        ['secrets', 'set', 'OTHER=x', '--env=prod', '--project-id', other.id],
        ['secrets', 'set', 'SHARED=from-staging', 'DB_URL=staging-db', '--env=staging', ...pid],
        ['imports', 'add', '--from', 'staging:/', '--env=prod', ...pid]]) {
        const r = await admin.arca(args);
        assert.equal(r.code, 0, r.stderr);
    }
    const r = await admin.arca(['identities', 'create', 'gh-actions', ...pid, '--role', 'member',
        '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    ident = JSON.parse(r.stdout);
});

after(async () => {
    await server?.stop();
    await removeTempDirs();
});

const form = (o) => new URLSearchParams(o).toString();

/* An arca JSON error with this status and name whose message matches re. */
function refused(res, status, error, re) {
    const body = assertApiError(res, status, error, res.text);
    assert.match(body.message, re);
}

async function formLogin() {
    const r = await apiCall(server, 'POST', '/api/v1/auth/universal-auth/login',
        { body: form({ clientId: ident.clientId, clientSecret: ident.clientSecret }), headers: FORM });
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.accessToken, /^arca_i_/);
    return r.json.accessToken;
}

test('the action\'s requests: a form-encoded login, then a list by workspaceSlug', T, async () => {
    assert.equal(project.slug, 'web-shop');
    const token = await formLogin();
    const q = new URLSearchParams({ workspaceSlug: project.slug, environment: 'prod', secretPath: '/',
        recursive: 'false', include_imports: 'true', expandSecretReferences: 'true' });
    const r = await apiCall(server, 'GET', `/api/v3/secrets/raw?${q}`, { token });
    assert.equal(r.status, 200, r.text);
    /* the action's own merge: the folder's secrets, then imports from the last to the
     * first, a key already there kept */
    const got = Object.fromEntries(r.json.secrets.map((s) => [s.secretKey, s.secretValue]));
    for (let i = r.json.imports.length - 1; i >= 0; i--)
        for (const s of r.json.imports[i].secrets)
            got[s.secretKey] ??= s.secretValue;
    assert.deepEqual(got, { DB_URL: 'postgres://db/shop', REF: 'postgres://db/shop?ssl=1',
        SHARED: 'from-staging' });
    assert.ok(r.json.secrets.every((s) => s.workspace === project.id));

    /* one secret by slug; the ID still wins when both are given */
    const one = await apiCall(server, 'GET',
        `/api/v3/secrets/raw/DB_URL?workspaceSlug=${project.slug}&environment=prod`, { token });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.secret.secretValue, 'postgres://db/shop');
    const both = await apiCall(server, 'GET',
        `/api/v3/secrets/raw?workspaceId=${project.id}&workspaceSlug=nope&environment=prod`, { token });
    assert.equal(both.status, 200, both.text);
});

test('writes take projectSlug in the body, JSON or form', T, async () => {
    const token = await formLogin();
    let r = await apiCall(server, 'POST', '/api/v3/secrets/raw/FROM_FORM', { token, headers: FORM,
        body: form({ projectSlug: project.slug, environment: 'prod', secretValue: 'a b&c=d+e%' }) });
    assert.equal(r.status, 200, r.text);
    r = await apiCall(server, 'POST', '/api/v3/secrets/batch/raw', { token, body: {
        projectSlug: project.slug, environment: 'prod', secrets: [{ secretKey: 'BATCHED', secretValue: 'b' }] } });
    assert.equal(r.status, 200, r.text);
    r = await apiCall(server, 'PATCH', '/api/v3/secrets/raw/BATCHED', { token, body: {
        projectSlug: project.slug, environment: 'prod', secretValue: 'b2' } });
    assert.equal(r.status, 200, r.text);
    /* arca's own CLI decrypts what went in through the slug routes */
    const g = await admin.arca(['export', '--env=prod', '--format', 'json', '--project-id', project.id]);
    assert.equal(g.code, 0, g.stderr);
    const all = JSON.parse(g.stdout);
    assert.equal(all.FROM_FORM, 'a b&c=d+e%');
    assert.equal(all.BATCHED, 'b2');
    r = await apiCall(server, 'DELETE', '/api/v3/secrets/raw/BATCHED', { token, body: {
        projectSlug: project.slug, environment: 'prod' } });
    assert.equal(r.status, 200, r.text);
});

test('slug refusals: unknown, or a project the caller is not in, look the same', T, async () => {
    const token = await formLogin();
    const unknown = await apiCall(server, 'GET',
        '/api/v3/secrets/raw?workspaceSlug=no-such&environment=prod', { token });
    refused(unknown, 404, 'NotFound', /project with slug 'no-such' not found/);
    const notMine = await apiCall(server, 'GET',
        `/api/v3/secrets/raw?workspaceSlug=${other.slug}&environment=prod`, { token });
    refused(notMine, 404, 'NotFound', new RegExp(`project with slug '${other.slug}' not found`));
    assert.ok(!notMine.text.includes(other.id));
    const noEnv = await apiCall(server, 'GET', `/api/v3/secrets/raw?workspaceSlug=${project.slug}`,
        { token });
    refused(noEnv, 400, 'BadRequest', /Missing project id or environment/);
});

test('form bodies: strict decoding, the same answers as JSON', T, async () => {
    const login = (body) => apiCall(server, 'POST', '/api/v1/auth/universal-auth/login',
        { body, headers: FORM });
    let r = await login(`clientId=${ident.clientId}&clientId=${ident.clientId}&clientSecret=x`);
    refused(r, 400, 'BadRequest', /malformed form body: a form field is given twice/);
    r = await login(`clientId=%FF%FE&clientSecret=x`);
    refused(r, 400, 'BadRequest', /malformed form body: a form field's value is not UTF-8/);
    r = await login(`clientId=a%00b&clientSecret=x`);
    refused(r, 400, 'BadRequest', /malformed form body/);
    r = await login(Array.from({ length: 65 }, (_, i) => `f${i}=x`).join('&'));
    refused(r, 400, 'BadRequest', /malformed form body: more than 64 form fields/);
    /* a wrong secret: the same 401 as with JSON */
    r = await login(form({ clientId: ident.clientId, clientSecret: 'f'.repeat(64) }));
    const j = await apiCall(server, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: ident.clientId, clientSecret: 'f'.repeat(64) } });
    assert.equal(r.status, j.status);
    assert.equal(r.json.message, j.json.message);
    /* a field missing: the handler's own message, as with JSON */
    r = await login(form({ clientId: ident.clientId }));
    const jm = await apiCall(server, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: ident.clientId } });
    assert.equal(r.status, jm.status);
    assert.equal(r.json.message, jm.json.message);
    /* renew with a form body too */
    const token = await formLogin();
    r = await apiCall(server, 'POST', '/api/v1/auth/token/renew',
        { body: form({ accessToken: token }), headers: FORM });
    assert.equal(r.status, 200, r.text);
    /* JSON sent as a form is not mistaken for a field */
    r = await login(JSON.stringify({ clientId: ident.clientId, clientSecret: ident.clientSecret }));
    assert.notEqual(r.status, 200);
});
