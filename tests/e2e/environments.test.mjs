// environments.test.mjs - `arca environments list/add/rename/remove` with the
// real CLI against a real server: a new environment holds secrets end to end;
// refusals: a duplicate or bad slug, a non-admin, removing an environment that
// holds secrets (or only their history), changing the slug of one that does.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    apiCall, assertApiError, assertErrorOutput, bootstrapAndLogin, createProject, inviteAndSignup,
    newCli, readToken, removeTempDirs, startServer,
} from './harness.mjs';

const T = { timeout: 120000 };

let srv;
let admin;
let project;
let pid;
let member;

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function envSlugs() {
    const r = await ok(admin, ['environments', 'list', ...pid, '--format', 'json']);
    return JSON.parse(r.stdout).map((e) => e.slug);
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    project = await createProject(admin, 'envs');
    pid = ['--project-id', project.id];
    member = await inviteAndSignup(admin, srv, 'member@example.com');
    await ok(admin, ['members', 'add', 'member@example.com', '--role', 'member', ...pid]);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('list shows the default environments', T, async () => {
    const r = await ok(admin, ['environments', 'list', ...pid]);
    assert.match(r.stdout, /^SLUG\s+NAME\s+POSITION$/m);
    assert.match(r.stdout, /^dev\s+Development\s+1$/m);
    assert.deepEqual(await envSlugs(), ['dev', 'staging', 'prod']);
});

test('add an environment, write a secret into it and read it back end to end', T, async () => {
    await ok(admin, ['environments', 'add', 'qa', '--name', 'Quality', ...pid]);
    await ok(admin, ['environments', 'add', 'first', '--position', '1', ...pid]); /* the others move down */
    const list = JSON.parse((await ok(admin, ['environments', 'list', ...pid, '--format', 'json'])).stdout);
    assert.deepEqual(list.find((e) => e.slug === 'qa'), { slug: 'qa', name: 'Quality', position: 5 });
    assert.deepEqual(list.find((e) => e.slug === 'first'), { slug: 'first', name: 'first', position: 1 });

    await ok(admin, ['secrets', 'set', 'QA_TOKEN=abc123', '--env', 'qa', ...pid]);
    const r = await ok(member.cli, ['secrets', 'get', 'QA_TOKEN', '--plain', '--env', 'qa', ...pid]);
    assert.equal(r.stdout, 'abc123\n');
});

test('refusals: duplicate slug, bad slug, bad position, not an admin', T, async () => {
    let r = await admin.arca(['environments', 'add', 'qa', ...pid]);
    assertErrorOutput(r, 5);
    assert.match(r.stderr, /'qa' already exists/);

    r = await admin.arca(['environments', 'add', 'Bad_Slug', ...pid]);
    assertErrorOutput(r, 5);
    assert.match(r.stderr, /not a valid environment slug/);

    r = await admin.arca(['environments', 'add', 'later', '--position', 'zero', ...pid]);
    assert.equal(r.code, 2, r.stderr);

    r = await member.cli.arca(['environments', 'add', 'mine', ...pid]);
    assertErrorOutput(r, 3);
    assert.match(r.stderr, /not allowed to create settings/);
    r = await member.cli.arca(['environments', 'remove', 'first', '--yes', ...pid]);
    assertErrorOutput(r, 3);

    /* the server checks too, whatever the client */
    const token = await readToken(admin);
    const res = await apiCall(srv, 'POST', `/api/arca/v1/projects/${project.id}/environments`,
        { token, body: { name: 'x', slug: '../dev' } });
    assertApiError(res, 400, 'BadRequest', res.text);
    assert.deepEqual(await envSlugs(), ['first', 'dev', 'staging', 'prod', 'qa']);
});

test('rename keeps the slug; a slug bound into stored secrets does not change', T, async () => {
    await ok(admin, ['environments', 'rename', 'qa', '--name', 'QA (shared)', ...pid]);
    const list = JSON.parse((await ok(admin, ['environments', 'list', ...pid, '--format', 'json'])).stdout);
    assert.equal(list.find((e) => e.slug === 'qa').name, 'QA (shared)');

    const token = await readToken(admin);
    let res = await apiCall(srv, 'PATCH', `/api/arca/v1/projects/${project.id}/environments/qa`,
        { token, body: { slug: 'quality' } });
    const body = assertApiError(res, 409, 'Conflict', res.text);
    assert.match(body.message, /slug cannot change/);
    /* an environment that never held a secret can change its slug */
    res = await apiCall(srv, 'PATCH', `/api/arca/v1/projects/${project.id}/environments/first`,
        { token, body: { slug: 'zeroth' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.environment.slug, 'zeroth');
    /* the secret still reads */
    const r = await ok(admin, ['secrets', 'get', 'QA_TOKEN', '--plain', '--env', 'qa', ...pid]);
    assert.equal(r.stdout, 'abc123\n');
});

test('remove: refused while secrets or their history remain, done when never used', T, async () => {
    let r = await admin.arca(['environments', 'remove', 'qa', '--yes', ...pid]);
    assertErrorOutput(r, 7);
    assert.match(r.stderr, /holds 1 secret \(1 with their history, 1 version\)/);

    await ok(admin, ['secrets', 'delete', 'QA_TOKEN', '--env', 'qa', ...pid]);
    r = await admin.arca(['environments', 'remove', 'qa', '--yes', ...pid]);
    assertErrorOutput(r, 7);
    assert.match(r.stderr, /holds 0 secrets \(1 with their history, 2 versions\)/);
    assert.match(r.stderr, /--purge/, 'the refusal says what deletes the history');

    await ok(admin, ['environments', 'remove', 'zeroth', '--yes', ...pid]);
    r = await admin.arca(['environments', 'remove', 'nowhere', '--yes', ...pid]);
    assertErrorOutput(r, 4);
    assert.deepEqual(await envSlugs(), ['dev', 'staging', 'prod', 'qa']);

    /* every change is in the audit log */
    const a = await ok(admin, ['audit-logs', 'list', ...pid, '--event', 'environment.', '--format', 'json']);
    const events = JSON.parse(a.stdout).map((e) => e.event).reverse(); /* newest first */
    assert.deepEqual(events, ['environment.create', 'environment.create', 'environment.update',
        'environment.update', 'environment.delete']);
});

test('remove --purge: shows what goes, asks, deletes the environment with its history', T,
    async () => {
        await ok(admin, ['environments', 'add', 'scratch', ...pid]);
        const env = ['--env', 'scratch', ...pid];
        await ok(admin, ['secrets', 'set', 'A', 'one', ...env]);
        await ok(admin, ['secrets', 'set', 'A', 'two', ...env]);
        await ok(admin, ['secrets', 'set', 'B', 'gone', '--path', '/app', ...env]);
        await ok(admin, ['secrets', 'delete', 'B', '--path', '/app', ...env]);

        /* a member may not (settings:delete) */
        assertErrorOutput(await member.cli.arca(['environments', 'remove', 'scratch', '--purge',
            '--yes', ...pid]), 3);
        /* the plan: 2 secrets, 4 versions; nothing changes */
        let r = await ok(admin, ['environments', 'remove', 'scratch', '--purge', '--dry-run', ...pid]);
        assert.match(r.stdout, /2 secrets and 4 versions deleted for good/);
        /* not on a terminal, without --yes: refused, nothing changes */
        r = await admin.arca(['environments', 'remove', 'scratch', '--purge', ...pid]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /2 secrets and 4 versions deleted for good/);
        assert.match(r.stderr, /arca: hint: pass --yes/);
        assert.ok((await envSlugs()).includes('scratch'));
        assert.equal((await ok(admin, ['secrets', 'get', 'A', '--plain', ...env])).stdout, 'two\n');

        r = await ok(admin, ['environments', 'remove', 'scratch', '--purge', '--yes', ...pid]);
        assert.match(r.stdout, /removed environment 'scratch' .*: 2 secrets and 4 versions deleted/);
        assert.ok(!(await envSlugs()).includes('scratch'));
        /* the same slug again starts empty: no secret, no history came back */
        await ok(admin, ['environments', 'add', 'scratch', ...pid]);
        r = await ok(admin, ['secrets', 'list', '--recursive', '--format', 'json', ...env]);
        assert.deepEqual(JSON.parse(r.stdout), []);
        assertErrorOutput(await admin.arca(['secrets', 'history', 'A', ...env]), 4);

        const a = await ok(admin, ['audit-logs', 'list', ...pid, '--event', 'environment.delete',
            '--format', 'json']);
        const purged = JSON.parse(a.stdout).find((e) => e.environment === 'scratch');
        assert.ok(purged, a.stdout);
        assert.deepEqual(purged.metadata, { slug: 'scratch', name: 'scratch', purge: true,
            secrets: 2, versions: 4 });
        await ok(admin, ['environments', 'remove', 'scratch', '--yes', ...pid]);
    });
