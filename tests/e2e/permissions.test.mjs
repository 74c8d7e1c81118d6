// permissions.test.mjs - the permission matrix: every project route of
// docs/api.md against every kind of principal, over real HTTP against the real
// server, with the expected status of each cell written down below.
//
// Setup goes through the CLI (bootstrap, users invite + signup, roles create,
// members add, identities create + login --method=universal-auth, service-token
// create); the few things the CLI has no command for (an identity whose access
// tokens live one second, revoking a token) go over HTTP.  Secret writes over
// HTTP send made-up ciphertext records (0x01 ‖ random): the server checks only
// their format.
//
// Expected: 200 allowed, 400 allowed but the (deliberately incomplete) body is
// refused, 403 denied by role, 404 not a member / another project (no
// existence oracle), 401 no, bad, expired or revoked token.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
    apiCall, bootstrapAndLogin, createProject, fakeRecord, inviteAndSignup, newCli,
    readCredentialMatching, readToken, removeTempDirs, serviceTokenBearer, serviceTokenIn,
    startServer, waitFor, REQ_ID_RE,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';

/* The principals, in the order of the table's columns. */
const PRINCIPALS = [
    'owner', /*      the bootstrap administrator, project admin (creator) */
    'admin', /*      invited user, project role admin */
    'member', /*     project role member */
    'viewer', /*     project role viewer */
    'no-access', /*  project role no-access */
    'developer', /*  custom: secrets:read,create,edit,delete:dev,staging:/**, deny secrets:*:prod:/** */
    'describer', /*  custom: secrets:describe:*:/** */
    'identity', /*   machine identity, project role viewer (CLI universal-auth login) */
    'st-read', /*    service token, prod:/, read */
    'st-write', /*   service token, prod:/, read-write */
    'st-expired', /* service token --expires-in 1s, after it expired */
    'id-expired', /* identity access token with a 1-second TTL, after it expired */
    'st-revoked', /* revoked service token */
    'id-revoked', /* revoked identity access token */
    'outsider', /*   user of the organization, not a member of the project (has a project of their own) */
    'st-other', /*   service token of the outsider's project */
    'no-token', /*   no Authorization header */
    'bad-token', /*  a made-up session token */
];

/* The expected status of each route (rows) for each principal (columns, as above). */
/* eslint-disable max-len */
const EXPECTED = {
    //                         own adm mem vie noa dev des idn st-r st-w st-x id-x st-v id-v out st-o none bad
    'project get': /*       */ '200 200 200 200 200 200 200 200 200 200 401 401 401 401 404 404 401 401',
    'secrets list prod': /* */ '200 200 200 200 403 403 200 200 200 200 401 401 401 401 404 404 401 401',
    'secrets list dev': /*  */ '200 200 200 200 403 200 200 200 403 403 401 401 401 401 404 404 401 401',
    'secret get prod': /*   */ '200 200 200 200 403 403 403 200 200 200 401 401 401 401 404 404 401 401',
    'secret get dev': /*    */ '200 200 200 200 403 200 403 200 403 403 401 401 401 401 404 404 401 401',
    'secret versions prod': '200 200 200 200 403 403 403 200 200 200 401 401 401 401 404 404 401 401',
    'batch create prod': /* */ '200 200 200 403 403 403 403 403 403 200 401 401 401 401 404 404 401 401',
    'batch create dev': /*  */ '200 200 200 403 403 200 403 403 403 403 401 401 401 401 404 404 401 401',
    'batch update prod': /* */ '200 200 200 403 403 403 403 403 403 200 401 401 401 401 404 404 401 401',
    'secret delete prod': /**/ '200 200 200 403 403 403 403 403 403 200 401 401 401 401 404 404 401 401',
    'rollback key prod': /* */ '200 200 200 403 403 403 403 403 403 200 401 401 401 401 404 404 401 401',
    'rollback folder prod': '200 200 200 403 403 403 403 403 403 200 401 401 401 401 404 404 401 401',
    'members list': /*      */ '200 200 200 200 403 403 403 200 403 403 401 401 401 401 404 404 401 401',
    'members add': /*       */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'members update': /*    */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'members remove': /*    */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'roles list': /*        */ '200 200 200 200 403 403 403 200 403 403 401 401 401 401 404 404 401 401',
    'roles create': /*      */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'roles delete': /*      */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'service tokens create': '200 200 200 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'service tokens list': '200 200 200 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'service tokens revoke': '200 200 200 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'audit-logs list': /*   */ '200 200 200 200 403 403 403 200 403 403 401 401 401 401 404 404 401 401',
    'project versions': /*  */ '200 200 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
    'rotate-key': /*        */ '400 400 403 403 403 403 403 403 403 403 401 401 401 401 404 404 401 401',
};
/* eslint-enable max-len */

const ERROR_NAME = { 400: 'BadRequest', 401: 'UnauthorizedError', 403: 'PermissionDenied',
    404: 'NotFound' };

let srv;
let owner; /* CLI context of the bootstrap administrator */
let project; /* the project under test */
let other; /* the outsider's own project */
let tokens = {}; /* principal -> bearer token (null for no-token) */
let ids = {}; /* user and identity ids */
let spareTokenId; /* a service token the denied principals try to revoke */
let tSetupIso; /* a time after every setup write, before the matrix */
const people = {};

const keyFor = (p) => p.replace(/-/g, '_').toUpperCase();
const slugFor = (p) => `r-${p}`;
const q = (env) => `environment=${env}&secretPath=%2F`;

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

async function me(token) {
    const r = await apiCall(srv, 'GET', `${V1}/users/me`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json.user.id;
}

/* The routes, in the order each principal calls them.  state: per principal,
 * what an earlier call of the same principal made (a service token id). */
function routes(p, state) {
    const P = `${V1}/projects/${project.id}`;
    const K = keyFor(p);
    return {
        'project get': ['GET', P],
        'secrets list prod': ['GET', `${P}/secrets?${q('prod')}`],
        'secrets list dev': ['GET', `${P}/secrets?${q('dev')}`],
        'secret get prod': ['GET', `${P}/secrets/KEY?${q('prod')}`],
        'secret get dev': ['GET', `${P}/secrets/DEVKEY?${q('dev')}`],
        'secret versions prod': ['GET', `${P}/secrets/KEY/versions?${q('prod')}`],
        'batch create prod': ['POST', `${P}/secrets/batch`,
            { environment: 'prod', secretPath: '/', secrets: [{ key: `C_${K}`, value: fakeRecord() }] }],
        'batch create dev': ['POST', `${P}/secrets/batch`,
            { environment: 'dev', secretPath: '/', secrets: [{ key: `CD_${K}`, value: fakeRecord() }] }],
        'batch update prod': ['POST', `${P}/secrets/batch`,
            { environment: 'prod', secretPath: '/', secrets: [{ key: 'UPD', value: fakeRecord() }] }],
        'secret delete prod': ['DELETE', `${P}/secrets/DEL_${K}?${q('prod')}`],
        'rollback key prod': ['POST', `${P}/secrets/UPD/rollback`,
            { environment: 'prod', secretPath: '/', version: 1 }],
        'rollback folder prod': ['POST', `${P}/secrets/rollback`,
            { environment: 'prod', secretPath: '/', to: tSetupIso }],
        'members list': ['GET', `${P}/members`],
        'members add': ['POST', `${P}/members`, { principalType: 'user', principalId: ids.spare,
            role: 'viewer', encryptedProjectKey: randomBytes(80).toString('base64') }],
        'members update': ['PATCH', `${P}/members/${ids.spare}`, { role: 'member' }],
        'members remove': ['DELETE', `${P}/members/${ids.spare}`],
        'roles list': ['GET', `${P}/roles`],
        'roles create': ['POST', `${P}/roles`, { slug: slugFor(p),
            rules: [{ subject: 'secrets', actions: ['read'], environments: ['dev'] }] }],
        'roles delete': ['DELETE', `${P}/roles/${slugFor(p)}`],
        'service tokens create': ['POST', `${P}/service-tokens`, { name: `t-${p}`,
            scopes: [{ environment: 'prod', secretPath: '/' }], access: 'read', expiresIn: 0,
            encryptedProjectKey: fakeRecord(73) }],
        'service tokens list': ['GET', `${P}/service-tokens`],
        'service tokens revoke': ['DELETE', `${P}/service-tokens/${state.tokenId ?? spareTokenId}`],
        'audit-logs list': ['GET', `${V1}/audit-logs?projectId=${project.id}&limit=5`],
        'project versions': ['GET', `${P}/versions`],
        'rotate-key': ['POST', `${P}/rotate-key`, { members: [], versions: [] }],
    };
}

const ROUTE_NAMES = Object.keys(EXPECTED);
const CELLS = ROUTE_NAMES.length * PRINCIPALS.length;

/* Creates a service token with the CLI; returns {full, bearer, id}. */
async function cliServiceToken(c, projectId, name, extra) {
    const r = await ok(c, ['service-token', 'create', '--name', name, '--project-id', projectId,
        ...extra, '--format', 'json']);
    const full = serviceTokenIn(r.stdout);
    const bearer = serviceTokenBearer(full);
    return { full, bearer, id: bearer.split('.')[1] };
}

/* An identity made over HTTP (the server checks only formats): ttl seconds. */
async function httpIdentity(name, ttl) {
    const authKey = randomBytes(32).toString('base64');
    const r = await apiCall(srv, 'POST', `${V1}/identities`, { token: tokens.owner, body: {
        name, publicKey: randomBytes(32).toString('base64'),
        clientSecret: { authKey, encryptedPrivateKey: fakeRecord(73), prefix: 'test' },
        accessTokenTTL: ttl, accessTokenMaxTTL: ttl } });
    assert.equal(r.status, 200, `POST /identities: ${r.text}`);
    const id = r.json.identity;
    const m = await apiCall(srv, 'POST', `${V1}/projects/${project.id}/members`, { token: tokens.owner,
        body: { principalType: 'identity', principalId: id.id, role: 'viewer',
            encryptedProjectKey: randomBytes(80).toString('base64') } });
    assert.equal(m.status, 200, `members add identity: ${m.text}`);
    const l = await apiCall(srv, 'POST', `${V1}/auth/identity/login`,
        { body: { clientId: id.clientId, authKey } });
    assert.equal(l.status, 200, `identity login: ${l.text}`);
    assert.match(l.json.accessToken, /^arca_i_/);
    return l.json.accessToken;
}

before(async () => {
    srv = await startServer();
    owner = await newCli(srv);
    await bootstrapAndLogin(owner, { email: 'owner@example.com' });
    tokens.owner = await readToken(owner);
    ids.owner = await me(tokens.owner);
    project = await createProject(owner, 'permissions');
    const pid = ['--project-id', project.id];

    /* people */
    for (const p of ['admin', 'member', 'viewer', 'no-access', 'developer', 'describer', 'outsider',
        'spare'])
        people[p] = await inviteAndSignup(owner, srv, `${p}@example.com`);
    for (const p of Object.keys(people)) {
        tokens[p] = await readToken(people[p].cli);
        ids[p] = await me(tokens[p]);
    }

    /* custom roles, members */
    await ok(owner, ['roles', 'create', 'developer', ...pid,
        '--allow', 'secrets:read,create,edit,delete:dev,staging:/**', '--deny', 'secrets:*:prod:/**']);
    await ok(owner, ['roles', 'create', 'describer', ...pid, '--allow', 'secrets:describe:*:/**']);
    for (const [p, role] of [['admin', 'admin'], ['member', 'member'], ['viewer', 'viewer'],
        ['no-access', 'no-access'], ['developer', 'developer'], ['describer', 'describer']])
        await ok(owner, ['members', 'add', `${p}@example.com`, '--role', role, ...pid]);

    /* machine identity through the CLI */
    const ir = await ok(owner, ['identities', 'create', 'ci-bot', ...pid, '--role', 'viewer',
        '--format', 'json']);
    const ident = JSON.parse(ir.stdout);
    for (const k of ['identityId', 'clientId', 'clientSecret'])
        assert.equal(typeof ident[k], 'string', `identities create --format json has ${k}`);
    const idCli = await newCli(srv);
    await ok(idCli, ['login', '--method=universal-auth', '--client-id', ident.clientId,
        '--client-secret', ident.clientSecret]);
    tokens.identity = await readCredentialMatching(idCli, /^arca_i_/);

    /* secrets, written (and encrypted) by the CLI */
    const dels = PRINCIPALS.map((p) => `DEL_${keyFor(p)}=gone-${p}`);
    await ok(owner, ['secrets', 'set', 'KEY=prod-value', 'UPD=v1', ...dels, '--env', 'prod', ...pid]);
    await ok(owner, ['secrets', 'set', 'DEVKEY=dev-value', '--env', 'dev', ...pid]);

    /* service tokens */
    tokens['st-read'] = (await cliServiceToken(owner, project.id, 'read only',
        ['--env=prod', '--path', '/', '--access', 'read'])).bearer;
    tokens['st-write'] = (await cliServiceToken(owner, project.id, 'read write',
        ['--env=prod', '--path', '/', '--access', 'read-write'])).bearer;
    tokens['st-expired'] = (await cliServiceToken(owner, project.id, 'short lived',
        ['--env=prod', '--path', '/', '--expires-in', '1s'])).bearer;
    const revoked = await cliServiceToken(owner, project.id, 'revoked', ['--env=prod', '--path', '/']);
    tokens['st-revoked'] = revoked.bearer;
    spareTokenId = (await cliServiceToken(owner, project.id, 'spare', ['--env=prod', '--path', '/'])).id;
    const rv = await apiCall(srv, 'DELETE',
        `${V1}/projects/${project.id}/service-tokens/${revoked.id}`, { token: tokens.owner });
    assert.equal(rv.status, 200, `revoke service token: ${rv.text}`);

    /* the outsider's own project and its service token */
    other = await createProject(people.outsider.cli, 'elsewhere');
    await ok(people.outsider.cli, ['secrets', 'set', 'KEY=elsewhere', '--env', 'prod',
        '--project-id', other.id]);
    tokens['st-other'] = (await cliServiceToken(people.outsider.cli, other.id, 'other project',
        ['--env=prod', '--path', '/'])).bearer;

    /* identity access tokens: one that expires after a second, one revoked */
    tokens['id-expired'] = await httpIdentity('short-lived-bot', 1);
    tokens['id-revoked'] = await httpIdentity('revoked-bot', 7200);
    const rt = await apiCall(srv, 'POST', `${V1}/auth/token/revoke`,
        { body: { accessToken: tokens['id-revoked'] } });
    assert.equal(rt.status, 200, `token revoke: ${rt.text}`);

    tokens['no-token'] = null;
    tokens['bad-token'] = 'arca_s_' + randomBytes(32).toString('base64url');

    /* the expiring tokens work, then stop working (polled, not slept) */
    for (const p of ['st-expired', 'id-expired'])
        await waitFor(async () => (await apiCall(srv, 'GET', `${V1}/projects/${project.id}`,
            { token: tokens[p] })).status === 401, { timeoutMs: 30000, what: `${p} to expire` });

    /* a whole second after every setup write: the folder rollback's target */
    const t = Math.ceil((Date.now() + 1) / 1000) * 1000;
    tSetupIso = new Date(t).toISOString().replace(/\.000Z$/, 'Z');
    await waitFor(() => Date.now() > t + 50, { timeoutMs: 5000, intervalMs: 50, what: 'the clock' });
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test(`the permission matrix: ${ROUTE_NAMES.length} routes × ${PRINCIPALS.length} principals = ` +
    `${CELLS} requests`, T, async (t) => {
    for (const [route, row] of Object.entries(EXPECTED))
        assert.equal(row.trim().split(/\s+/).length, PRINCIPALS.length, `row '${route}' has a cell per principal`);
    const mismatches = [];
    for (const [pi, p] of PRINCIPALS.entries()) {
        const state = {};
        for (const route of ROUTE_NAMES) {
            const [method, url, body] = routes(p, state)[route];
            const want = Number(EXPECTED[route].trim().split(/\s+/)[pi]);
            const res = await apiCall(srv, method, url, { token: tokens[p], body });
            if (route === 'service tokens create' && res.status === 200)
                state.tokenId = res.json?.serviceTokenData?.id;
            let why = null;
            if (res.status !== want) {
                why = `got ${res.status}`;
            } else if (want >= 400) {
                const b = res.json;
                if (!b || b.statusCode !== want || b.error !== ERROR_NAME[want] ||
                    typeof b.message !== 'string' || !REQ_ID_RE.test(b.reqId ?? ''))
                    why = `bad error body`;
                else if (want === 403 && !/not allowed|cannot/.test(b.message))
                    why = `403 message does not say what is not allowed`;
            }
            if (why)
                mismatches.push(`${route} as ${p} (${method} ${url.replace(V1, '')}): want ${want}, ` +
                    `${why}: ${res.text.slice(0, 200)}`);
        }
    }
    t.diagnostic(`${CELLS} cells, ${mismatches.length} wrong`);
    assert.deepEqual(mismatches, [], `${mismatches.length} of ${CELLS} cells differ from the table`);
});

test('a describe-only role lists names and versions with value: null, never ciphertext', T, async () => {
    const r = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets?${q('prod')}`,
        { token: tokens.describer });
    assert.equal(r.status, 200, r.text);
    const keys = r.json.secrets.map((s) => s.key);
    assert.ok(keys.includes('KEY') && keys.includes('UPD'), `names are listed: ${keys}`);
    for (const s of r.json.secrets) {
        assert.equal(s.value, null, `${s.key}: value is null`);
        assert.ok(s.comment === null || s.comment === undefined, `${s.key}: no comment ciphertext`);
        assert.equal(typeof s.version, 'number');
    }
    /* the same list for a reader carries ciphertext records */
    const full = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets?${q('prod')}`,
        { token: tokens.viewer });
    assert.equal(full.status, 200);
    assert.ok(full.json.secrets.every((s) => typeof s.value === 'string' && s.value.length > 0));
    /* the CLI of a describe-only member cannot get values, nor history */
    const c = people.describer.cli;
    for (const args of [['secrets', 'get', 'KEY'], ['secrets', 'history', 'KEY']]) {
        const g = await c.arca([...args, '--env', 'prod', '--project-id', project.id]);
        assert.equal(g.code, 3, `arca ${args.join(' ')} as describe-only: exit 3 (${g.stderr})`);
        assert.doesNotMatch(g.stdout, /prod-value/);
    }
});

test('history needs read: describe-only and out-of-scope principals get 403, readers the versions', T,
    async () => {
        const url = `${V1}/projects/${project.id}/secrets/KEY/versions?${q('prod')}`;
        for (const p of ['describer', 'developer', 'no-access'])
            assert.equal((await apiCall(srv, 'GET', url, { token: tokens[p] })).status, 403, p);
        for (const p of ['viewer', 'identity', 'st-read']) {
            const r = await apiCall(srv, 'GET', url, { token: tokens[p] });
            assert.equal(r.status, 200, `${p}: ${r.text}`);
            assert.ok(r.json.versions.length >= 1);
            assert.equal(typeof r.json.versions[0].value, 'string');
        }
    });

test('a viewer lists the members; a non-member gets 404 (not 403) and does not see the project', T,
    async () => {
        const r = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/members`,
            { token: tokens.viewer });
        assert.equal(r.status, 200, r.text);
        const byName = Object.fromEntries(r.json.members.map((m) => [m.name, m]));
        assert.equal(byName['viewer@example.com']?.role, 'viewer');
        assert.equal(byName['developer@example.com']?.role, 'developer');
        assert.equal(byName['ci-bot']?.principalType, 'identity');
        assert.ok(!byName['outsider@example.com'], 'the outsider is not a member');

        for (const [method, url] of [['GET', `${V1}/projects/${project.id}`],
            ['GET', `${V1}/projects/${project.id}/secrets?${q('prod')}`],
            ['GET', `${V1}/projects/${project.id}/members`]]) {
            const res = await apiCall(srv, method, url, { token: tokens.outsider });
            assert.equal(res.status, 404, `${url}: ${res.text}`);
            /* the same answer as for a project that does not exist */
            const none = await apiCall(srv, method,
                url.replace(project.id, '00000000-0000-4000-8000-000000000000'), { token: tokens.outsider });
            assert.equal(none.status, 404);
            assert.equal(res.json.error, none.json.error);
        }
        const list = await apiCall(srv, 'GET', `${V1}/projects`, { token: tokens.outsider });
        assert.equal(list.status, 200);
        assert.deepEqual(list.json.projects.map((p) => p.id), [other.id], 'only their own project');
        /* and the CLI says "not found" (exit 4), printing nothing */
        const g = await people.outsider.cli.arca(['secrets', 'get', 'KEY', '--env', 'prod',
            '--project-id', project.id]);
        assert.equal(g.code, 4, g.stderr);
        assert.equal(g.stdout, '');
    });

test('a denial is 403 PermissionDenied naming action, subject and place', T, async () => {
    const r = await apiCall(srv, 'POST', `${V1}/projects/${project.id}/secrets/batch`,
        { token: tokens.developer,
            body: { environment: 'prod', secretPath: '/', secrets: [{ key: 'NOPE', value: fakeRecord() }] } });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error, 'PermissionDenied');
    assert.match(r.json.message, /you are not allowed to \w+ secrets in prod:\//);
    /* nothing was written */
    const l = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets/NOPE?${q('prod')}`,
        { token: tokens.owner });
    assert.equal(l.status, 404);
});

test('a service token only reaches its own scope and cannot outgrow its creator', T, async () => {
    /* out of scope: dev */
    let r = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets?${q('dev')}`,
        { token: tokens['st-write'] });
    assert.equal(r.status, 403, r.text);
    /* the token's own description */
    r = await apiCall(srv, 'GET', `${V1}/service-token`, { token: tokens['st-read'] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.serviceTokenData.projectId, project.id);
    assert.equal(r.json.serviceTokenData.access, 'read');
    /* a viewer cannot create a token at all; the developer cannot make one for prod */
    for (const p of ['viewer', 'developer']) {
        r = await apiCall(srv, 'POST', `${V1}/projects/${project.id}/service-tokens`, { token: tokens[p],
            body: { name: 'sneaky', scopes: [{ environment: 'prod', secretPath: '/' }], access: 'read',
                expiresIn: 0, encryptedProjectKey: fakeRecord(73) } });
        assert.equal(r.status, 403, `${p}: ${r.text}`);
    }
    /* the CLI refuses too, exit 3 */
    const c = await people.viewer.cli.arca(['service-token', 'create', '--name', 'x', '--env=prod',
        '--project-id', project.id]);
    assert.equal(c.code, 3, c.stderr);
    assert.doesNotMatch(c.stdout, /st\./);
});

test('near-miss names: a role for prod:/a/** reads neither production nor /ab; a deny of prod ' +
    'leaves production alone', T, async () => {
    const pid = ['--project-id', project.id];
    await ok(owner, ['environments', 'add', 'production', ...pid]);
    for (const [env, p] of [['prod', '/a'], ['prod', '/ab'], ['production', '/a'], ['production', '/ab']])
        await ok(owner, ['secrets', 'set', `NEAR=${env}${p}`, '--env', env, '--path', p, ...pid]);
    await ok(owner, ['roles', 'create', 'prod-a', ...pid, '--allow', 'secrets:read:prod:/a/**']);
    await ok(owner, ['roles', 'create', 'not-prod', ...pid, '--allow', 'secrets:read:*:/**',
        '--deny', 'secrets:*:prod:/**', '--deny', 'secrets:*:*:/a/**']);
    const near = {};
    for (const role of ['prod-a', 'not-prod']) {
        const u = await inviteAndSignup(owner, srv, `${role}@example.com`);
        await ok(owner, ['members', 'add', `${role}@example.com`, '--role', role, ...pid]);
        near[role] = await readToken(u.cli);
    }
    const get = (role, env, p) => apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets/NEAR?` +
        `environment=${env}&secretPath=${encodeURIComponent(p)}`, { token: near[role] });
    const want = [
        ['prod-a', 'prod', '/a', 200], ['prod-a', 'prod', '/ab', 403], ['prod-a', 'production', '/a', 403],
        ['prod-a', 'production', '/ab', 403],
        ['not-prod', 'prod', '/ab', 403], ['not-prod', 'production', '/ab', 200],
        ['not-prod', 'production', '/a', 403], ['not-prod', 'prod', '/a', 403],
    ];
    const wrong = [];
    for (const [role, env, p, status] of want) {
        const r = await get(role, env, p);
        if (r.status !== status)
            wrong.push(`${role} reading ${env}:${p}: want ${status}, got ${r.status} ${r.text.slice(0, 120)}`);
    }
    assert.deepEqual(wrong, []);
});
