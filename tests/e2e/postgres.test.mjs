// postgres.test.mjs - several arca servers on one PostgreSQL database.
//
// The file starts its own throwaway cluster (pg.mjs), so it runs in both
// modes of the suite.  Two servers on one database: a write on one is read on
// the other at once, though the other had the old reply cached, while a write
// to another project leaves that cached reply current (per-project epochs:
// the other server's /metrics counts the hit); a session ended on one is
// refused by the other;
// concurrent writes through both lose nothing (version numbers count every
// write) and the audit log stays one verifiable chain; folders and imports
// made at once through both get one row each and positions without twins; an access token limited
// to N uses serves N requests through both in all.  Three servers started
// at the same moment on an empty database all come up and apply each
// migration once.  A database restart: requests get a 503 JSON error while it
// is down ("the database is unavailable", nothing more; the log line has
// PostgreSQL's text of the call that failed), readiness says 503 and
// liveness 200, the CLI names the database (arca run's cache notice too, not
// a proxy), the server answers again by itself once it is back, and every
// write acknowledged before the stop is still there; a restart between two
// requests goes unnoticed.  A server started before PostgreSQL is up waits for
// it (logging each attempt) and serves once it is; with --db-wait 0 it fails at
// once.  A server with another root key is refused by the shared database.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
    apiCall, assertApiError, bootstrapAndLogin, createProject, fakeRecord, newCli, readToken,
    removeTempDirs, startServer, waitFor,
} from './harness.mjs';
import { startPostgres } from './pg.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
const ROOT_KEY = randomBytes(32).toString('base64'); /* every server on a database shares it */
const q = (env) => `environment=${env}&secretPath=%2F`;

let pg;
let dbName;
let a; /* servers A and B on one database */
let b;
let cliA;
let cliB;
let admin;
let project;
const servers = [];

async function serverOn(db) {
    const s = await startServer({ args: ['--database-url', pg.url(db), '--metrics-listen', '127.0.0.1:0'],
        env: { ARCA_ENCRYPTION_KEY: ROOT_KEY } });
    servers.push(s);
    return s;
}

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* One write of KEY through the batch route of server s. */
function write(s, token, key, value = fakeRecord()) {
    return apiCall(s, 'POST', `${V1}/projects/${project.id}/secrets/batch`,
        { token, body: { environment: 'prod', secretPath: '/', secrets: [{ key, value }] } });
}

async function versions(s, token, key) {
    const r = await apiCall(s, 'GET', `${V1}/projects/${project.id}/secrets/${key}/versions?${q('prod')}`,
        { token });
    assert.equal(r.status, 200, r.text);
    return r.json.versions;
}

before(async () => {
    pg = await startPostgres();
    dbName = await pg.createDatabase();
    a = await serverOn(dbName);
    b = await serverOn(dbName);
    cliA = await newCli(a);
    admin = await bootstrapAndLogin(cliA);
    project = await createProject(cliA, 'shared');
    cliB = await newCli(b);
    await ok(cliB, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
});

after(async () => {
    for (const s of servers)
        await s.kill();
    await pg?.destroy();
    await removeTempDirs();
});

test('a write on one server is read on the other at once', T, async () => {
    const pid = ['--project-id', project.id, '--env', 'prod'];
    for (let i = 0; i < 5; i++) {
        const value = `v${i}-${randomBytes(8).toString('hex')}`;
        await ok(cliA, ['secrets', 'set', `SHARED_KEY=${value}`, ...pid]);
        assert.equal((await ok(cliB, ['secrets', 'get', 'SHARED_KEY', '--plain', ...pid])).stdout, value + '\n');
    }
    await ok(cliB, ['secrets', 'delete', 'SHARED_KEY', ...pid]);
    const gone = await cliA.arca(['secrets', 'get', 'SHARED_KEY', '--plain', ...pid]);
    assert.equal(gone.code, 4, `deleted on B, not found on A: ${gone.stderr}`);
});

/* Server s's reply-cache hits so far (/metrics). */
async function cacheHits(s) {
    const line = s.logs.map((l) => JSON.parse(l)).find((r) => r.msg === 'metrics listening');
    const text = await (await fetch(`http://${line.listen}/metrics`)).text();
    return Number(text.match(/^arca_cache_requests_total\{result="hit"\} (\d+)$/m)[1]);
}

test('a cached reply on one server: current after another project changed on the other, not after its own did', T,
    async () => {
        const other = await createProject(cliA, 'other');
        const token = await readToken(cliA);
        const pid = ['--project-id', project.id, '--env', 'prod'];
        await ok(cliA, ['secrets', 'set', 'CACHED_KEY=one', ...pid]);
        const read = async () => {
            const r = await apiCall(b, 'GET', `${V1}/projects/${project.id}/secrets/CACHED_KEY?${q('prod')}`,
                { token });
            assert.equal(r.status, 200, r.text);
            return r.text;
        };
        const first = await read();
        let hits = await cacheHits(b);
        assert.equal(await read(), first);
        assert.equal(await cacheHits(b), ++hits, 'B answers the repeated read from its cache');
        await ok(cliA, ['secrets', 'set', `ELSEWHERE=${fakeRecord()}`, '--project-id', other.id, '--env', 'prod']);
        assert.equal(await read(), first);
        assert.equal(await cacheHits(b), ++hits, 'a write to another project on A: still current on B');
        await ok(cliA, ['secrets', 'set', 'CACHED_KEY=two', ...pid]);
        assert.notEqual(await read(), first, 'a write to the project on A: B loads the new version');
        assert.equal(await cacheHits(b), hits);
        assert.equal((await ok(cliB, ['secrets', 'get', 'CACHED_KEY', '--plain', ...pid])).stdout, 'two\n');
    });

test('a session ended on one server is refused by the other', T, async () => {
    const token = await readToken(cliA);
    assert.equal((await apiCall(b, 'GET', `${V1}/users/me`, { token })).status, 200, 'valid on B');
    await ok(cliA, ['logout']);
    const r = await apiCall(b, 'GET', `${V1}/users/me`, { token });
    assertApiError(r, 401, 'UnauthorizedError', r.text);
    await ok(cliA, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
});

test('concurrent writes through both servers lose nothing; the audit chain stays one', T, async () => {
    const [ta, tb] = [await readToken(cliA), await readToken(cliB)];
    const N = 50;
    const calls = [];
    for (let i = 0; i < N; i++)
        for (const [s, t, own] of [[a, ta, 'OWN_A'], [b, tb, 'OWN_B']])
            calls.push(write(s, t, 'RACE'), write(s, t, own), write(s, t, `${own}_${i}`));
    for (const r of await Promise.all(calls))
        assert.equal(r.status, 200, r.text);

    /* every write is a version, numbered without gaps or twins */
    const race = (await versions(b, tb, 'RACE')).map((v) => v.version).sort((x, y) => x - y);
    assert.deepEqual(race, Array.from({ length: 2 * N }, (_, i) => i + 1));
    for (const key of ['OWN_A', 'OWN_B'])
        assert.equal((await versions(a, ta, key)).length, N, key);
    const list = await apiCall(a, 'GET', `${V1}/projects/${project.id}/secrets?${q('prod')}`, { token: ta });
    assert.equal(list.status, 200, list.text);
    const keys = new Set((list.json.secrets ?? list.json).map((x) => x.key));
    for (let i = 0; i < N; i++)
        assert.ok(keys.has(`OWN_A_${i}`) && keys.has(`OWN_B_${i}`), `OWN_A_${i}, OWN_B_${i}`);

    /* both servers appended to one chain; either verifies all of it */
    for (const c of [cliA, cliB]) {
        const v = JSON.parse((await ok(c, ['audit-logs', 'verify', '--format', 'json'])).stdout);
        assert.equal(v.ok, true, JSON.stringify(v));
        assert.ok(v.records >= 6 * N, `records: ${v.records}`);
    }
    const seqs = await pg.psql(dbName, 'SELECT count(*), min(seq), max(seq) FROM audit_log');
    const [count, min, max] = seqs.trim().split('|').map(Number);
    assert.equal(min, 1);
    assert.equal(max, count, 'seq has no gaps');
});

test('folders and imports made at once through both servers: one row each, positions 1..n', T, async () => {
    const [ta, tb] = [await readToken(cliA), await readToken(cliB)];
    const N = 12;
    const calls = [];
    /* secrets into new nested folders, the same ones through both servers */
    for (let i = 0; i < N; i++)
        for (const [s, t] of [[a, ta], [b, tb]])
            calls.push(apiCall(s, 'POST', `${V1}/projects/${project.id}/secrets/batch`, { token: t,
                body: { environment: 'prod', secretPath: `/race/f${i % 3}/deep`,
                    secrets: [{ key: `K_${i}`, value: fakeRecord() }] } }));
    /* and imports into one folder */
    for (let i = 0; i < N; i++)
        calls.push(apiCall(i % 2 ? a : b, 'POST', `${V1}/projects/${project.id}/imports`,
            { token: i % 2 ? ta : tb, body: { environment: 'dev', path: '/imported',
                import: { environment: 'prod', path: `/src${i}` } } }));
    for (const r of await Promise.all(calls))
        assert.equal(r.status, 200, r.text);

    const rows = (await pg.psql(dbName, "SELECT path, count(*) FROM folders WHERE path LIKE '/race%' " +
        'GROUP BY path ORDER BY path')).trim().split('\n');
    assert.deepEqual(rows, ['/race|1', ...[0, 1, 2].flatMap((i) => [`/race/f${i}|1`, `/race/f${i}/deep|1`])]);
    const list = await apiCall(b, 'GET', `${V1}/projects/${project.id}/imports?environment=dev&path=%2Fimported`,
        { token: tb });
    assert.equal(list.status, 200, list.text);
    const imports = list.json.imports ?? list.json.secretImports ?? list.json;
    assert.deepEqual(imports.map((x) => x.position).sort((x, y) => x - y),
        Array.from({ length: N }, (_, i) => i + 1), 'no twins, no gaps');
});

test('an access token limited to N uses serves exactly N requests across both servers', T, async () => {
    const N = 10;
    const id = JSON.parse((await ok(cliA, ['identities', 'create', 'limited-bot',
        '--access-token-num-uses-limit', String(N), '--format', 'json'])).stdout);
    const login = await apiCall(b, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: id.clientId, clientSecret: id.clientSecret } });
    assert.equal(login.status, 200, login.text);
    const token = login.json.accessToken;
    const calls = [];
    for (let i = 0; i < N; i++)
        for (const s of [a, b])
            calls.push(apiCall(s, 'GET', `${V1}/identities`, { token }));
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    assert.equal(statuses.filter((x) => x === 200).length, N, `statuses: ${statuses}`);
    assert.equal(statuses.filter((x) => x === 401).length, N, `statuses: ${statuses}`);
});

test('servers started at the same moment on an empty database apply each migration once', T, async () => {
    const db = await pg.createDatabase();
    const three = await Promise.all([serverOn(db), serverOn(db), serverOn(db)]);
    for (const s of three)
        assert.equal((await apiCall(s, 'GET', '/api/status')).status, 200);
    const rows = (await pg.psql(db, 'SELECT version, count(*) FROM schema_migrations GROUP BY version ' +
        'ORDER BY version')).trim().split('\n').map((l) => l.split('|').map(Number));
    assert.ok(rows.length >= 4, `migrations: ${JSON.stringify(rows)}`);
    assert.deepEqual(rows.map(([, n]) => n), rows.map(() => 1), 'each version once');
    assert.equal(rows[0][0], 1);
    /* and they work: bootstrap through one, log in through another */
    const c = await newCli(three[0]);
    const who = await bootstrapAndLogin(c, { email: 'race@example.com' });
    const c2 = await newCli(three[2]);
    await ok(c2, ['login', '--email', who.email, '--password-stdin'], { input: who.password + '\n' });
    for (const s of three)
        await s.stop();
});

test('a database restart: 503 while it is down, answers again by itself, nothing acknowledged lost', T,
    async () => {
        const ta = await readToken(cliA);
        const acked = {};
        for (let i = 0; i < 20; i++) {
            const key = `DURABLE_${i}`;
            const value = fakeRecord();
            const r = await write(a, ta, key, value);
            assert.equal(r.status, 200, r.text);
            acked[key] = value;
        }

        /* a real value (the DURABLE_ ones are fake ciphertext), read once: in the cache */
        const dev = ['--project-id', project.id, '--env', 'dev'];
        await ok(cliA, ['secrets', 'set', 'RUN_ME=cached-value', ...dev]);
        const echo = ['run', ...dev, '--', 'sh', '-c', 'echo "$RUN_ME"'];
        assert.equal((await ok(cliA, echo)).stdout, 'cached-value\n');

        await pg.stop();
        const downValue = fakeRecord();
        const logged = a.logs.length;
        for (const [method, route, body] of [['GET', `${V1}/projects/${project.id}/secrets?${q('prod')}`],
            ['GET', `${V1}/users/me`],
            ['POST', `${V1}/projects/${project.id}/secrets/batch`,
                { environment: 'prod', secretPath: '/', secrets: [{ key: 'DOWN', value: downValue }] }]]) {
            const r = await apiCall(a, method, route, { token: ta, body });
            assertApiError(r, 503, 'ServiceUnavailable', r.text);
            assert.equal(r.json.message, 'the database is unavailable', 'and no detail');
        }
        /* the log says why: the store's own text of the call that failed, never a value */
        const failed = a.logs.slice(logged).map((l) => JSON.parse(l)).filter((l) => l.msg === 'request failed');
        assert.ok(failed.length >= 1, a.logs.slice(logged).join('\n'));
        for (const l of failed)
            assert.match(l.error, /\(-5\): postgres: (cannot connect|.*SQLSTATE)/, JSON.stringify(l));
        assert.ok(!a.logs.join('\n').includes(downValue), 'no value in the log');
        assert.ok(a.running && b.running, 'the servers keep running');
        const ready = await apiCall(a, 'GET', '/api/ready');
        assert.equal(ready.status, 503, ready.text);
        assert.equal(ready.json.store, 'unavailable');
        assert.equal((await apiCall(a, 'GET', '/api/status')).status, 200, 'liveness stays 200');
        let r = await cliA.arca(['secrets', 'list', ...dev]);
        assert.equal(r.code, 6, r.stderr);
        assert.match(r.stderr, /the arca server answered 503: the database is unavailable/);
        r = await cliA.arca([...echo.slice(0, 5), '--no-cache', ...echo.slice(5)]);
        assert.equal(r.code, 6, r.stderr);
        assert.match(r.stderr, /the database is unavailable/);
        assert.doesNotMatch(r.stderr, /proxy/);
        r = await cliA.arca(echo);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'cached-value\n', 'arca run falls back on its cache');
        assert.match(r.stderr, /\(it answered 503: the database is unavailable\); using secrets cached/);

        await pg.start();
        await waitFor(async () => (await apiCall(a, 'GET', `${V1}/users/me`, { token: ta })).status === 200,
            { what: 'server A to answer again' });
        assert.equal((await apiCall(a, 'GET', '/api/ready')).status, 200, 'ready again');
        const tb = await readToken(cliB);
        for (const [s, t] of [[a, ta], [b, tb]]) {
            for (const [key, value] of Object.entries(acked)) {
                const r = await apiCall(s, 'GET', `${V1}/projects/${project.id}/secrets/${key}?${q('prod')}`,
                    { token: t });
                assert.equal(r.status, 200, `${key}: ${r.text}`);
                assert.ok(r.text.includes(value), `${key} has the acknowledged value`);
            }
        }
        const w = await write(b, tb, 'AFTER_RESTART');
        assert.equal(w.status, 200, w.text);

        /* a restart between two requests goes unnoticed: the pooled connections
         * are dead, the first request finds out and runs on a fresh one */
        await pg.stop();
        await pg.start();
        const again = await write(b, tb, 'AFTER_SECOND_RESTART');
        assert.equal(again.status, 200, again.text);
        assert.equal((await apiCall(a, 'GET', `${V1}/users/me`, { token: ta })).status, 200);
        const v = JSON.parse((await ok(cliA, ['audit-logs', 'verify', '--format', 'json'])).stdout);
        assert.equal(v.ok, true, JSON.stringify(v));
        for (const s of [a, b])
            await s.stop();
    });

test('a server started before PostgreSQL is up waits for it, and serves once it is', T, async () => {
    const db = await pg.createDatabase();
    const url = pg.url(db);
    const tool = await newCli(null);
    let r = await tool.arca(['server', '--listen', '127.0.0.1:0', '--database-url', url, '--db-wait', 'soon']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--db-wait \(or ARCA_DB_WAIT\) must be a number of seconds/);

    await pg.stop();
    /* --db-wait 0: fails at once, saying why */
    r = await tool.arca(['server', '--listen', '127.0.0.1:0', '--database-url', url, '--db-wait', '0'],
        { env: { ARCA_ENCRYPTION_KEY: ROOT_KEY }, timeoutMs: 30000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot open the store/);
    assert.doesNotMatch(r.stderr, /trying again/);

    let retried;
    const sawRetry = new Promise((resolve) => (retried = resolve));
    const starting = startServer({ args: ['--database-url', url], env: { ARCA_ENCRYPTION_KEY: ROOT_KEY },
        onLine: (l) => l.includes('cannot reach the database yet') && retried() });
    starting.catch(() => retried());
    await sawRetry; /* the server is up and waiting; now the database comes */
    await pg.start();
    const s = await starting;
    servers.push(s);
    const waits = s.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'cannot reach the database yet: trying again');
    assert.ok(waits.length >= 1, 'each attempt is logged');
    assert.equal(waits[0].attempt, '2');
    assert.match(waits[0].database, new RegExp(`127\\.0\\.0\\.1:${pg.port}/${db}`));
    assert.equal((await apiCall(s, 'GET', '/api/ready')).status, 200);
    const c = await newCli(s);
    await bootstrapAndLogin(c, { email: 'late@example.com' });
    await ok(c, ['projects', 'create', 'after-the-wait']);
    await s.stop();

    /* the database keeps the first server's root key check: another key is refused */
    r = await tool.arca(['server', '--listen', '127.0.0.1:0', '--database-url', url],
        { env: { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') }, timeoutMs: 30000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the root key is not the one this store was made with/);
});
