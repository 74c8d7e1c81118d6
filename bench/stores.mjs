// stores.mjs - arca on PostgreSQL against arca on SQLite, in the same run.
//
// Starts a throwaway PostgreSQL cluster (tests/e2e/pg.mjs) and three arca
// servers: one on SQLite, two (A and B) on one PostgreSQL database.  Each
// store gets the same project: 50 secrets in prod.  Then, alternating SQLite
// and PostgreSQL rounds (so machine noise hits both alike):
//   reads   GET the 50-secret list (arca's own route: ciphertext as stored,
//           every read audited and durable), `conc` keep-alive clients;
//   writes  one secret written per request (a new version and its audit
//           record, both durable), `conc` clients on distinct keys;
// and the time from a write acknowledged by A to B serving it (B polled as
// fast as one client can).  Prints medians and issue 17's goals for
// PostgreSQL, each met (✓) or missed (✗): reads ≥ 0.7 × SQLite's, writes ≥
// 2,000/s; measures, asserts nothing.  (bench/run.mjs measures the same goals
// with wrk on the Infisical routes, in its pg rows.)
// Usage: node bench/stores.mjs [seconds per round] [rounds] [concurrency]
// (ARCA_BIN selects the binary: build a release one for real figures).
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import {
    bootstrapAndLogin, createProject, fakeRecord, newCli, readToken, removeTempDirs, startServer,
} from '../tests/e2e/harness.mjs';
import { startPostgres } from '../tests/e2e/pg.mjs';

const SECONDS = Number(process.argv[2] || 5);
const ROUNDS = Number(process.argv[3] || 3);
const CONC = Number(process.argv[4] || 16);
const V1 = '/api/arca/v1';
const ROOT_KEY = randomBytes(32).toString('base64');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(server, method, route, token, body) {
    const url = new URL(route, server.url);
    const data = body ? JSON.stringify(body) : null;
    return new Promise((resolve, reject) => {
        const req = http.request(url, {
            method, agent, headers: {
                authorization: `Bearer ${token}`,
                ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}),
            },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        req.end(data);
    });
}

function write(store, key, i) {
    return request(store.server, 'POST', `${V1}/projects/${store.project}/secrets/batch`, store.token,
        { environment: 'prod', secretPath: '/', secrets: [{ key, value: fakeRecord(48 + (i % 7)) }] });
}

/* Requests made by CONC clients in SECONDS: per second. */
async function throughput(fn) {
    const end = Date.now() + SECONDS * 1000;
    let n = 0;
    await Promise.all(Array.from({ length: CONC }, async (_, c) => {
        for (let i = 0; Date.now() < end; i++) {
            const r = await fn(c, i);
            if (r.status !== 200)
                throw new Error(`HTTP ${r.status}: ${r.text}`);
            n++;
        }
    }));
    return n / SECONDS;
}

async function setUp(name, server) {
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, name);
    const pairs = Array.from({ length: 50 }, (_, i) => `KEY_${i}=value-${i}-${'x'.repeat(40)}`);
    const r = await cli.arca(['secrets', 'set', ...pairs, '--env=prod', '--project-id', p.id]);
    if (r.code !== 0)
        throw new Error(r.stderr);
    return { server, cli, project: p.id, token: await readToken(cli) };
}

const median = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];

const pg = await startPostgres();
const db = await pg.createDatabase();
const env = { ARCA_ENCRYPTION_KEY: ROOT_KEY };
const sqliteServer = await startServer({ env });
const a = await startServer({ args: ['--database-url', pg.url(db)], env });
const b = await startServer({ args: ['--database-url', pg.url(db)], env });
try {
    const stores = { sqlite: await setUp('bench', sqliteServer), postgres: await setUp('bench', a) };
    const onB = { ...stores.postgres, server: b };
    const figures = { sqlite: { reads: [], writes: [] }, postgres: { reads: [], writes: [] } };
    const list = (s) => () => request(s.server, 'GET',
        `${V1}/projects/${s.project}/secrets?environment=prod&path=/`, s.token);
    for (let round = 0; round < ROUNDS; round++)
        for (const name of ['sqlite', 'postgres']) {
            const s = stores[name];
            figures[name].reads.push(await throughput(list(s)));
            figures[name].writes.push(await throughput((c, i) => write(s, `W_${c}`, i)));
        }

    /* A write acknowledged by A, then B polled until it serves that version. */
    const lags = [];
    for (let i = 0; i < 50; i++) {
        const w = await write(stores.postgres, 'LAG', i);
        const version = JSON.parse(w.text).secrets[0].version;
        const t0 = process.hrtime.bigint();
        for (;;) {
            const r = await request(b, 'GET',
                `${V1}/projects/${onB.project}/secrets/LAG?environment=prod&path=/`, onB.token);
            if (r.status === 200 && JSON.parse(r.text).secret.version === version)
                break;
        }
        lags.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }

    const row = (figure, s, p, goal, met) => console.log(`| ${figure} | ${s.toFixed(0)} | ` +
        `${p.toFixed(0)} | ${(p / s).toFixed(2)} | ${goal} ${met ? '✓' : '✗'} |`);
    console.log(`${ROUNDS} rounds of ${SECONDS} s, ${CONC} clients, medians`);
    console.log('| figure | SQLite | PostgreSQL | PostgreSQL / SQLite | goal |');
    console.log('|---|---|---|---|---|');
    const [sr, pr] = [median(figures.sqlite.reads), median(figures.postgres.reads)];
    const [sw, pw] = [median(figures.sqlite.writes), median(figures.postgres.writes)];
    row('list 50 secrets, req/s', sr, pr, 'PostgreSQL ≥ 0.7 × SQLite', pr >= 0.7 * sr);
    row('durable writes, req/s', sw, pw, 'PostgreSQL ≥ 2000/s', pw >= 2000);
    console.log(`write on A seen on B: median ${median(lags).toFixed(2)} ms, max ${Math.max(...lags).toFixed(2)} ms (50 writes; B's first read after A's answer)`);
} finally {
    for (const s of [sqliteServer, a, b])
        await s.kill();
    agent.destroy();
    await removeTempDirs();
}
