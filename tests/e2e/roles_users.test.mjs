// roles_users.test.mjs - `arca roles update` and `arca users remove` with the
// real CLI against a real server.
//
// roles update: the new rules reach the role's members at their next request
// (both ways: more rights, then fewer); the grant rule of role creation holds
// for both the rules as they were and as they become, so a member who may edit
// roles neither widens a role beyond their own rights nor edits one that holds
// rights they lack; the refusal is audited and changes nothing; role.update is
// audited.
//
// users remove: previewed and confirmed; the person leaves every project of
// the organization and their session ends at once; the hint to rotate keys;
// refused for yourself, the organization's last admin and a project's last
// admin; user.remove is audited; the e-mail can be invited again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    apiCall, assertErrorOutput, bootstrapAndLogin, createProject, inviteAndSignup, newCli,
    readToken, removeTempDirs, startServer,
} from './harness.mjs';

const T = { timeout: 120000 };

let srv;
let admin;
let project;
let pid;

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function roleRules(slug) {
    const r = await ok(admin, ['roles', 'list', ...pid, '--format', 'json']);
    return JSON.parse(r.stdout).find((x) => x.slug === slug);
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    project = await createProject(admin, 'roles-users');
    pid = ['--project-id', project.id];
    for (const env of ['dev', 'prod'])
        await ok(admin, ['secrets', 'set', 'DB_URL', `${env}-value`, '--env', env, ...pid]);
});

after(async () => {
    await srv?.stop();
    await removeTempDirs();
});

test('roles update: the role\'s members get the new rules at once, both ways', T, async () => {
    await ok(admin, ['roles', 'create', 'reader', '--allow', 'secrets:read:dev', ...pid]);
    const reader = await inviteAndSignup(admin, srv, 'reader@example.com');
    await ok(admin, ['members', 'add', reader.email, '--role', 'reader', ...pid]);
    const get = (env) => reader.cli.arca(['secrets', 'get', 'DB_URL', '--plain', '--env', env, ...pid]);

    assert.equal((await get('dev')).stdout, 'dev-value\n');
    assertErrorOutput(await get('prod'), 3);

    const r = await ok(admin, ['roles', 'update', 'reader', '--allow', 'secrets:read:dev,prod',
        '--name', 'Reader', ...pid]);
    assert.match(r.stdout, /updated role 'reader'/);
    assert.equal((await get('prod')).stdout, 'prod-value\n', 'the wider rule is in force at once');
    const role = await roleRules('reader');
    assert.equal(role.name, 'Reader');
    assert.deepEqual(role.rules.map((x) => x.environments), [['dev', 'prod']]);

    await ok(admin, ['roles', 'update', 'reader', '--allow', 'secrets:read:dev', ...pid]);
    assertErrorOutput(await get('prod'), 3); /* and the narrower one too */
    assert.equal((await get('dev')).stdout, 'dev-value\n');
    assert.equal((await roleRules('reader')).name, 'Reader', 'rules alone keep the name');

    /* a rename alone keeps the rules */
    await ok(admin, ['roles', 'update', 'reader', '--name', 'Dev reader', ...pid]);
    assert.deepEqual((await roleRules('reader')).rules.map((x) => x.environments), [['dev']]);

    /* usage, unknown and built-in roles */
    assertErrorOutput(await admin.arca(['roles', 'update', 'reader', ...pid]), 2);
    assertErrorOutput(await admin.arca(['roles', 'update', 'nosuch', '--allow', 'secrets:read:dev',
        ...pid]), 4);
    assertErrorOutput(await admin.arca(['roles', 'update', 'viewer', '--name', 'V', ...pid]), 5);

    const a = await ok(admin, ['audit-logs', 'list', ...pid, '--event', 'role.update',
        '--format', 'json']);
    const events = JSON.parse(a.stdout);
    assert.equal(events.length, 3);
    assert.deepEqual(events.map((e) => e.metadata.rulesChanged).sort(), [false, true, true]);
});

test('roles update: nobody widens a role beyond, or edits one holding, rights they lack', T,
    async () => {
        /* lead may manage roles, but reads and writes secrets in dev only */
        await ok(admin, ['roles', 'create', 'lead', '--allow', 'roles:*', '--allow',
            'secrets:*:dev', ...pid]);
        await ok(admin, ['roles', 'create', 'devops', '--allow', 'secrets:read:dev', ...pid]);
        await ok(admin, ['roles', 'create', 'prodops', '--allow', 'secrets:read:prod', ...pid]);
        const lead = await inviteAndSignup(admin, srv, 'lead@example.com');
        await ok(admin, ['members', 'add', lead.email, '--role', 'lead', ...pid]);

        /* escalation: giving devops read on prod, which lead does not hold */
        let r = await lead.cli.arca(['roles', 'update', 'devops', '--allow',
            'secrets:read:dev,prod', ...pid]);
        assertErrorOutput(r, 3);
        assert.match(r.stderr, /prod/);
        /* editing prodops at all, even to narrow it: its rights are not lead's */
        r = await lead.cli.arca(['roles', 'update', 'prodops', '--allow', 'secrets:read:dev', ...pid]);
        assertErrorOutput(r, 3);
        r = await lead.cli.arca(['roles', 'update', 'prodops', '--name', 'Mine now', ...pid]);
        assertErrorOutput(r, 3);
        /* nothing changed */
        assert.deepEqual((await roleRules('devops')).rules.map((x) => x.environments), [['dev']]);
        assert.deepEqual((await roleRules('prodops')).rules.map((x) => x.environments), [['prod']]);
        assert.equal((await roleRules('prodops')).name, 'prodops');
        /* the refusals are on record */
        const a = await ok(admin, ['audit-logs', 'list', ...pid, '--event', 'permission.denied',
            '--format', 'json']);
        assert.ok(JSON.parse(a.stdout).filter((e) => /role 'devops'|role 'prodops'/
            .test(e.metadata?.grant ?? '')).length >= 3, a.stdout);

        /* within lead's rights: allowed */
        await ok(lead.cli, ['roles', 'update', 'devops', '--allow', 'secrets:read,create:dev', ...pid]);
        assert.deepEqual((await roleRules('devops')).rules[0].actions.sort(), ['create', 'read']);

        /* a member without roles:edit may not; the API answers 403 */
        const member = await inviteAndSignup(admin, srv, 'plain@example.com');
        await ok(admin, ['members', 'add', member.email, '--role', 'member', ...pid]);
        const res = await apiCall(srv, 'PATCH', `/api/arca/v1/projects/${project.id}/roles/devops`,
            { token: await readToken(member.cli), body: { name: 'x' } });
        assert.equal(res.status, 403, res.text);
    });

async function userId(email) {
    const r = await ok(admin, ['users', 'list', '--format', 'json']);
    return JSON.parse(r.stdout).find((u) => u.email === email)?.id;
}

test('users remove: previewed, confirmed, out of every project, session ended', T, async () => {
    const gone = await inviteAndSignup(admin, srv, 'gone@example.com');
    const second = await createProject(admin, 'second');
    await ok(admin, ['members', 'add', gone.email, '--role', 'member', ...pid]);
    await ok(admin, ['members', 'add', gone.email, '--role', 'viewer', '--project-id', second.id]);
    assert.equal((await ok(gone.cli, ['secrets', 'get', 'DB_URL', '--plain', '--env', 'dev', ...pid]))
        .stdout, 'dev-value\n');
    const token = await readToken(gone.cli);

    /* the plan names the projects; not on a terminal, without --yes: nothing happens */
    let r = await ok(admin, ['users', 'remove', gone.email, '--dry-run']);
    assert.match(r.stdout, /removing gone@example\.com .* and 2 projects: /);
    assert.match(r.stdout, /roles-users \(member\)/);
    assert.match(r.stdout, /second \(viewer\)/);
    r = await admin.arca(['users', 'remove', gone.email]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /arca: hint: pass --yes/);
    assert.ok(await userId(gone.email), 'still in the organization');

    r = await ok(admin, ['users', 'remove', 'GONE@example.com', '--yes']);
    assert.match(r.stdout, /removed GONE@example\.com from the organization and 2 projects/);
    assert.match(r.stderr, /arca: hint: .*rotate-key/);
    assert.equal(await userId(gone.email), undefined);

    /* their session is over at once, and they are in no project */
    const me = await apiCall(srv, 'GET', '/api/arca/v1/users/me', { token });
    assert.equal(me.status, 401, me.text);
    for (const p of [project, second]) {
        const m = await ok(admin, ['members', 'list', '--project-id', p.id, '--format', 'json']);
        assert.ok(!m.stdout.includes(gone.email), m.stdout);
    }
    const a = await ok(admin, ['audit-logs', 'list', '--event', 'user.remove', '--format', 'json']);
    const e = JSON.parse(a.stdout);
    assert.equal(e.length, 1);
    assert.equal(e[0].metadata.email, gone.email);
    assert.equal(e[0].metadata.projects, 2);

    /* the address can be invited again */
    await inviteAndSignup(admin, srv, gone.email);
    assertErrorOutput(await admin.arca(['users', 'remove', 'nobody@example.com', '--yes']), 4);
});

test('users remove: not yourself, not the last admin of the organization or of a project', T,
    async () => {
        let r = await admin.arca(['users', 'remove', 'admin@example.com', '--yes']);
        assertErrorOutput(r, 7);
        assert.match(r.stderr, /cannot remove yourself/);
        const second = await inviteAndSignup(admin, srv, 'second-admin@example.com',
            { orgRole: 'admin' });
        /* the bootstrap admin is the last admin of the projects: refused, nothing changes */
        r = await second.cli.arca(['users', 'remove', 'admin@example.com', '--yes']);
        assertErrorOutput(r, 7);
        assert.match(r.stderr, /last admin of project/);
        assert.ok(await userId('admin@example.com'));
        /* a member may not remove anyone */
        const plain = await inviteAndSignup(admin, srv, 'plain2@example.com');
        assertErrorOutput(await plain.cli.arca(['users', 'remove', second.email, '--yes']), 3);
        /* an admin removes another admin; the remover always stays, so the
         * organization keeps an admin (the store refuses its last one as well) */
        await ok(admin, ['users', 'remove', second.email, '--yes']);
        const res = await apiCall(srv, 'DELETE',
            `/api/arca/v1/users/${await userId('admin@example.com')}`, { token: await readToken(admin) });
        assert.equal(res.status, 409, res.text);
    });
