// grants.test.mjs - nobody grants, assigns or mints a right they do not hold
// (issue 11, items 1-3), against the real server and CLI:
//  - a service token's scopes stay within its creator's role for every
//    environment and folder its pattern matches, deny rules included, and at
//    each use within the creator's role of the moment;
//  - members: nobody gives, changes or takes away a role with a right they lack,
//    nobody changes their own role, the last admin stays; the same for custom
//    roles and for identities added to projects;
//  - an identity never makes or revokes its own client secrets, and an admin
//    makes one only when they hold the identity's roles;
//  - a sample of the grant property test (tests/unit/test_authz.c) through
//    HTTP: random roles, random grants, the answer checked by brute force here.
//
// Setup goes through the CLI; requests whose status matters go over HTTP too.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
    apiCall, assertErrorOutput, bootstrapAndLogin, createProject, fakeRecord, inviteAndSignup,
    newCli, readCredentialMatching, readToken, removeTempDirs, serviceTokenBearer, serviceTokenIn,
    startServer,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';

let srv, owner, project, pid, P;
const people = {}; /* name -> {cli, email, token, id} */

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

async function refused(c, args, exit, re) {
    const r = await c.arca(args);
    assertErrorOutput(r, exit);
    assert.match(r.stderr, re, `arca ${args.join(' ')}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    return r;
}

async function me(token) {
    const r = await apiCall(srv, 'GET', `${V1}/users/me`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json.user.id;
}

async function person(name, role) {
    const p = await inviteAndSignup(owner, srv, `${name}@example.com`);
    p.token = await readToken(p.cli);
    p.id = await me(p.token);
    if (role)
        await ok(owner, ['members', 'add', p.email, '--role', role, ...pid]);
    people[name] = p;
    return p;
}

async function role(slug, ...specs) {
    await ok(owner, ['roles', 'create', slug, ...pid, ...specs]);
}

/* The status of a request, with its message checked for a refusal. */
async function call(who, method, route, body, want, re) {
    const r = await apiCall(srv, method, route, { token: who.token, body });
    assert.equal(r.status, want, `${method} ${route}: ${r.text}`);
    if (re)
        assert.match(r.json.message, re);
    return r;
}

before(async () => {
    srv = await startServer();
    owner = await newCli(srv);
    await bootstrapAndLogin(owner, { email: 'owner@example.com' });
    owner.token = await readToken(owner);
    owner.id = await me(owner.token);
    project = await createProject(owner, 'grants');
    pid = ['--project-id', project.id];
    P = `${V1}/projects/${project.id}`;
    /* a near-miss environment next to prod */
    await ok(owner, ['environments', 'add', 'production', ...pid]);
    await ok(owner, ['secrets', 'set', 'TOP=top', '--env', 'dev', ...pid]);
    await ok(owner, ['secrets', 'set', 'PASSWORD=hunter2', '--env', 'dev', '--path', '/secret',
        ...pid]);
    await ok(owner, ['secrets', 'set', 'DEEP=deep', '--env', 'dev', '--path', '/a/b', ...pid]);
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

/* Item 1: allowed secrets:read on dev:/ only, a token for dev:/** read every
 * folder below; a deny rule was bypassed the same way. */
test('a service token never exceeds its creator, deny rules and near misses included', T,
    async () => {
        await role('root-reader', '--allow', 'secrets:read:dev:/', '--allow', 'service-tokens:*');
        await role('no-secret', '--allow', 'secrets:read:dev:/**', '--deny',
            'secrets:read:dev:/secret/**', '--allow', 'service-tokens:*');
        await role('prod-reader', '--allow', 'secrets:read:prod:/**', '--allow', 'service-tokens:*');
        const alice = await person('alice', 'root-reader');
        const bob = await person('bob', 'no-secret');
        const carol = await person('carol', 'prod-reader');
        const st = (env, path, ...more) => ['service-token', 'create', '--name', 't', '--env',
            env, '--path', path, ...more, ...pid];

        /* the finding: dev:/ only, but a token for everything below it */
        await refused(alice.cli, st('dev', '/**'), 3, /secrets:read in dev:\/<other>/);
        await refused(alice.cli, st('dev', '/*'), 3, /secrets:read in dev:\/<other>/);
        await refused(alice.cli, st('dev', '/', '--access', 'read-write'), 3,
            /secrets:create in dev:\//);
        await refused(alice.cli, st('prod', '/'), 3, /secrets:read in prod:\//);
        const good = serviceTokenBearer(serviceTokenIn((await ok(alice.cli, st('dev', '/'))).stdout));
        const tok = { token: good };
        await call(tok, 'GET', `${P}/secrets?environment=dev&secretPath=%2F`, undefined, 200);
        await call(tok, 'GET', `${P}/secrets?environment=dev&secretPath=%2Fsecret`, undefined, 403);

        /* a deny rule is not bypassed by a wider pattern */
        await refused(bob.cli, st('dev', '/**'), 3, /secrets:read in dev:\/secret/);
        await refused(bob.cli, st('dev', '/secret/*'), 3, /dev:\/secret\/<other>/);
        await ok(bob.cli, st('dev', '/a/**'));
        await ok(bob.cli, st('dev', '/secretive')); /* a near-miss folder is not /secret */
        /* a wildcard inside a name is compared as its whole starting folder, and said so */
        await refused(bob.cli, st('dev', '/sec*'), 3, /FOLDER\/\*\*/);

        /* prod is not production */
        await refused(carol.cli, st('production', '/'), 3, /secrets:read in production:\//);
        await ok(carol.cli, st('prod', '/'));

        /* over HTTP as well, and an admin may create any pattern */
        const body = (env, secretPath) => ({ name: 'h', access: 'read', expiresIn: 0,
            scopes: [{ environment: env, secretPath }], encryptedProjectKey: fakeRecord(73) });
        await call(alice, 'POST', `${P}/service-tokens`, body('dev', '/**'), 403,
            /cannot create this service token: it would give secrets:read in dev:\/<other>/);
        await call(owner, 'POST', `${P}/service-tokens`, body('dev', '/app-*/**'), 200);

        /* a token never does more than its creator may now: a narrower role narrows it,
         * and it ends when its creator leaves the project */
        const list = `${P}/secrets?environment=dev&secretPath=%2F`;
        await call(tok, 'GET', list, undefined, 200);
        await ok(owner, ['members', 'update', alice.email, '--role', 'prod-reader', ...pid]);
        await call(tok, 'GET', list, undefined, 403);
        await ok(owner, ['members', 'update', alice.email, '--role', 'root-reader', ...pid]);
        await call(tok, 'GET', list, undefined, 200);
        await ok(owner, ['members', 'remove', alice.email, ...pid]);
        await call(tok, 'GET', list, undefined, 401, /creator is no longer a member/);
    });

/* Item 2: members:edit set its own role to admin; members:create added an admin. */
test('members and roles: nobody gives, changes or removes a role beyond their own', T,
    async () => {
        /* covers viewer, not member or admin */
        await role('people-manager', '--allow', 'members:*', '--allow', 'roles:*', '--allow',
            'identities:read', '--allow', 'audit-logs:read', '--allow', 'secrets:read:*',
            '--allow', 'folders:read:*');
        const ed = await person('editor', 'people-manager');
        const second = await person('second');
        const admin2 = await person('admin2', 'admin');
        const m = (id) => `${P}/members/${id}`;

        /* nobody changes their own role */
        await refused(ed.cli, ['members', 'update', ed.email, '--role', 'admin', ...pid], 3,
            /cannot change your own role/);
        await call(ed, 'PATCH', m(ed.id), { role: 'admin' }, 403, /your own role/);
        await call(ed, 'PATCH', m(ed.id), { role: 'viewer' }, 403, /your own role/);

        /* no one is added with more than the adder holds */
        await refused(ed.cli, ['members', 'add', second.email, '--role', 'admin', ...pid], 3,
            /cannot give role 'admin': it would give secrets:create/);
        await refused(ed.cli, ['members', 'add', second.email, '--role', 'member', ...pid], 3,
            /which your role 'people-manager' does not allow/);
        await ok(ed.cli, ['members', 'add', second.email, '--role', 'viewer', ...pid]);
        /* nor promoted beyond it, and no stronger member demoted or removed */
        await call(ed, 'PATCH', m(second.id), { role: 'member' }, 403, /give role 'member'/);
        await call(ed, 'PATCH', m(admin2.id), { role: 'viewer' }, 403,
            /change the role of a member whose role is 'admin'/);
        await refused(ed.cli, ['members', 'remove', admin2.email, ...pid], 3,
            /remove a member whose role is 'admin'/);
        await call(ed, 'PATCH', m(second.id), { role: 'no-access' }, 200);
        await call(ed, 'DELETE', m(second.id), undefined, 200);

        /* custom roles: created only within the creator's rights */
        await refused(ed.cli, ['roles', 'create', 'god', '--allow', 'settings:*', ...pid], 3,
            /cannot create role 'god': it would give settings:read/);
        await call(ed, 'POST', `${P}/roles`, { slug: 'tokens', rules: [{ subject:
            'service-tokens', actions: ['create'] }] }, 403, /service-tokens:create/);
        await ok(ed.cli, ['roles', 'create', 'dev-reader', '--allow', 'secrets:read:dev', ...pid]);

        /* identities added to projects: the same rule */
        await ok(owner, ['identities', 'create', 'grant-bot']);
        await refused(ed.cli, ['members', 'add', '--identity', 'grant-bot', '--role', 'admin', ...pid],
            3, /cannot give role 'admin'/);
        await ok(ed.cli, ['members', 'add', '--identity', 'grant-bot', '--role', 'dev-reader', ...pid]);

        /* the Infisical-compatible route too */
        const ws = `/api/v2/workspace/${project.id}/memberships`;
        await call(ed, 'POST', ws, { emails: [second.email], roleSlugs: ['admin'] }, 403,
            /cannot give role 'admin'/);

        /* an admin may change another admin; the last admin stays */
        await call(admin2, 'PATCH', m(owner.id), { role: 'member' }, 200);
        await call(admin2, 'PATCH', m(admin2.id), { role: 'member' }, 403, /your own role/);
        await call(admin2, 'DELETE', m(admin2.id), undefined, 409, /last admin/);
        await call(owner, 'PATCH', m(admin2.id), { role: 'member' }, 403, /not allowed to edit members/);
        await call(admin2, 'PATCH', m(owner.id), { role: 'admin' }, 200);
        await call(owner, 'DELETE', m(admin2.id), undefined, 200);
        await call(owner, 'PATCH', m(owner.id), { role: 'member' }, 403, /your own role/);
        await call(owner, 'DELETE', m(owner.id), undefined, 409, /last admin/);
    });

/* Item 3: with only its access token, an identity made itself a client secret
 * that never expires, and kept access after its secrets were revoked. */
test('an identity never makes or revokes its own client secrets; admins only within theirs', T,
    async () => {
        const r = await ok(owner, ['identities', 'create', 'self-minter', ...pid, '--role', 'member',
            '--format', 'json']);
        const ident = JSON.parse(r.stdout);
        const idCli = await newCli(srv);
        await ok(idCli, ['login', '--method=universal-auth', '--client-id', ident.clientId,
            '--client-secret', ident.clientSecret]);
        const self = { token: await readCredentialMatching(idCli, /^arca_i_/) };
        const CS = `${V1}/identities/${ident.identityId}/client-secrets`;
        const secretBody = () => ({ authKey: randomBytes(32).toString('base64'),
            encryptedPrivateKey: fakeRecord(73), prefix: 'p' });

        await refused(idCli, ['identities', 'client-secret', 'create', '--identity', 'self-minter'],
            3, /cannot make or revoke its own client secrets/);
        await call(self, 'POST', CS, secretBody(), 403, /its own client secrets/);
        const own = await call(self, 'GET', CS, undefined, 200); /* it may still list them */
        assert.equal(own.json.clientSecrets.length, 1);
        await call(self, 'DELETE', `${CS}/${own.json.clientSecrets[0].id}`, undefined, 403,
            /its own client secrets/);

        /* an organization admin who is not in the identity's project, or holds less there */
        const oadm = await inviteAndSignup(owner, srv, 'org-admin3@example.com', { orgRole: 'admin' });
        oadm.token = await readToken(oadm.cli);
        await call(oadm, 'POST', CS, secretBody(), 403,
            /member of project 'grants', which you are not/);
        await ok(owner, ['members', 'add', 'org-admin3@example.com', '--role', 'viewer', ...pid]);
        await call(oadm, 'POST', CS, secretBody(), 403,
            /give identity 'self-minter' a client secret: in project 'grants' it has role 'member'/);
        await refused(oadm.cli, ['identities', 'client-secret', 'create', '--identity',
            'self-minter'], 3, /it has role 'member'/);
        /* the project's admin, an organization admin, may: a new key pair, the old secret
         * and the identity's tokens revoked */
        await call(owner, 'POST', CS, secretBody(), 200);
        const made = await ok(owner, ['identities', 'client-secret', 'create', '--identity',
            'self-minter', '--format', 'json']);
        const fresh = JSON.parse(made.stdout).clientSecret;
        const list = await call(owner, 'GET', CS, undefined, 200);
        assert.equal(list.json.clientSecrets.length, 3);
        assert.equal(list.json.clientSecrets.filter((x) => !x.revoked).length, 1);
        await call(self, 'GET', `${V1}/identities`, undefined, 401);
        const again = await newCli(srv);
        await ok(again, ['login', '--method=universal-auth', '--client-id', ident.clientId,
            '--client-secret', fresh]);
        const top = await ok(again, ['secrets', 'get', 'TOP', '--env', 'dev', '--plain', ...pid]);
        assert.equal(top.stdout.trim(), 'top');
    });

/* ---- the grant property, sampled through the server ---- */

const SUBJECTS = ['secrets', 'folders', 'members', 'roles', 'identities', 'service-tokens',
    'audit-logs', 'settings'];
const ACTIONS = ['read', 'create', 'edit', 'delete', 'describe'];
const ENVS = ['dev', 'staging', 'prod', 'production'];
const GLOBS = ['/', '/**', '/*', '/app', '/app/**', '/app/*', '/app/api', '/app/api/**',
    '/secret', '/secret/**', '/secret/*'];
/* every class of folder those globs tell apart, names no rule mentions, and
 * "none given" (null); the same for environments */
const U_PATHS = ['/', '/app', '/app/api', '/app/api/v1', '/app/api/v1/x', '/app/zz', '/app/zz/zz',
    '/application', '/secret', '/secret/x', '/secret/x/y', '/secretive', '/zz', '/zz/zz', null];
const U_ENVS = [...ENVS, 'zz', null];

function globMatch(glob, path) {
    const g = glob.split('/').filter(Boolean), p = path.split('/').filter(Boolean);
    const last = g[g.length - 1];
    const base = last === '*' || last === '**' ? g.slice(0, -1) : g;
    const prefix = base.every((s, i) => s === p[i]);
    if (last === '**')
        return prefix && p.length >= base.length;
    if (last === '*')
        return prefix && p.length === base.length + 1;
    return prefix && p.length === base.length;
}

/* authz_allows, written again from docs/security.md */
function allows(rules, subject, action, env, path) {
    let allowed = false;
    for (const r of rules) {
        const acts = r.actions.includes('*') ? ACTIONS : r.actions;
        if (r.subject !== subject ||
            !(acts.includes(action) || (!r.deny && action === 'describe' && acts.includes('read'))))
            continue;
        const envOk = !r.environments ? true : env === null ? !!r.deny : r.environments.includes(env);
        const pathOk = r.secretPath === undefined ? true
            : path === null ? !!r.deny || r.secretPath === '/**' : globMatch(r.secretPath, path);
        if (!envOk || !pathOk)
            continue;
        if (r.deny)
            return false;
        allowed = true;
    }
    return allowed;
}

function within(granted, granter) {
    for (const s of SUBJECTS)
        for (const a of ACTIONS)
            for (const e of U_ENVS)
                for (const p of U_PATHS)
                    if (allows(granted, s, a, e, p) && !allows(granter, s, a, e, p))
                        return false;
    return true;
}

test('grant property sample: random roles grant random roles, members, identities and tokens', T, async (t) => {
    let seed = 20261206;
    const rnd = (n) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return Math.floor((seed / 2147483648) * n);
    };
    const pick = (v) => v[rnd(v.length)];
    const randomRule = () => {
        const subject = rnd(3) ? pick(SUBJECTS.slice(0, 2)) : pick(SUBJECTS);
        const r = { subject, actions: rnd(4) === 0 ? ['*']
            : [...new Set([pick(ACTIONS), pick(ACTIONS)])] };
        if (subject === 'secrets' || subject === 'folders') {
            if (rnd(3))
                r.environments = [...new Set([pick(ENVS), pick(ENVS)])];
            if (rnd(3))
                r.secretPath = pick(GLOBS);
        }
        if (rnd(4) === 0)
            r.deny = true;
        return r;
    };
    const randomRules = (n = 1 + rnd(2)) => Array.from({ length: n }, randomRule);
    /* what the granter needs to attempt each kind of grant at all */
    const tools = [{ subject: 'roles', actions: ['create'] },
        { subject: 'service-tokens', actions: ['create'] },
        { subject: 'members', actions: ['read', 'create', 'edit'] }];

    /* often a part of the granter's own role (with its deny rules), so that
     * both answers come up */
    const part = (mine) => {
        const allowsOf = mine.filter((r) => !r.deny);
        const picked = Array.from({ length: 1 + rnd(2) }, () => ({ ...pick(allowsOf) }));
        for (const r of picked)
            if (!r.actions.includes('*') && r.actions.length > 1)
                r.actions = r.actions.slice(1);
        return [...picked, ...mine.filter((r) => r.deny)];
    };
    const granter = await person('granter', 'no-access');
    const target = await person('target', 'no-access');
    const bot = JSON.parse((await ok(owner, ['identities', 'create', 'sample-bot', '--format',
        'json'])).stdout);
    let yes = 0, no = 0;
    const attempt = async (what, res, want) => {
        assert.equal(res.status, want ? 200 : 403, `${what}: ${res.text}`);
        if (!want)
            assert.match(res.json.message, /nobody grants a right they do not hold/);
        want ? yes++ : no++;
    };
    for (let i = 0; i < 16; i++) {
        const mine = [...randomRules(2 + rnd(4)), ...tools]; /* a broader role */
        await call(owner, 'POST', `${P}/roles`, { slug: `g-${i}`, rules: mine }, 200);
        await call(owner, 'PATCH', `${P}/members/${granter.id}`, { role: `g-${i}` }, 200);

        /* a custom role */
        const rules = rnd(2) ? part(mine) : randomRules();
        await attempt(`round ${i}: role ${JSON.stringify(rules)} by ${JSON.stringify(mine)}`,
            await apiCall(srv, 'POST', `${P}/roles`, { token: granter.token,
                body: { slug: `x-${i}`, rules } }), within(rules, mine));

        /* a service token */
        const fromMine = mine.find((r) => r.subject === 'secrets' && !r.deny);
        const scopes = Array.from({ length: 1 + rnd(2) }, () => ({
            environment: fromMine?.environments && rnd(2) ? pick(fromMine.environments)
                : pick(ENVS),
            secretPath: fromMine?.secretPath && rnd(2) ? fromMine.secretPath : pick(GLOBS) }));
        const write = rnd(2) === 1;
        const tokenRules = scopes.map((s) => ({ subject: 'secrets', actions: write
            ? ACTIONS : ['read', 'describe'], environments: [s.environment],
        secretPath: s.secretPath }));
        await attempt(`round ${i}: token ${JSON.stringify(scopes)} ${write}`,
            await apiCall(srv, 'POST', `${P}/service-tokens`, { token: granter.token,
                body: { name: `t-${i}`, access: write ? 'read-write' : 'read', expiresIn: 0, scopes,
                    encryptedProjectKey: fakeRecord(73) } }), within(tokenRules, mine));

        /* a member's role */
        const theirs = rnd(2) ? part(mine) : randomRules();
        await call(owner, 'POST', `${P}/roles`, { slug: `y-${i}`, rules: theirs }, 200);
        const want = within(theirs, mine);
        await attempt(`round ${i}: member role ${JSON.stringify(theirs)}`,
            await apiCall(srv, 'PATCH', `${P}/members/${target.id}`, { token: granter.token,
                body: { role: `y-${i}` } }), want);
        if (want)
            await call(owner, 'PATCH', `${P}/members/${target.id}`, { role: 'no-access' }, 200);

        /* an identity added to the project with that role */
        await attempt(`round ${i}: identity with role ${JSON.stringify(theirs)}`,
            await apiCall(srv, 'POST', `${P}/members`, { token: granter.token,
                body: { principalType: 'identity', principalId: bot.identityId, role: `y-${i}`,
                    encryptedProjectKey: randomBytes(80).toString('base64') } }), want);
        if (want)
            await call(owner, 'DELETE', `${P}/members/${bot.identityId}`, undefined, 200);
    }
    t.diagnostic(`${yes} grants allowed, ${no} refused`);
    assert.ok(yes > 0 && no > 0, 'the sample exercises both answers');
});
