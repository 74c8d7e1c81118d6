// operations.test.mjs - what an operator meets on a bad day (issue 18).
//
// The root key: the store remembers a check value of it, so a server started
// with another key refuses to start (saying so) instead of taking writes that
// break the audit chain; a store made before the check gets it from the first
// server that starts, and `audit-logs verify` then tells records written with
// another key from changed ones.  `arca server rotate-root-key` re-seals the
// server-access project keys and continues the audit chain under the new key
// with a link record: a project with server access still serves its values,
// verify checks the whole chain across two rotations (one to a new root.key,
// one from ARCA_ENCRYPTION_KEY to ARCA_NEW_ENCRYPTION_KEY), and the old keys
// are refused; a server left running with the old key fails closed
// rather than extending the chain with it.  Readiness: /api/ready answers 503 while the audit log cannot
// be written (and 200 again once it can), /api/status stays 200, neither is
// logged at info.  `arca version` names the schema version and the build.
//
// Runs on SQLite, and on PostgreSQL with ARCA_TEST_PG=1 (the harness's
// database for the data directory; the key in root.key there too).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    apiCall, bootstrapAndLogin, newCli, PG_MODE, readToken, removeTempDirs, REQ_ID_RE, startServer,
    storeSql, waitFor,
} from './harness.mjs';

const T = { timeout: 300000 };
const servers = [];
let tool; /* a CLI context for the commands that need no server */

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function serve(opts) {
    const s = await startServer(opts);
    servers.push(s);
    return s;
}

/* The command line s was started with (its store included), after "arca". */
const commandOf = (s) => s.proc.spawnargs.slice(1);
/* The flags that name s's store, for the commands that work on it. */
function storeArgs(s) {
    const a = commandOf(s);
    const out = ['--data-dir', s.dataDir];
    const i = a.indexOf('--database-url');
    return i >= 0 ? [...out, '--database-url', a[i + 1]] : out;
}

/* Starts s's command again with env; it must refuse to start. */
async function refusedStart(s, env) {
    const r = await tool.arca(commandOf(s), { env, timeoutMs: 30000 });
    assert.equal(r.code, 1, `the server must refuse to start:\n${r.stderr}`);
    return r;
}

const keyFile = (s) => path.join(s.dataDir, 'root.key');
const readKey = async (s) => (await readFile(keyFile(s), 'utf8')).trim();

/* A CLI logged in as admin on srv. */
async function loginOn(srv, admin) {
    const c = await newCli(srv);
    await ok(c, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
    return c;
}

/* SQL that lets the next statements change a record of the append-only log. */
const unguarded = (text) => (PG_MODE ? 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; '
    : 'DROP TRIGGER IF EXISTS audit_log_no_update; ') + text;

async function verify(c) {
    const r = await c.arca(['audit-logs', 'verify', '--format', 'json']);
    return { code: r.code, ...JSON.parse(r.stdout) };
}

before(async () => {
    tool = await newCli(null);
});

after(async () => {
    for (const s of servers)
        await s.kill();
    await removeTempDirs();
});

test('a server with another root key refuses to start, and the right key still starts', T, async () => {
    const s = await serve();
    const c = await newCli(s);
    const admin = await bootstrapAndLogin(c);
    await s.stop();

    const r = await refusedStart(s, { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    assert.match(r.stderr, /the root key is not the one this store was made with: refusing to start/);
    assert.doesNotMatch(r.stderr, /"msg":"listening"/);

    const again = await serve({ dataDir: s.dataDir, args: commandOf(s).slice(commandOf(s).indexOf('--data-dir') + 2) });
    const v = await verify(await loginOn(again, admin));
    assert.equal(v.ok, true, JSON.stringify(v));
    await again.stop();
});

test('a store from before the check: written by the first server; verify tells wrong key from tampering', T, async () => {
    const s = await serve();
    const c = await newCli(s);
    const admin = await bootstrapAndLogin(c);
    await ok(c, ['projects', 'create', 'before-the-check']);

    /* one record changed after it was written: tampered, at that record */
    await storeSql(s, unguarded("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = 2"));
    let v = await verify(c);
    assert.equal(v.code, 8);
    assert.equal(v.ok, false);
    assert.equal(v.cause, 'tampered', JSON.stringify(v));
    assert.equal(v.firstBadSeq, 2);
    await s.stop();
    await storeSql(s, unguarded("UPDATE audit_log SET ip = '127.0.0.1' WHERE seq = 2"));

    /* as a store made before migration 0008, started with another key: that
     * server takes it as the store's key, and its records follow on */
    await storeSql(s, 'DELETE FROM root_keys');
    const rest = commandOf(s).slice(commandOf(s).indexOf('--data-dir') + 2);
    const other = randomBytes(32).toString('base64');
    const w = await serve({ dataDir: s.dataDir, args: rest, env: { ARCA_ENCRYPTION_KEY: other } });
    const cw = await loginOn(w, admin);
    await ok(cw, ['projects', 'create', 'after-the-check']);
    v = await verify(cw);
    assert.equal(v.code, 8);
    assert.equal(v.ok, false);
    assert.equal(v.cause, 'wrong-key', JSON.stringify(v));
    assert.equal(v.firstBadSeq, 1, 'every record before that server fails, linked');
    assert.match(v.reason, /another root key/);
    const text = await cw.arca(['audit-logs', 'verify']);
    assert.match(text.stdout, /written with ANOTHER ROOT KEY from record 1/);
    await w.stop();
    assert.equal(Number((await storeSql(s, 'SELECT count(*) FROM root_keys')).trim()), 1,
        'the first server wrote the check');
    const r = await refusedStart(s, {});
    assert.match(r.stderr, /not the one this store was made with/, 'now root.key is the wrong one');
});

test('rotate-root-key: server access and the audit chain carry over, old keys are refused', T, async () => {
    const s = await serve(); /* its key in root.key */
    const c = await newCli(s);
    const admin = await bootstrapAndLogin(c);
    const p = JSON.parse((await ok(c, ['projects', 'create', 'rotated', '--server-access',
        '--format', 'json'])).stdout);
    await ok(c, ['secrets', 'set', 'DB_URL=postgres://db/one', '--env', 'prod', '--project-id', p.id]);
    const raw = async (srv, cli) => {
        const r = await apiCall(srv, 'GET', `/api/v3/secrets/raw/DB_URL?workspaceId=${p.id}` +
            '&environment=prod&secretPath=%2F', { token: await readToken(cli) });
        assert.equal(r.status, 200, r.text);
        return r.json.secret.secretValue;
    };
    assert.equal(await raw(s, c), 'postgres://db/one');
    const before = await verify(c);
    assert.equal(before.ok, true);
    await s.stop();
    const rest = commandOf(s).slice(commandOf(s).indexOf('--data-dir') + 2);
    const rotate = (env) => tool.arca(['server', 'rotate-root-key', ...storeArgs(s)], { env });

    /* with a wrong current key: refused, nothing changes */
    const k1 = await readKey(s);
    let r = await rotate({ ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /not the one this store was made with/);
    assert.equal(await readKey(s), k1);

    /* 1 -> 2: a new random key written over root.key */
    r = await rotate({});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /root key rotated/);
    assert.match(r.stderr, /"generation":"2"/);
    assert.match(r.stderr, /"serverAccessProjects":"1"/);
    const k2 = await readKey(s);
    assert.notEqual(k2, k1);
    assert.equal((await stat(keyFile(s))).mode & 0o777, 0o600);
    assert.ok(!r.stderr.includes(k1) && !r.stderr.includes(k2), 'no key in the output');
    r = await refusedStart(s, { ARCA_ENCRYPTION_KEY: k1 });
    assert.match(r.stderr, /the root key is one this store had before 'arca server rotate-root-key' replaced it: refusing to start \(.*to the new key/);
    assert.match(r.stderr, /"generation":"1"/);

    let s2 = await serve({ dataDir: s.dataDir, args: rest });
    let c2 = await loginOn(s2, admin);
    assert.equal(await raw(s2, c2), 'postgres://db/one', 'the server-access key was re-sealed');
    await ok(c2, ['secrets', 'set', 'DB_URL=postgres://db/two', '--env', 'prod', '--project-id', p.id]);
    let v = await verify(c2);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.ok(v.records > before.records + 1, 'the records of both keys are checked');
    const link = JSON.parse((await ok(c2, ['audit-logs', 'list', '--event', 'server.root_key.rotate',
        '--format', 'json'])).stdout);
    assert.equal(link.length, 1, JSON.stringify(link));
    assert.equal(link[0].actor.type, 'server');
    assert.equal(link[0].metadata.generation, 2);
    await s2.stop();

    /* 2 -> 3: from ARCA_ENCRYPTION_KEY to ARCA_NEW_ENCRYPTION_KEY, with a server
     * forgotten running: it fails closed instead of chaining with the old key */
    s2 = await serve({ dataDir: s.dataDir, args: rest });
    c2 = await loginOn(s2, admin);
    const k3 = randomBytes(32).toString('base64');
    r = await rotate({ ARCA_ENCRYPTION_KEY: k2, ARCA_NEW_ENCRYPTION_KEY: k3 });
    assert.equal(r.code, 0, r.stderr);
    const late = await apiCall(s2, 'GET', `/api/v3/secrets/raw/DB_URL?workspaceId=${p.id}` +
        '&environment=prod&secretPath=%2F', { token: await readToken(c2) });
    assert.equal(late.status, 500, 'the re-sealed project key does not open with the old key');
    const audited = await apiCall(s2, 'GET', '/api/arca/v1/audit-logs?limit=1', { token: await readToken(c2) });
    assert.equal(audited.status, 503, audited.text);
    assert.equal((await apiCall(s2, 'GET', '/api/ready')).status, 503);
    await s2.stop();
    assert.ok(s2.logs.some((l) => l.includes('the root key was rotated: restart this server')));
    r = await rotate({ ARCA_ENCRYPTION_KEY: k3, ARCA_NEW_ENCRYPTION_KEY: k3 });
    assert.equal(r.code, 1, 'the same key again is refused');
    r = await refusedStart(s, { ARCA_ENCRYPTION_KEY: k2 });
    assert.match(r.stderr, /before 'arca server rotate-root-key' replaced it.*"generation":"2"/);
    s2 = await serve({ dataDir: s.dataDir, args: rest, env: { ARCA_ENCRYPTION_KEY: k3 } });
    c2 = await loginOn(s2, admin);
    assert.equal(await raw(s2, c2), 'postgres://db/two');
    v = await verify(c2);
    assert.equal(v.ok, true, JSON.stringify(v));

    /* a removed link record breaks the chain where it was */
    const seq = (await storeSql(s2, "SELECT seq FROM audit_log WHERE event = 'server.root_key.rotate' " +
        'ORDER BY seq LIMIT 1')).trim();
    await storeSql(s2, unguarded(`UPDATE audit_log SET event = 'auth.login' WHERE seq = ${seq}`));
    v = await verify(c2);
    assert.equal(v.ok, false);
    assert.equal(v.firstBadSeq, Number(seq));
    await s2.stop();
});

test('rotate-root-key refuses a data directory that holds no store, or no current key', T, async () => {
    const dir = path.join(os.tmpdir(), `arca-no-store-${randomBytes(6).toString('hex')}`);
    const r = await tool.arca(['server', 'rotate-root-key', '--data-dir', dir, '--database-url', '']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /no arca store in '.*' \(it has no arca.db\)/);
    await assert.rejects(stat(dir), 'neither a store nor a key was made there');

    /* the key in ARCA_ENCRYPTION_KEY (as /etc/arca/arca.env has it), forgotten here: said so,
     * and no root.key is made in the data directory (SQLite: on PostgreSQL the harness keeps
     * a root.key in every data directory) */
    if (PG_MODE)
        return;
    const s = await serve({ env: { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
    await s.stop();
    const none = await tool.arca(['server', 'rotate-root-key', ...storeArgs(s)],
        { env: { ARCA_ENCRYPTION_KEY: '', ARCA_NEW_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /^arca: error: no current root key: ARCA_ENCRYPTION_KEY is not set and there is no '.*root\.key'\narca: hint: set ARCA_ENCRYPTION_KEY/);
    await assert.rejects(stat(keyFile(s)), 'no stray root.key');
});

test('readiness: 503 while the audit log cannot be written, 200 again after; liveness stays 200', T,
    async () => {
        const s = await serve();
        const c = await newCli(s);
        await bootstrapAndLogin(c);
        const token = await readToken(c);
        const ready = () => apiCall(s, 'GET', '/api/ready');
        let r = await ready();
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.store, 'ok');
        assert.equal(r.json.auditLog, 'ok');

        /* a trigger makes every audit insert fail: the store itself answers */
        await storeSql(s, PG_MODE
            ? 'CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION ' +
              "'audit off'; END $$ LANGUAGE plpgsql; CREATE TRIGGER no_audit BEFORE INSERT ON " +
              'audit_log FOR EACH ROW EXECUTE FUNCTION no_audit()'
            : "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit off'); END");
        const failed = await apiCall(s, 'GET', '/api/arca/v1/audit-logs?limit=1', { token });
        assert.equal(failed.status, 503, failed.text);
        assert.equal(failed.json.error, 'ServiceUnavailable');
        assert.equal(failed.json.message, 'the database is unavailable');
        assert.ok(!failed.text.includes('audit off'), 'no detail of the failure');
        r = await ready();
        assert.equal(r.status, 503, r.text);
        assert.equal(r.json.auditLog, 'failing');
        assert.match(r.json.message, /audit log cannot be written/);
        assert.equal((await ready()).status, 503, 'still, while it cannot');
        assert.equal((await apiCall(s, 'GET', '/api/status')).status, 200, 'liveness stays 200');

        await storeSql(s, PG_MODE ? 'DROP TRIGGER no_audit ON audit_log; DROP FUNCTION no_audit()'
            : 'DROP TRIGGER no_audit');
        r = await ready();
        assert.equal(r.status, 200, r.text);
        assert.equal((await apiCall(s, 'GET', '/api/arca/v1/audit-logs?limit=1', { token })).status, 200);
        await s.stop();

        const probes = s.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
            .filter((l) => l.msg === 'request' && ['/api/ready', '/api/status'].includes(l.path));
        assert.deepEqual(probes, [], 'probes are not logged at info');
        assert.ok(s.logs.some((l) => l.includes('"path":"/api/arca/v1/audit-logs"')),
            'other requests are');
    });

test('request log: buffered, written within a while without a stop, every line there after a clean stop', T,
    async () => {
        const s = await serve();
        const logged = () => s.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
            .filter((l) => l.msg === 'request' && l.path === '/api/v1/workspace');
        /* not a full buffer: the flusher writes the line, the server still running */
        const first = await fetch(s.url + '/api/v1/workspace');
        assert.equal(first.status, 401);
        const firstId = first.headers.get('x-request-id');
        await waitFor(() => logged().some((l) => l.reqId === firstId),
            { what: 'the request line written while the server runs' });
        /* 600 requests on 8 connections at once: more than the buffer holds */
        const ids = [firstId];
        for (let round = 0; round < 75; round++)
            ids.push(...await Promise.all(Array.from({ length: 8 }, async () => {
                const res = await fetch(s.url + '/api/v1/workspace');
                await res.arrayBuffer();
                assert.equal(res.status, 401);
                return res.headers.get('x-request-id');
            })));
        await s.stop();
        for (const id of ids)
            assert.match(id, REQ_ID_RE);
        assert.equal(new Set(ids).size, ids.length, 'request ids are unique');
        const lines = logged();
        assert.deepEqual(lines.map((l) => l.reqId).sort(), [...ids].sort(),
            'one line per request, none lost at the stop');
        for (const l of lines)
            assert.ok(l.status === 401 && l.method === 'GET' && Number.isInteger(l.durationUs), JSON.stringify(l));
    });

test('arca version names the schema version and the build', T, async () => {
    const r = await ok(tool, ['version']);
    assert.match(r.stdout, /^arca \d+\.\d+\.\d+\n/);
    assert.match(r.stdout, /^schema version \d+ /m);
    assert.match(r.stdout, /^build \S+$/m);
});
