// cli_missing.test.mjs - what the CLI lacked (issue 14): secrets rename,
// comments, a password policy (published by the server in /auth/params,
// enforced by the client at bootstrap and sign-up), colour on a terminal only.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    INVITE_TOKEN_RE, apiCall, bootstrapAndLogin, createProject, inviteAndSignup, newCli, removeTempDirs,
    startServer,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let pid;

async function ok(args, opts, c = cli) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function list(env) {
    const r = await ok(['secrets', 'list', '--env', env, '--format', 'json', ...pid]);
    return Object.fromEntries(JSON.parse(r.stdout).map((s) => [s.key, s]));
}

before(async () => {
    srv = await startServer({ env: { ARCA_PASSWORD_MIN_LENGTH: '16' } });
    cli = await newCli(srv);
    await bootstrapAndLogin(cli); /* randomPassword(): 35 characters */
    pid = ['--project-id', (await createProject(cli, 'missing')).id];
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('secrets rename OLD NEW keeps value and comment, in one step', T, async () => {
    await ok(['secrets', 'set', 'DB_PASS=s3cret', '--comment', 'rotate monthly', '--env', 'prod', ...pid]);
    assert.equal((await list('prod')).DB_PASS.comment, 'rotate monthly');
    const r = await ok(['secrets', 'rename', 'DB_PASS', 'DATABASE_PASSWORD', '--env', 'prod', ...pid]);
    assert.match(r.stdout, /DB_PASS: renamed to DATABASE_PASSWORD \(version 1\)/);
    const l = await list('prod');
    assert.deepEqual(Object.keys(l), ['DATABASE_PASSWORD']);
    assert.equal(l.DATABASE_PASSWORD.value, 's3cret');
    assert.equal(l.DATABASE_PASSWORD.comment, 'rotate monthly');
    const h = JSON.parse((await ok(['secrets', 'history', 'DB_PASS', '--env', 'prod', '--format', 'json',
        ...pid])).stdout);
    assert.equal(h[0].action, 'deleted', 'the old name keeps its history');
    await ok(['secrets', 'set', 'OTHER=x', '--env', 'prod', ...pid]);
    assert.equal((await cli.arca(['secrets', 'rename', 'OTHER', 'DATABASE_PASSWORD', '--env', 'prod', ...pid])).code, 7);
    assert.equal((await cli.arca(['secrets', 'rename', 'NOPE', 'X', '--env', 'prod', ...pid])).code, 4);
    assert.equal((await list('prod')).OTHER.value, 'x');
});

test('the server publishes its password policy; clients enforce it at sign-up', T, async () => {
    const p = await apiCall(srv, 'POST', '/api/arca/v1/auth/params', { body: { email: 'x@example.com' } });
    assert.equal(p.status, 200);
    assert.deepEqual(p.json.passwordPolicy, { minLength: 16 });
    const inv = await ok(['users', 'invite', 'short@example.com']);
    const token = INVITE_TOKEN_RE.exec(inv.stdout)[0];
    const c = await newCli(srv);
    const r = await c.arca(['signup', '--invite', token, '--email', 'short@example.com', '--password-stdin'],
        { input: 'fifteen-chars-x\n' });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /the password has 15 characters: this server asks for at least 16/);
    const okr = await c.arca(['signup', '--invite', token, '--email', 'short@example.com', '--password-stdin'],
        { input: 'sixteen-chars-xy\n' });
    assert.equal(okr.code, 0, okr.stderr);
    /* a server that sets nothing asks for 12 */
    const other = await startServer();
    try {
        const d = await apiCall(other, 'POST', '/api/arca/v1/auth/params', { body: { email: 'x@example.com' } });
        assert.deepEqual(d.json.passwordPolicy, { minLength: 12 });
        const b = await (await newCli(other)).arca(['bootstrap', '--email', 'a@example.com', '--password-stdin',
            '--organization', 'o'], { input: 'short-pw\n' });
        assert.equal(b.code, 5, b.stderr);
        assert.match(b.stderr, /at least 12/);
    } finally {
        await other.stop();
    }
});

test('colour on a terminal only, never with NO_COLOR', T, async () => {
    const plain = await cli.arca(['secrets', 'get', 'NOPE', '--env', 'prod', ...pid]);
    assert.match(plain.stderr, /^arca: error: /);
    const tty = await cli.pty(['secrets', 'get', 'NOPE', '--env', 'prod', ...pid]);
    assert.match(tty.stdout, /\x1b\[1;31marca: error:\x1b\[0m /);
    const no = await cli.pty(['secrets', 'get', 'NOPE', '--env', 'prod', ...pid], { env: { NO_COLOR: '1' } });
    assert.ok(!no.stdout.includes('\x1b['), 'no escape sequence with NO_COLOR');
    assert.match(no.stdout, /arca: error: /);
});

test('secrets list says where each secret comes from; multi-line values keep to one line', T, async () => {
    await ok(['secrets', 'set', 'OWN=1', 'MULTI=line one\nline two', '--env', 'staging', ...pid]);
    await ok(['secrets', 'set', 'DEEP=2', '--env', 'staging', '--path', '/app', ...pid]);
    await ok(['secrets', 'set', 'SHARED=3', '--env', 'dev', ...pid]);
    await ok(['imports', 'add', '--from', 'dev:/', '--env', 'staging', ...pid]);
    const r = await ok(['secrets', 'list', '--env', 'staging', '--recursive', '--show-values', ...pid]);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^KEY\s+TYPE\s+VERSION\s+UPDATED\s+FROM\s+VALUE$/);
    assert.equal(lines.length, 5, r.stdout);
    assert.match(r.stdout, /^OWN\s+shared\s+1\s+\S+\s+-\s+1$/m);
    assert.match(r.stdout, /^DEEP\s+shared\s+1\s+\S+\s+staging:\/app\s+2$/m);
    assert.match(r.stdout, /^SHARED\s+shared\s+1\s+\S+\s+dev:\/\s+3$/m);
    assert.match(r.stdout, /^MULTI\s.*line one\\nline two$/m);
});

test('projects rename changes the name, by id or slug; the slug stays; members may not', T, async () => {
    const p = await createProject(cli, 'old-name');
    await ok(['projects', 'rename', p.slug, 'New Name']);
    let l = JSON.parse((await ok(['projects', 'list', '--format', 'json'])).stdout);
    assert.deepEqual(l.filter((x) => x.id === p.id).map((x) => [x.name, x.slug]), [['New Name', p.slug]]);
    await ok(['projects', 'rename', p.id, 'Again']);
    l = JSON.parse((await ok(['projects', 'list', '--format', 'json'])).stdout);
    assert.equal(l.find((x) => x.id === p.id).name, 'Again');
    assert.equal((await cli.arca(['projects', 'rename', p.id, 'bad\u0001name'])).code, 5);
    const a = JSON.parse((await ok(['audit-logs', 'list', '--project-id', p.id, '--event', 'project.rename',
        '--format', 'json'])).stdout);
    assert.equal(a.length, 2);
    const m = await inviteAndSignup(cli, srv, 'member@example.com');
    await ok(['members', 'add', 'member@example.com', '--role', 'member', '--project-id', p.id]);
    const denied = await m.cli.arca(['projects', 'rename', p.id, 'Mine']);
    assert.equal(denied.code, 3, denied.stderr);
});

test('password change re-seals the private key: the new password logs in and decrypts', T, async () => {
    const c = await newCli(srv);
    const email = 'changer@example.com';
    const m = await inviteAndSignup(cli, srv, email);
    await ok(['members', 'add', email, '--role', 'member', ...pid]);
    await ok(['secrets', 'set', 'SEEN=yes', '--env', 'dev', ...pid]);
    const newPw = 'a-new-long-password-42';
    const wrong = await m.cli.arca(['password', 'change', '--password-stdin'], { input: `not-it-at-all\n${newPw}\n` });
    assert.equal(wrong.code, 3, wrong.stderr);
    const short = await m.cli.arca(['password', 'change', '--password-stdin'], { input: `${m.password}\nshort\n` });
    assert.equal(short.code, 5, short.stderr);
    await ok(['password', 'change', '--password-stdin'], { input: `${m.password}\n${newPw}\n` }, m.cli);
    const old = await c.arca(['login', '--email', email, '--password-stdin'], { input: m.password + '\n' });
    assert.equal(old.code, 3, 'the old password no longer logs in');
    await ok(['login', '--email', email, '--password-stdin'], { input: newPw + '\n' }, c);
    assert.equal((await ok(['secrets', 'get', 'SEEN', '--plain', '--env', 'dev', ...pid], undefined, c)).stdout,
        'yes\n', 'the same private key opens the project key');
    const a = JSON.parse((await ok(['audit-logs', 'list', '--event', 'auth.password.change', '--format', 'json']))
        .stdout);
    assert.deepEqual(a.map((x) => x.outcome).sort(), ['failure', 'success']);
});

test('invites list shows status and no token; invites revoke stops a pending one', T, async () => {
    const a = await ok(['users', 'invite', 'later@example.com']);
    const token = INVITE_TOKEN_RE.exec(a.stdout)[0];
    await ok(['users', 'invite', 'kept@example.com']);
    const l = await ok(['invites', 'list']);
    assert.match(l.stdout, /^ID\s+EMAIL\s+ROLE\s+STATUS\s+EXPIRES$/m);
    assert.ok(!l.stdout.includes('arca_inv_'), 'no token listed');
    const j = JSON.parse((await ok(['invites', 'list', '--format', 'json'])).stdout);
    const inv = j.find((x) => x.email === 'later@example.com');
    assert.equal(inv.status, 'pending');
    assert.ok(j.some((x) => x.email === 'short@example.com' && x.status === 'accepted'));
    await ok(['invites', 'revoke', inv.id]);
    const again = await cli.arca(['invites', 'revoke', inv.id]);
    assert.equal(again.code, 4, again.stderr);
    const c = await newCli(srv);
    const su = await c.arca(['signup', '--invite', token, '--email', 'later@example.com', '--password-stdin'],
        { input: 'a-long-enough-password\n' });
    assert.equal(su.code, 3, 'a revoked invite does not sign up');
    const m = JSON.parse((await ok(['invites', 'list', '--format', 'json'])).stdout);
    assert.ok(!m.some((x) => x.id === inv.id));
    /* a member is not an organization admin */
    const member = await inviteAndSignup(cli, srv, 'plain@example.com');
    assert.equal((await member.cli.arca(['invites', 'list'])).code, 3);
});

test('users list shows the people of the organization (organization admins)', T, async () => {
    const r = await ok(['users', 'list']);
    assert.match(r.stdout, /^EMAIL\s+ROLE\s+JOINED\s+ID$/m);
    assert.match(r.stdout, /^admin@example\.com\s+admin\s/m);
    const j = JSON.parse((await ok(['users', 'list', '--format', 'json'])).stdout);
    assert.ok(j.some((u) => u.email === 'short@example.com' && u.orgRole === 'member'));
    const m = await inviteAndSignup(cli, srv, 'lister@example.com');
    assert.equal((await m.cli.arca(['users', 'list'])).code, 3);
});

test('a bad secret name says what is wrong with it and the limit', T, async () => {
    let r = await cli.arca(['secrets', 'set', 'A-B=1', '--env', 'dev', ...pid]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /'A-B' is not a valid secret name: '-' is not a letter \(a-z, A-Z\), a digit or _ \(names are 1 to 255/);
    r = await cli.arca(['secrets', 'set', `${'K'.repeat(256)}=1`, '--env', 'dev', ...pid]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /it is longer than 255 characters/);
    r = await cli.arca(['secrets', 'set', '9LIVES=1', '--env', 'dev', ...pid]);
    assert.match(r.stderr, /it starts with a digit/);
});
