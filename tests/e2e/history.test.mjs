// history.test.mjs - versions and rollback through the CLI: `secrets history`
// shows every version with who and when; `secrets rollback --version N`
// writes version N again as a new version; `secrets rollback --to TIME` makes a
// whole folder as it was at TIME (updates undone, deletions restored, later
// creations deleted), every change a new version, the history keeping all.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    apiCall, assertErrorOutput, bootstrapAndLogin, createProject, inviteAndSignup, newCli, readToken,
    removeTempDirs, startServer, waitFor,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let project;
let owner; /* {email, id} */
let pid;

async function ok(args, opts, c = cli) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* `secrets history --format json`, newest first, normalised to
 * {version, value (null: deleted), updatedAt, actor}. */
async function history(key, env, { path = '/', c = cli } = {}) {
    const r = await ok(['secrets', 'history', key, '--env', env, '--path', path, ...pid,
        '--format', 'json'], undefined, c);
    const j = JSON.parse(r.stdout);
    const arr = Array.isArray(j) ? j : j.versions;
    assert.ok(Array.isArray(arr), `history --format json is a list: ${r.stdout}`);
    for (const v of arr) {
        assert.equal(typeof v.version, 'number', 'each version has a number');
        assert.ok(v.value === null || typeof v.value === 'string', 'value: a string, null if deleted');
        assert.ok(!Number.isNaN(Date.parse(v.updatedAt)), `updatedAt is a time: ${v.updatedAt}`);
    }
    return arr;
}

/* The actor of a version as the CLI shows it: an id, an e-mail or an object. */
function actorOf(v) {
    const a = v.actor ?? v.actorId ?? v.actorEmail ?? v.by;
    if (a && typeof a === 'object')
        return [a.id, a.email, a.name].filter(Boolean);
    return a ? [a] : [];
}

async function listObj(env, p = '/') {
    const r = await ok(['secrets', 'list', '--env', env, '--path', p, ...pid, '--format', 'json']);
    return Object.fromEntries(JSON.parse(r.stdout).map((s) => [s.key, s]));
}

const values = (o) => Object.fromEntries(Object.entries(o).map(([k, s]) => [k, s.value]));

/* Waits until the clock is past a whole second after every write so far, and
 * returns that second as an ISO time ("2026-11-29T10:00:01Z"). */
async function secondAfterNow() {
    const t = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await waitFor(() => Date.now() > t + 50, { timeoutMs: 5000, intervalMs: 50, what: 'the clock' });
    return new Date(t).toISOString().replace(/\.000Z$/, 'Z');
}

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    const admin = await bootstrapAndLogin(cli);
    project = await createProject(cli, 'history');
    pid = ['--project-id', project.id];
    const me = await apiCall(srv, 'GET', '/api/arca/v1/users/me', { token: await readToken(cli) });
    assert.equal(me.status, 200, me.text);
    owner = { email: admin.email, id: me.json.user.id };
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test('three writes: history shows three versions, newest first, with who and when', T, async () => {
    for (const v of ['v1', 'v2', 'v3'])
        await ok(['secrets', 'set', `DATABASE_URL=postgres://${v}`, '--env', 'prod', ...pid]);
    const h = await history('DATABASE_URL', 'prod');
    assert.deepEqual(h.map((v) => v.version), [3, 2, 1]);
    assert.deepEqual(h.map((v) => v.value), ['postgres://v3', 'postgres://v2', 'postgres://v1']);
    for (const v of h) {
        const who = actorOf(v);
        assert.ok(who.length > 0, `version ${v.version} names who wrote it: ${JSON.stringify(v)}`);
        assert.ok(who.some((w) => w === owner.email || w === owner.id),
            `version ${v.version} was written by the owner: ${who}`);
    }
    assert.ok(Date.parse(h[0].updatedAt) >= Date.parse(h[2].updatedAt), 'newest first');

    /* the table form names every version too, and never a value by default */
    const t = await ok(['secrets', 'history', 'DATABASE_URL', '--env', 'prod', ...pid]);
    for (const n of ['1', '2', '3'])
        assert.match(t.stdout, new RegExp(`(^|\\s)${n}(\\s|$)`, 'm'));
});

test('rollback --version 2 writes version 4 with version 2\'s value', T, async () => {
    const r = await ok(['secrets', 'rollback', 'DATABASE_URL', '--version', '2', '--env', 'prod', ...pid]);
    assert.match(r.stdout, /4/, `rollback names the new version: ${r.stdout}`);
    const g = await ok(['secrets', 'get', 'DATABASE_URL', '--env', 'prod', '--plain', ...pid]);
    assert.equal(g.stdout, 'postgres://v2\n');
    const h = await history('DATABASE_URL', 'prod');
    assert.deepEqual(h.map((v) => v.version), [4, 3, 2, 1]);
    assert.deepEqual(h.map((v) => v.value),
        ['postgres://v2', 'postgres://v3', 'postgres://v2', 'postgres://v1'], 'history keeps everything');

    /* --format json */
    const j = await ok(['secrets', 'rollback', 'DATABASE_URL', '--version', '1', '--env', 'prod', ...pid,
        '--format', 'json']);
    const o = JSON.parse(j.stdout);
    const rec = Array.isArray(o) ? o[0] : o.secret ?? o;
    assert.equal(rec.version, 5, j.stdout);
    assert.equal((await listObj('prod')).DATABASE_URL.value, 'postgres://v1');
});

test('rollback to a version that does not exist: exit 4, nothing written', T, async () => {
    const r = await cli.arca(['secrets', 'rollback', 'DATABASE_URL', '--version', '99', '--env', 'prod',
        ...pid]);
    assertErrorOutput(r, 4);
    const n = await cli.arca(['secrets', 'rollback', 'NO_SUCH_KEY', '--version', '1', '--env', 'prod',
        ...pid]);
    assertErrorOutput(n, 4);
    assert.equal((await history('DATABASE_URL', 'prod')).length, 5);
});

test('rollback to a deleted version deletes; rolling back again restores', T, async () => {
    await ok(['secrets', 'set', 'TEMP=first', '--env', 'dev', ...pid]);
    await ok(['secrets', 'delete', 'TEMP', '--env', 'dev', ...pid]);
    await ok(['secrets', 'set', 'TEMP=third', '--env', 'dev', ...pid]);
    let h = await history('TEMP', 'dev');
    assert.deepEqual(h.map((v) => v.value), ['third', null, 'first']);
    await ok(['secrets', 'rollback', 'TEMP', '--version', '2', '--env', 'dev', ...pid]);
    assertErrorOutput(await cli.arca(['secrets', 'get', 'TEMP', '--env', 'dev', ...pid]), 4);
    await ok(['secrets', 'rollback', 'TEMP', '--version', '1', '--env', 'dev', ...pid]);
    assert.equal((await ok(['secrets', 'get', 'TEMP', '--env', 'dev', '--plain', ...pid])).stdout,
        'first\n');
    h = await history('TEMP', 'dev');
    assert.deepEqual(h.map((v) => v.value), ['first', null, 'third', null, 'first']);
});

test('point-in-time rollback of a folder: updates undone, deletions restored, creations deleted', T,
    async () => {
        const p = ['--path', '/app'];
        await ok(['secrets', 'set', 'A=a-at-t0', 'B=b-at-t0', '--env', 'staging', ...p, ...pid]);
        /* a secret in another folder and another environment: untouched by the rollback */
        await ok(['secrets', 'set', 'OUTSIDE=stays', '--env', 'staging', ...pid]);
        const t1 = await secondAfterNow();

        await ok(['secrets', 'set', 'A=a-after-t1', '--env', 'staging', ...p, ...pid]);
        await ok(['secrets', 'delete', 'B', '--env', 'staging', ...p, ...pid]);
        await ok(['secrets', 'set', 'C=c-after-t1', '--env', 'staging', ...p, ...pid]);
        await ok(['secrets', 'set', 'OUTSIDE=changed', '--env', 'staging', ...pid]);
        assert.deepEqual(values(await listObj('staging', '/app')), { A: 'a-after-t1', C: 'c-after-t1' });

        await ok(['secrets', 'rollback', '--env=staging', '--path', '/app', '--to', t1, '--yes', ...pid]);

        assert.deepEqual(values(await listObj('staging', '/app')), { A: 'a-at-t0', B: 'b-at-t0' },
            `/app as it was at ${t1}`);
        assert.equal((await listObj('staging')).OUTSIDE.value, 'changed', 'other folders untouched');

        /* all as new versions; the history keeps everything */
        const o = { path: '/app' };
        assert.deepEqual((await history('A', 'staging', o)).map((v) => [v.version, v.value]),
            [[3, 'a-at-t0'], [2, 'a-after-t1'], [1, 'a-at-t0']]);
        assert.deepEqual((await history('B', 'staging', o)).map((v) => [v.version, v.value]),
            [[3, 'b-at-t0'], [2, null], [1, 'b-at-t0']]);
        assert.deepEqual((await history('C', 'staging', o)).map((v) => [v.version, v.value]),
            [[2, null], [1, 'c-after-t1']]);
        assertErrorOutput(await cli.arca(['secrets', 'get', 'C', '--env', 'staging', ...p, ...pid]), 4);

        /* the same rollback again leaves the folder as it is */
        await ok(['secrets', 'rollback', '--env=staging', '--path', '/app', '--to', t1, '--yes', ...pid]);
        assert.deepEqual(values(await listObj('staging', '/app')), { A: 'a-at-t0', B: 'b-at-t0' });
    });

test('point-in-time rollback to before anything existed deletes everything in the folder', T,
    async () => {
        const p = ['--path', '/old'];
        await ok(['secrets', 'set', 'X=1', 'Y=2', '--env', 'dev', ...p, ...pid]);
        await ok(['secrets', 'set', 'X=11', '--env', 'dev', ...p, ...pid]);
        const r = await ok(['secrets', 'rollback', '--env=dev', '--path', '/old', '--yes', '--to',
            '2000-01-01T00:00:00Z', ...pid, '--format', 'json']);
        const j = JSON.parse(r.stdout);
        const changes = Array.isArray(j) ? j : j.secrets;
        assert.deepEqual(changes.map((c) => [c.key, c.action]).sort(), [['X', 'deleted'], ['Y', 'deleted']]);
        assert.deepEqual(await listObj('dev', '/old'), {});
        assert.deepEqual((await history('X', 'dev', { path: '/old' })).map((v) => v.value), [null, '11', '1']);
        assert.deepEqual((await history('Y', 'dev', { path: '/old' })).map((v) => v.value), [null, '2']);
    });

test('history and rollback need the right role: a viewer reads history but cannot roll back', T,
    async () => {
        const v = await inviteAndSignup(cli, srv, 'viewer@example.com');
        await ok(['members', 'add', 'viewer@example.com', '--role', 'viewer', ...pid]);
        const h = await history('DATABASE_URL', 'prod', { c: v.cli });
        assert.equal(h[0].value, 'postgres://v1');
        const n = h.length;
        const r = await v.cli.arca(['secrets', 'rollback', 'DATABASE_URL', '--version', '3', '--env', 'prod',
            ...pid]);
        assertErrorOutput(r, 3);
        const f = await v.cli.arca(['secrets', 'rollback', '--env=prod', '--path', '/', '--to',
            '2000-01-01T00:00:00Z', ...pid]);
        assertErrorOutput(f, 3);
        assert.equal((await history('DATABASE_URL', 'prod')).length, n, 'nothing written');
    });
