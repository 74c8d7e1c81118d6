// teams.test.mjs - working as a team, end to end through the CLI: invite and
// sign-up, project members and roles (built-in and custom), machine identities
// (universal-auth login, ARCA_CLIENT_ID/SECRET), service tokens (scopes, read
// only, expiry), removing a member, rotating the project key; and the abuse
// limits of the login routes (rate limit, lockout) on servers of their own.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
    NODE, apiCall, assertErrorOutput, bootstrapAndLogin, createProject, inviteAndSignup, newCli,
    randomPassword, readToken, removeTempDirs, serviceTokenIn, startServer, waitFor,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';

let srv;
let owner;
let project;
let pid;
const extraServers = [];
const people = {};
let bot; /* {identityId, clientId, clientSecret} */
let botCli; /* logged in with --method=universal-auth */

/* What the project holds; every reader below is checked against it. */
const VALUES = {
    dev: { DATABASE_URL: 'postgres://dev-db/app', API_KEY: `dev-${randomBytes(8).toString('hex')}` },
    staging: { DATABASE_URL: 'postgres://staging-db/app' },
    prod: { DATABASE_URL: `postgres://prod-db/app?pw=${randomBytes(8).toString('hex')}`,
        STRIPE_KEY: `sk_live_${randomBytes(12).toString('hex')}` },
};
const PROD_V1 = 'postgres://prod-db/app?pw=first';

/* A child that prints the named environment variables as JSON (null if unset). */
const PRINT_ENV = 'const o = {}; for (const k of process.argv.slice(1)) o[k] = process.env[k] ?? null;' +
    ' process.stdout.write(JSON.stringify(o));';

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* `arca run` printing env's keys; returns the object the child printed. */
async function runPrint(c, env, { extra = [], envVars } = {}) {
    const keys = Object.keys(VALUES[env]);
    const r = await ok(c, ['run', `--env=${env}`, ...extra, '--', NODE, '-e', PRINT_ENV, ...keys],
        { env: envVars });
    return JSON.parse(r.stdout);
}

/* Reads every value of env with `secrets get --plain` and compares. */
async function assertReads(c, env, what, extra = pid) {
    const keys = Object.keys(VALUES[env]);
    const r = await c.arca(['secrets', 'get', ...keys, '--env', env, '--plain', ...extra]);
    assert.equal(r.code, 0, `${what} reads ${env}: ${r.stderr}`);
    assert.equal(r.stdout, keys.map((k) => VALUES[env][k]).join('\n') + '\n', `${what}: ${env} values`);
}

/* `arca members list --format json` as {name: role}. */
async function members(c = owner) {
    const r = await ok(c, ['members', 'list', ...pid, '--format', 'json']);
    const j = JSON.parse(r.stdout);
    const arr = Array.isArray(j) ? j : j.members;
    assert.ok(Array.isArray(arr), `members list --format json is a list: ${r.stdout}`);
    return Object.fromEntries(arr.map((m) => [m.name ?? m.email, m.role]));
}

async function serviceToken(name, extra) {
    const r = await ok(owner, ['service-token', 'create', '--name', name, ...pid, ...extra,
        '--format', 'json']);
    return { token: serviceTokenIn(r.stdout), json: JSON.parse(r.stdout) };
}

/* A CLI context that authenticates only through the environment. */
async function machineCli() {
    return newCli(srv);
}

before(async () => {
    srv = await startServer();
    owner = await newCli(srv);
    await bootstrapAndLogin(owner);
    project = await createProject(owner, 'team-app');
    pid = ['--project-id', project.id];
    await ok(owner, ['secrets', 'set', `DATABASE_URL=${PROD_V1}`, '--env', 'prod', ...pid]);
    for (const [env, kv] of Object.entries(VALUES))
        await ok(owner, ['secrets', 'set', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`),
            '--env', env, ...pid]);
});

after(async () => {
    for (const s of extraServers)
        await s.kill();
    await srv?.kill();
    await removeTempDirs();
});

test('invite → signup → members add → the invitee decrypts with their own key', T, async () => {
    const inv = await ok(owner, ['users', 'invite', 'dev@example.com', '--org-role', 'member']);
    assert.match(inv.stdout, /arca_inv_/, 'users invite prints the invite token');
    people.alice = await inviteAndSignup(owner, srv, 'alice@example.com');
    const a = people.alice.cli;

    /* signed up, but not yet in the project: not found, nothing printed */
    let r = await a.arca(['secrets', 'get', 'DATABASE_URL', '--env', 'prod', '--plain', ...pid]);
    assertErrorOutput(r, 4);
    assert.equal(r.stdout, '');

    await ok(owner, ['members', 'add', 'alice@example.com', '--role', 'member', ...pid]);
    assert.equal((await members())['alice@example.com'], 'member');
    for (const env of Object.keys(VALUES))
        await assertReads(a, env, 'alice');

    /* her copy of the project key is sealed to her, not the owner's copy */
    const mine = await apiCall(srv, 'GET', `${V1}/projects/${project.id}`, { token: await readToken(a) });
    const theirs = await apiCall(srv, 'GET', `${V1}/projects/${project.id}`,
        { token: await readToken(owner) });
    assert.equal(mine.status, 200);
    assert.equal(mine.json.membership.role, 'member');
    assert.equal(Buffer.from(mine.json.membership.encryptedProjectKey, 'base64').length, 80);
    assert.notEqual(mine.json.membership.encryptedProjectKey, theirs.json.membership.encryptedProjectKey);

    /* an invite works once; a second sign-up with it is refused */
    const again = await newCli(srv);
    r = await again.arca(['signup', '--invite', people.alice.inviteToken, '--email', 'alice@example.com',
        '--password-stdin'], { input: randomPassword() + '\n' });
    assertErrorOutput(r, 3);
    /* one line that says what to do, not "log in again with 'arca login'" (there is no
     * account to log in to) */
    assert.match(r.stderr, /^arca: error: this invite is unknown, already used or expired, or was sent to another e-mail address: sign up with the invited address/);
    assert.doesNotMatch(r.stderr, /arca login/);
    /* and a sign-up with another address than the invited one too */
    const inv2 = await ok(owner, ['users', 'invite', 'eve@example.com', '--org-role', 'member']);
    const tok2 = /arca_inv_[A-Za-z0-9_-]+/.exec(inv2.stdout)[0];
    r = await again.arca(['signup', '--invite', tok2, '--email', 'mallory@example.com',
        '--password-stdin'], { input: randomPassword() + '\n' });
    assertErrorOutput(r, 3);
    assert.match(r.stderr, /or was sent to another e-mail address/, 'sign-up with another e-mail than the invited one is refused');
    /* inviting an address that has an account: conflict */
    r = await owner.arca(['users', 'invite', 'alice@example.com', '--org-role', 'member']);
    assertErrorOutput(r, 7);
});

test('a viewer reads but cannot write (exit 3); nothing is written', T, async () => {
    people.bob = await inviteAndSignup(owner, srv, 'bob@example.com');
    const b = people.bob.cli;
    await ok(owner, ['members', 'add', 'bob@example.com', '--role', 'viewer', ...pid]);
    await assertReads(b, 'prod', 'bob (viewer)');
    for (const args of [['secrets', 'set', 'NEW_KEY=1', '--env', 'dev'],
        ['secrets', 'set', 'API_KEY=overwritten', '--env', 'dev'],
        ['secrets', 'delete', 'API_KEY', '--env', 'dev'],
        ['members', 'add', 'alice@example.com', '--role', 'admin'],
        ['service-token', 'create', '--name', 'x', '--env=dev']]) {
        const r = await b.arca([...args, ...pid]);
        assertErrorOutput(r, 3);
        assert.doesNotMatch(r.stdout, /st\./);
    }
    await assertReads(owner, 'dev', 'owner after the refused writes');
    const l = await ok(owner, ['secrets', 'list', '--env', 'dev', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(l.stdout).map((s) => s.key).sort(), Object.keys(VALUES.dev).sort());
});

test('a custom developer role reads and writes dev and staging, not prod', T, async () => {
    await ok(owner, ['roles', 'create', 'developer', ...pid,
        '--allow', 'secrets:read,create,edit,delete:dev,staging:/**', '--deny', 'secrets:*:prod:/**']);
    const roles = await ok(owner, ['roles', 'list', ...pid, '--format', 'json']);
    const rl = JSON.parse(roles.stdout);
    const slugs = (Array.isArray(rl) ? rl : rl.roles).map((x) => x.slug);
    for (const s of ['admin', 'member', 'viewer', 'no-access', 'developer'])
        assert.ok(slugs.includes(s), `roles list has ${s}: ${slugs}`);

    people.carol = await inviteAndSignup(owner, srv, 'carol@example.com');
    const c = people.carol.cli;
    await ok(owner, ['members', 'add', 'carol@example.com', '--role', 'developer', ...pid]);
    assert.equal((await members())['carol@example.com'], 'developer');

    await assertReads(c, 'dev', 'carol (developer)');
    await assertReads(c, 'staging', 'carol (developer)');
    await ok(c, ['secrets', 'set', 'FEATURE_FLAG=on', '--env', 'dev', ...pid]);
    await ok(c, ['secrets', 'delete', 'FEATURE_FLAG', '--env', 'dev', ...pid]);

    let r = await c.arca(['secrets', 'get', 'DATABASE_URL', '--env', 'prod', '--plain', ...pid]);
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '');
    r = await c.arca(['secrets', 'list', '--env', 'prod', '--format', 'json', ...pid]);
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '');
    r = await c.arca(['secrets', 'set', 'DATABASE_URL=hijacked', '--env', 'prod', ...pid]);
    assertErrorOutput(r, 3);
    r = await c.arca(['run', '--env=prod', ...pid, '--', NODE, '-e', 'process.stdout.write("RAN")']);
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '', 'the command did not run');
    await assertReads(owner, 'prod', 'owner after the refused prod writes');

    /* built-in names are reserved: a conflict (arca.h: -EEXIST for a built-in slug) */
    assertErrorOutput(await owner.arca(['roles', 'create', 'admin', ...pid, '--allow', 'secrets:read:*']), 7);
});

test('a machine identity: identities create → login --method=universal-auth → run', T, async () => {
    const r = await ok(owner, ['identities', 'create', 'ci-bot', ...pid, '--role', 'viewer',
        '--format', 'json']);
    bot = JSON.parse(r.stdout);
    assert.equal(typeof bot.identityId, 'string');
    assert.equal(typeof bot.clientId, 'string');
    assert.match(bot.clientSecret, /^[0-9a-f]{64}$/, 'the client secret: 32 random bytes in hex');
    const list = await members();
    assert.equal(list['ci-bot'], 'viewer');

    botCli = await newCli(srv);
    await ok(botCli, ['login', '--method=universal-auth', '--client-id', bot.clientId,
        '--client-secret', bot.clientSecret]);
    assert.deepEqual(await runPrint(botCli, 'prod', { extra: pid }), VALUES.prod);
    await assertReads(botCli, 'dev', 'ci-bot');
    assertErrorOutput(await botCli.arca(['secrets', 'set', 'X=1', '--env', 'prod', ...pid]), 3);

    /* a wrong secret is refused and logs nothing in */
    const wrong = await newCli(srv);
    const w = await wrong.arca(['login', '--method=universal-auth', '--client-id', bot.clientId,
        '--client-secret', randomBytes(32).toString('hex')]);
    assertErrorOutput(w, 3);
    assertErrorOutput(await wrong.arca(['secrets', 'list', '--env', 'prod', ...pid]), 3);
});

test('ARCA_CLIENT_ID / ARCA_CLIENT_SECRET: run with no login step', T, async () => {
    const m = await machineCli();
    const envVars = { ARCA_CLIENT_ID: bot.clientId, ARCA_CLIENT_SECRET: bot.clientSecret };
    assert.deepEqual(await runPrint(m, 'prod', { extra: pid, envVars }), VALUES.prod);
    const r = await m.arca(['run', '--env=prod', ...pid, '--', NODE, '-e', 'process.stdout.write("RAN")'],
        { env: { ARCA_CLIENT_ID: bot.clientId, ARCA_CLIENT_SECRET: randomBytes(32).toString('hex') } });
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '', 'with a wrong secret the command does not run');
});

test('a read-only service token: run reads prod; writes and other environments are refused', T,
    async () => {
        const { token } = await serviceToken('GitHub Actions', ['--env=prod', '--path', '/',
            '--access', 'read']);
        const s = await machineCli(); /* no login, no .arca.json: the token names the project */
        const envVars = { ARCA_TOKEN: token };
        assert.deepEqual(await runPrint(s, 'prod', { envVars }), VALUES.prod);
        let r = await s.arca(['secrets', 'set', 'DATABASE_URL=from-ci', '--env', 'prod'], { env: envVars });
        assertErrorOutput(r, 3);
        r = await s.arca(['run', '--env=dev', '--', NODE, '-e', 'process.stdout.write("RAN")'],
            { env: envVars });
        assertErrorOutput(r, 3);
        assert.equal(r.stdout, '');
        await assertReads(owner, 'prod', 'owner after the refused token write');

        /* read-write: the token can write in its scope */
        const rw = await serviceToken('deployer', ['--env=prod', '--path', '/', '--access', 'read-write']);
        await ok(s, ['secrets', 'set', 'DEPLOYED_AT=now', '--env', 'prod'], { env: { ARCA_TOKEN: rw.token } });
        await ok(owner, ['secrets', 'delete', 'DEPLOYED_AT', '--env', 'prod', ...pid]);
    });

test('--expires-in: the expiry is recorded, and an expired token is refused', T, async () => {
    const long = await serviceToken('monthly', ['--env=prod', '--expires-in', '30d']);
    let expiresAt = null;
    const find = (o) => {
        if (o && typeof o === 'object')
            for (const [k, v] of Object.entries(o)) {
                if (k === 'expiresAt' && typeof v === 'string')
                    expiresAt = v;
                else
                    find(v);
            }
    };
    find(long.json);
    assert.ok(expiresAt, `service-token create --format json shows expiresAt: ${JSON.stringify(long.json)}`);
    const days = (Date.parse(expiresAt) - Date.now()) / 86400000;
    assert.ok(days > 29 && days <= 30.01, `expires in 30 days, got ${expiresAt}`);

    const short = await serviceToken('one second', ['--env=prod', '--expires-in', '1s']);
    const s = await machineCli();
    const r = await waitFor(async () => {
        const x = await s.arca(['run', '--env=prod', '--', NODE, '-e', 'process.stdout.write("RAN")'],
            { env: { ARCA_TOKEN: short.token } });
        return x.code !== 0 ? x : null;
    }, { timeoutMs: 30000, intervalMs: 250, what: 'the 1-second token to expire' });
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '');
    assert.deepEqual(await runPrint(s, 'prod', { envVars: { ARCA_TOKEN: long.token } }), VALUES.prod);
});

test('members remove: the removed user is refused', T, async () => {
    const b = people.bob.cli;
    const token = await readToken(b);
    await ok(owner, ['members', 'remove', 'bob@example.com', ...pid]);
    assert.equal((await members())['bob@example.com'], undefined);
    const r = await b.arca(['secrets', 'get', 'DATABASE_URL', '--env', 'prod', '--plain', ...pid]);
    assertErrorOutput(r, 4);
    assert.equal(r.stdout, '');
    const h = await apiCall(srv, 'GET', `${V1}/projects/${project.id}/secrets?environment=prod&secretPath=/`,
        { token });
    assert.equal(h.status, 404, h.text);
    /* the last admin cannot be removed */
    assertErrorOutput(await owner.arca(['members', 'remove', 'admin@example.com', ...pid]), 7);
});

test('projects rotate-key: every member still reads every value and the history; old tokens refused',
    T, async () => {
        const old = await serviceToken('before rotation', ['--env=prod']);
        const s = await machineCli();
        assert.deepEqual(await runPrint(s, 'prod', { envVars: { ARCA_TOKEN: old.token } }), VALUES.prod);
        const before = await apiCall(srv, 'GET', `${V1}/projects/${project.id}`,
            { token: await readToken(owner) });

        await ok(owner, ['projects', 'rotate-key', '--yes', ...pid]);

        const afterRot = await apiCall(srv, 'GET', `${V1}/projects/${project.id}`,
            { token: await readToken(owner) });
        assert.notEqual(afterRot.json.membership.encryptedProjectKey,
            before.json.membership.encryptedProjectKey, 'a new project key was sealed to the owner');
        for (const env of Object.keys(VALUES)) {
            await assertReads(owner, env, 'owner after rotation');
            await assertReads(people.alice.cli, env, 'alice after rotation');
            await assertReads(botCli, env, 'ci-bot after rotation');
        }
        await assertReads(people.carol.cli, 'dev', 'carol after rotation');
        await assertReads(people.carol.cli, 'staging', 'carol after rotation');
        assert.deepEqual(await runPrint(await machineCli(), 'prod', { extra: pid,
            envVars: { ARCA_CLIENT_ID: bot.clientId, ARCA_CLIENT_SECRET: bot.clientSecret } }), VALUES.prod);

        /* the history (re-encrypted too) */
        for (const c of [owner, people.alice.cli]) {
            const h = await ok(c, ['secrets', 'history', 'DATABASE_URL', '--env', 'prod', ...pid,
                '--format', 'json']);
            const j = JSON.parse(h.stdout);
            const vs = Array.isArray(j) ? j : j.versions;
            const values = vs.map((v) => v.value);
            assert.ok(values.includes(PROD_V1), `history holds the first value: ${values}`);
            assert.ok(values.includes(VALUES.prod.DATABASE_URL), 'history holds the current value');
        }

        /* the service token made before: refused; a new one works */
        const r = await s.arca(['run', '--env=prod', '--', NODE, '-e', 'process.stdout.write("RAN")'],
            { env: { ARCA_TOKEN: old.token } });
        assertErrorOutput(r, 3);
        assert.equal(r.stdout, '');
        const fresh = await serviceToken('after rotation', ['--env=prod']);
        assert.deepEqual(await runPrint(s, 'prod', { envVars: { ARCA_TOKEN: fresh.token } }), VALUES.prod);
    });

test('rate limiting: 25 wrong logins from one address get 429 with Retry-After', T, async () => {
    const rs = await startServer();
    extraServers.push(rs);
    const statuses = [];
    let limited = null;
    for (let i = 0; i < 25; i++) {
        const r = await apiCall(rs, 'POST', `${V1}/auth/login`,
            { body: { email: `nobody${i}@example.com`, authKey: randomBytes(32).toString('base64') } });
        statuses.push(r.status);
        if (r.status === 429)
            limited = r;
        else
            assert.equal(r.status, 401, r.text);
    }
    assert.ok(limited, `some of 25 attempts were rate-limited: ${statuses.join(' ')}`);
    assert.equal(limited.json?.error, 'RateLimitError', limited.text);
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/, 'Retry-After in seconds');
    assert.ok(statuses.indexOf(429) > 0, 'the first attempts are answered');
    await rs.stop();
});

test('lockout: after 10 wrong passwords the right one is refused with a "locked" message', T,
    async () => {
        const ls = await startServer();
        extraServers.push(ls);
        const c = await newCli(ls);
        const email = 'locked@example.com';
        const password = randomPassword();
        await ok(c, ['bootstrap', '--email', email, '--password-stdin', '--organization', 'lock'],
            { input: password + '\n' });
        for (let i = 0; i < 10; i++) {
            const r = await c.arca(['login', '--email', email, '--password-stdin'],
                { input: randomPassword() + '\n' });
            assertErrorOutput(r, 3);
        }
        /* the per-account rate limit may answer first; wait as long as it says */
        const probe = await apiCall(ls, 'POST', `${V1}/auth/login`,
            { body: { email, authKey: randomBytes(32).toString('base64') } });
        if (probe.status === 429) {
            const until = Date.now() + Number(probe.headers.get('retry-after')) * 1000 + 200;
            await waitFor(() => Date.now() > until, { timeoutMs: 120000, what: 'Retry-After' });
        } else {
            assert.equal(probe.status, 401, probe.text);
            assert.match(probe.json.message, /locked/i);
        }
        const r = await c.arca(['login', '--email', email, '--password-stdin'], { input: password + '\n' });
        assertErrorOutput(r, 3);
        assert.match(r.stderr, /locked/i, 'the error says the account is locked');
        await ls.stop();
    });
