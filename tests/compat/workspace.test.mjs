// workspace.test.mjs - Infisical's project administration routes through the
// real Node SDK 5.x (sdk5): projects().create, environments().create,
// projects().inviteMembers, then secrets through the raw routes, and the
// invited person reading them with arca's end-to-end CLI (which proves the
// project key the server sealed to them opens).  Also GET /api/v1/workspace
// and GET /api/v2/service-token with plain HTTP.
//
// Own server (logins are rate limited per address): one SDK login, a few CLI
// logins.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { InfisicalSDK } from 'sdk5';

import {
    apiCall, assertApiError, bootstrapAndLogin, inviteAndSignup, newCli, readToken,
    removeTempDirs, serviceTokenBearer, serviceTokenIn, startServer, thrown,
} from '../e2e/harness.mjs';

const T = { timeout: 300000 };
const SETTING_RE = /server.access/i;

let srv;
let admin; /* CLI context of the first administrator */
let sdk; /* sdk5 logged in as the machine identity "builder" */
let made; /* the project sdk5 created */
let env; /* the environment sdk5 created in it */
let alice; /* a person invited into `made` as a member */
let victor; /* a person invited into `made` as a viewer */

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    const r = await ok(admin, ['identities', 'create', 'builder', '--format', 'json']);
    const builder = JSON.parse(r.stdout);
    sdk = new InfisicalSDK({ siteUrl: srv.url });
    await sdk.auth().universalAuth.login({ clientId: builder.clientId,
        clientSecret: builder.clientSecret });
    alice = await inviteAndSignup(admin, srv, 'alice@example.com');
    victor = await inviteAndSignup(admin, srv, 'victor@example.com');
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('sdk5 projects().create makes a project with server access and the default environments', T, async () => {
    made = await sdk.projects().create({ projectName: 'Made By SDK', type: 'secret-manager',
        projectDescription: 'from node' });
    assert.equal(typeof made.id, 'string');
    assert.equal(made.name, 'Made By SDK');
    assert.equal(made.slug, 'made-by-sdk');
    assert.equal(made.type, 'secret-manager');
    assert.deepEqual(made.environments.map((e) => e.slug), ['dev', 'staging', 'prod']);
    assert.equal(made.serverAccess, true);

    /* a given slug, and a duplicate one */
    const slugged = await sdk.projects().create({ projectName: 'Other', slug: 'other-app' });
    assert.equal(slugged.slug, 'other-app');
    const dup = await thrown(() => sdk.projects().create({ projectName: 'Again', slug: 'other-app' }),
        'duplicate project slug');
    assert.match(dup.message, /StatusCode=400/);
    assert.match(dup.message, /other-app/);
    const bad = await thrown(() => sdk.projects().create({ projectName: 'Bad', slug: 'Bad Slug!' }),
        'bad project slug');
    assert.match(bad.message, /StatusCode=400/);
});

test('sdk5 environments().create, then secrets in it through the raw routes', T, async () => {
    env = await sdk.environments().create({ projectId: made.id, name: 'QA', slug: 'qa' });
    assert.equal(env.slug, 'qa');
    assert.equal(env.name, 'QA');
    assert.equal(env.projectId, made.id);
    assert.equal(env.position, 4);

    await sdk.secrets().createSecret('QA_DB', { projectId: made.id, environment: 'qa',
        secretValue: 'postgres://qa' });
    const list = await sdk.secrets().listSecrets({ projectId: made.id, environment: 'qa' });
    assert.deepEqual(list.secrets.map((s) => [s.secretKey, s.secretValue]), [['QA_DB', 'postgres://qa']]);

    const dup = await thrown(() => sdk.environments().create({ projectId: made.id, name: 'QA 2', slug: 'qa' }),
        'duplicate environment slug');
    assert.match(dup.message, /StatusCode=400/);
    assert.match(dup.message, /'qa' already exists/);
});

test('sdk5 projects().inviteMembers seals the key to the person: arca CLI reads end to end', T, async () => {
    const m = await sdk.projects().inviteMembers({ projectId: made.id, emails: ['alice@example.com'] });
    assert.equal(m.length, 1);
    assert.equal(m[0].projectId, made.id);
    assert.equal(m[0].role, 'member');
    const v = await sdk.projects().inviteMembers({ projectId: made.id, usernames: ['victor@example.com'],
        roleSlugs: ['viewer'] });
    assert.equal(v[0].role, 'viewer');

    const r = await ok(alice.cli, ['secrets', 'get', 'QA_DB', '--plain', '--env', 'qa', '--project-id', made.id]);
    assert.equal(r.stdout, 'postgres://qa\n');
    const run = await ok(alice.cli, ['run', '--env', 'qa', '--project-id', made.id, '--', 'sh', '-c',
        'printf %s "$QA_DB"']);
    assert.equal(run.stdout, 'postgres://qa');

    /* refusals: already a member, unknown person, unknown role */
    let e = await thrown(() => sdk.projects().inviteMembers({ projectId: made.id, emails: ['alice@example.com'] }),
        'already a member');
    assert.match(e.message, /StatusCode=400.*already a member/);
    e = await thrown(() => sdk.projects().inviteMembers({ projectId: made.id, emails: ['nobody@example.com'] }),
        'unknown user');
    assert.match(e.message, /StatusCode=404.*nobody@example.com/);
    e = await thrown(() => sdk.projects().inviteMembers({ projectId: made.id, emails: ['nobody@example.com'],
        roleSlugs: ['wizard'] }), 'unknown role');
    assert.match(e.message, /StatusCode=400.*wizard/);

    /* the membership list shows both people with their roles and public keys */
    const token = await readToken(alice.cli);
    const list = await apiCall(srv, 'GET', `/api/v1/workspace/${made.id}/memberships`, { token });
    assert.equal(list.status, 200, list.text);
    const byEmail = Object.fromEntries(list.json.memberships.map((x) => [x.user.email, x]));
    assert.equal(byEmail['alice@example.com'].roles[0].role, 'member');
    assert.equal(byEmail['victor@example.com'].roles[0].role, 'viewer');
    assert.equal(typeof byEmail['alice@example.com'].user.publicKey, 'string');
});

test('inviteMembers on an end-to-end encrypted project names server access', T, async () => {
    const r = await ok(admin, ['projects', 'create', 'sealed', '--format', 'json']);
    const sealed = JSON.parse(r.stdout);
    const inviter = JSON.parse((await ok(admin, ['identities', 'create', 'inviter', '--project-id',
        sealed.id, '--role', 'admin', '--format', 'json'])).stdout);
    const sdk2nd = new InfisicalSDK({ siteUrl: srv.url });
    await sdk2nd.auth().universalAuth.login({ clientId: inviter.clientId,
        clientSecret: inviter.clientSecret });
    const e = await thrown(() => sdk2nd.projects().inviteMembers({ projectId: sealed.id,
        emails: ['alice@example.com'] }), 'inviteMembers on an end-to-end encrypted project');
    assert.match(e.message, /StatusCode=400/);
    assert.match(e.message, SETTING_RE);
    assert.match(e.message, /arca members add/);
    /* nothing was added */
    const members = await ok(admin, ['members', 'list', '--project-id', sealed.id, '--format', 'json']);
    assert.ok(!members.stdout.includes('alice@example.com'));
});

test('a person creating a project through POST /api/v2/workspace can use the end-to-end CLI on it', T, async () => {
    const token = await readToken(admin);
    const res = await apiCall(srv, 'POST', '/api/v2/workspace', { token, body: { projectName: 'by hand' } });
    assert.equal(res.status, 200, res.text);
    const id = res.json.project.id;
    assert.equal(res.json.project.slug, 'by-hand');
    /* written end to end by the CLI (with the key sealed to the creator), read in
     * plaintext by the server (with its root-key copy): the same key */
    await ok(admin, ['secrets', 'set', 'HAND=made', '--env', 'dev', '--project-id', id]);
    const raw = await apiCall(srv, 'GET', `/api/v3/secrets/raw/HAND?workspaceId=${id}&environment=dev`, { token });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.json.secret.secretValue, 'made');
    /* refusals: no name, an unsupported KMS key, a service token */
    let bad = await apiCall(srv, 'POST', '/api/v2/workspace', { token, body: { slug: 'no-name' } });
    assertApiError(bad, 400, 'BadRequest', bad.text);
    bad = await apiCall(srv, 'POST', '/api/v2/workspace', { token, body: { projectName: 'k', kmsKeyId: 'x' } });
    assertApiError(bad, 400, 'BadRequest', bad.text);
    const audit = await ok(admin, ['audit-logs', 'list', '--project-id', id, '--event', 'project.create',
        '--format', 'json']);
    assert.equal(JSON.parse(audit.stdout).length, 1);
});

test('environment routes: settings are for admins, any member reads an environment', T, async () => {
    const vtoken = await readToken(victor.cli);
    let res = await apiCall(srv, 'POST', `/api/v1/workspace/${made.id}/environments`,
        { token: vtoken, body: { name: 'Nope', slug: 'nope' } });
    assertApiError(res, 403, 'PermissionDenied', res.text);

    const atoken = await readToken(alice.cli); /* a member: settings are admin-only */
    res = await apiCall(srv, 'DELETE', `/api/v1/workspace/${made.id}/environments/${env.id}`, { token: atoken });
    assertApiError(res, 403, 'PermissionDenied', res.text);

    /* GET by id works for any member */
    res = await apiCall(srv, 'GET', `/api/v1/workspace/${made.id}/environments/${env.id}`, { token: vtoken });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.environment.slug, 'qa');
});

test('GET /api/v1/workspace lists the caller\'s projects', T, async () => {
    const token = await readToken(alice.cli);
    const res = await apiCall(srv, 'GET', '/api/v1/workspace', { token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.workspaces.map((w) => w.name), ['Made By SDK']);
    const w = res.json.workspaces[0];
    assert.equal(w._id, made.id);
    assert.equal(w.id, made.id);
    assert.equal(typeof w.orgId, 'string');
    assert.deepEqual(w.environments.map((e) => e.slug), ['dev', 'staging', 'prod', 'qa']);

    const one = await apiCall(srv, 'GET', `/api/v1/workspace/${made.id}`, { token });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.workspace.name, 'Made By SDK');
    /* not a member: 404, like every project route */
    const admintoken = await readToken(admin);
    const no = await apiCall(srv, 'GET', `/api/v1/workspace/${made.id}`, { token: admintoken });
    assertApiError(no, 404, 'NotFound', no.text);
});

test('GET /api/v2/service-token describes the token, without secret material', T, async () => {
    const p = JSON.parse((await ok(admin, ['projects', 'create', 'tokened', '--server-access',
        '--format', 'json'])).stdout);
    const r = await ok(admin, ['service-token', 'create', '--name', 'legacy', '--env=prod',
        '--project-id', p.id]);
    const full = serviceTokenIn(r.stdout);
    const bearer = serviceTokenBearer(full);
    const res = await apiCall(srv, 'GET', '/api/v2/service-token', { token: bearer });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.workspace, p.id);
    assert.equal(res.json.projectId, p.id);
    assert.equal(res.json.name, 'legacy');
    assert.equal(res.json.__v, 0);
    assert.deepEqual(res.json.scopes, [{ environment: 'prod', secretPath: '/' }]);
    assert.deepEqual(res.json.permissions, ['read']);
    for (const k of ['secretHash', 'encryptedKey', 'iv', 'tag', 'encryptedProjectKey'])
        assert.ok(!(k in res.json), `no ${k}`);
    for (const part of full.split('.').slice(2))
        assert.ok(!res.text.includes(part), 'no token part in the body');

    /* a user session is refused */
    const token = await readToken(admin);
    const no = await apiCall(srv, 'GET', '/api/v2/service-token', { token });
    assertApiError(no, 403, 'PermissionDenied', no.text);
});
