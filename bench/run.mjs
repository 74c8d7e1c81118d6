// run.mjs - arca's benchmark, the one command:  node bench/run.mjs [--quick]
//
// Builds arca in release mode (./build-rel; ARCA_BIN=path skips the build and
// uses that binary), installs what is missing (nginx-light and wrk as root via
// tools/lib/bench-deps.sh, @dotenvx/dotenvx with `npm ci` in bench/), starts
// everything on 127.0.0.1, runs each workload against arca and against its peer
// in alternating rounds, and prints a Markdown table (figure, arca, peer, ratio
// arca/peer, goal met ✓ or missed ✗, or "no goal") on stdout; progress goes to
// stderr and every raw number to bench/results/<date>.json.  Load comes from wrk
// (keep-alive, bounded in time); a run with a refused or failed request stops
// the bench rather than print it.  Besides the workloads: the latency of a
// 512-byte append + fdatasync on the data directory's disk and the ceiling it
// sets on durable answers, the reads and writes on PostgreSQL against SQLite
// (a throwaway cluster, tests/e2e/pg.mjs), and the bytes an audit record takes
// on disk in each store.  bench/README.md describes every figure.
//
//   --quick        seconds instead of minutes (the smoke test): 1 s rounds, one
//                  round, 1,000 secrets for the scale workload
//   --seconds N    seconds per wrk round (default 5)   --rounds N (default 3)
//   --scale N      secrets in the scale project (default 100000, 10 environments)
//   --no-pg        skip PostgreSQL (its rows say n/a)
//   --results DIR  where the JSON goes (default bench/results)
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, ensureArca, sh } from './lib/build.mjs';

const log = (...a) => console.error('bench:', ...a);

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const quick = flag('--quick');
const cfg = {
    seconds: opt('--seconds', quick ? 1 : 5),
    rounds: opt('--rounds', quick ? 1 : 3),
    scale: opt('--scale', quick ? 1000 : 100000),
    envs: 10,
    connections: 16,
    runs: quick ? 3 : 31, /* arca run / true / dotenvx run, each */
    startups: quick ? 2 : 7,
    fsync: quick ? { maxIterations: 500, maxSeconds: 1 } : { maxIterations: 5000, maxSeconds: 5 },
    pg: !flag('--no-pg'),
};

/* ---- what the bench needs ------------------------------------------------ */

const have = (cmd) => {
    try {
        execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
};
if (!have('wrk') || !have('nginx'))
    sh('bash', ['-c', '. tools/lib/deps.sh && . tools/lib/bench-deps.sh && arca_bench_deps_install']);
if (!existsSync(path.join(ROOT, 'bench', 'node_modules', '.bin', 'dotenvx')))
    sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: path.join(ROOT, 'bench') });
ensureArca();

/* the harness reads ARCA_BIN when it is loaded */
const { readToken, removeTempDirs, tempDir, ARCA_BIN } = await import('../tests/e2e/harness.mjs');
const { median, msSince, rssMiB, rssTreeMiB, startArca, timeCommand } =
    await import('./lib/procs.mjs');
const { body, identity, ok, project, rawQuery: q, readPaths, secretValue, seed, smallSetup,
    w4req, W5_ARGS, w5req } = await import('./lib/setup.mjs');
const { startNginx } = await import('./lib/nginx.mjs');
const { wrk } = await import('./lib/wrk.mjs');
const { fdatasyncLatency } = await import('./lib/disk.mjs');
const { sqliteBytes } = await import('./lib/store.mjs');
const { PG_BIN, startPostgres } = await import('../tests/e2e/pg.mjs');

/* ---- helpers -------------------------------------------------------------- */

const results = { date: new Date().toISOString(), config: cfg, binary: ARCA_BIN, rows: [],
    rss: {}, raw: {} };
const rows = results.rows;
/* d decimals, at least 2 below 10 (a 1.4 req/s figure must not print as 1) */
const fmt = (v, d = 0) => (typeof v === 'number' && Number.isFinite(v)
    ? v.toFixed(Math.abs(v) < 10 ? Math.max(d, 2) : d) : String(v));

/* One table row; ratio is arca / peer; met (true/false/undefined) marks the goal;
 * a goal of '—' is printed "no goal". */
function addRow(figure, arca, peer, goal, met, digits = 0) {
    const ratio = typeof arca === 'number' && typeof peer === 'number' ? arca / peer : null;
    rows.push({ figure, arca, peer, ratio, goal, met, digits });
    log(`${figure}: arca ${fmt(arca, digits)}, peer ${fmt(peer, digits)}`);
}

/* Alternating wrk rounds of a, b and c (each {url, path, token?, ...}; b and c
 * optional); medians as {arca, peer, peer2}. */
async function versus(name, a, b, c) {
    const runs = { a: [], b: [], c: [] };
    for (let i = 0; i < cfg.rounds; i++)
        for (const [k, w] of [['a', a], ['b', b], ['c', c]])
            if (w)
                runs[k].push(await wrk({ connections: cfg.connections, seconds: cfg.seconds, ...w }));
    results.raw[name] = runs;
    const med = (v, k) => (v.length ? median(v.map((r) => r[k])) : '—');
    const side = (v) => ({ rps: med(v, 'rps'), p50: med(v, 'p50_ms'), p99: med(v, 'p99_ms') });
    return { arca: side(runs.a), peer: side(runs.b), peer2: side(runs.c) };
}
/* A background process with stdout and stderr to logFile. */
function spawnLogged(cmd, args, logFile) {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    child.on('exit', (code, signal) => {
        if (code !== 0 && signal !== 'SIGTERM')
            log(`${path.basename(logFile)}: exited ${code ?? signal}`);
    });
    return child;
}
/* Polls fn every intervalMs until it is true (60 s at most). */
async function waitUntil(fn, what, intervalMs = 20) {
    const end = Date.now() + 60000;
    while (!fn()) {
        if (Date.now() > end)
            throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}
/* The seq of the newest audit record (token: an org admin's). */
async function newestSeq(server, token) {
    const res = await fetch(server.url + '/api/arca/v1/audit-logs?order=desc&limit=1',
        { headers: { Authorization: `Bearer ${token}` } });
    const j = await res.json();
    if (res.status !== 200 || !j.auditLogs.length)
        throw new Error(`GET /api/arca/v1/audit-logs: ${res.status} ${j.message}`);
    return j.auditLogs[0].seq;
}
/* Bytes per audit record that load (a versus() workload) adds to a store:
 * sizeOf() before and after, over the records added (seqs). */
async function auditBytes(name, { sizeOf, before, load, after }) {
    const s0 = await before();
    const b0 = await sizeOf();
    await load();
    const s1 = await after();
    const b1 = await sizeOf();
    results.raw[`${name}-bytes`] = { records: s1 - s0, bytes: b1 - b0 };
    return (b1 - b0) / (s1 - s0);
}
const ge = (x, goal) => typeof x === 'number' && x >= goal;
const le = (x, goal) => typeof x === 'number' && x <= goal;

/* The figures of a read workload against nginx serving the same bytes: req/s
 * (goal on the ratio) against nginx without an access log (peer) and with one
 * buffered as arca's (peer2, when measured), and p50/p99 against the first. */
function readRows(label, r, { ratioGoal, p99Goal } = {}) {
    const ratioRow = (figure, peer) => addRow(figure, r.arca.rps, peer.rps,
        ratioGoal ? `≥ ${ratioGoal} × peer` : '—',
        ratioGoal ? ge(r.arca.rps / peer.rps, ratioGoal) : undefined);
    ratioRow(`${label} req/s`, r.peer);
    if (typeof r.peer2.rps === 'number')
        ratioRow(`${label} req/s (peer: nginx with access_log on, buffered)`, r.peer2);
    addRow(`${label} p50 ms`, r.arca.p50, r.peer.p50, '—', undefined, 2);
    addRow(`${label} p99 ms`, r.arca.p99, r.peer.p99, p99Goal ? `≤ ${p99Goal} ms` : '—',
        p99Goal ? le(r.arca.p99, p99Goal) : undefined, 2);
}

/* ---- the run --------------------------------------------------------------- */

const work = await tempDir('arca-bench-');
const toStop = [];
let mainServer;
try {
    /* w7: start-up to the first 200 and idle memory, fresh data directories,
     * alternating with nginx starting on its own prefix */
    const start = { arca: [], nginx: [], arcaRss: [], nginxRss: [], arcaCpu: [] };
    for (let i = 0; i < cfg.startups; i++) {
        const s = await startArca(path.join(work, `fresh-${i}`));
        start.arca.push(s.startupMs);
        start.arcaCpu.push(s.cpuMs);
        start.arcaRss.push(rssMiB(s.pid));
        await s.stop();
        const n = await startNginx({});
        start.nginx.push(n.startupMs);
        await new Promise((r) => setTimeout(r, 50)); /* let the workers come up */
        start.nginxRss.push(rssTreeMiB(n.pid));
        await n.stop();
    }
    results.raw.startup = start;

    /* what the disk allows: a 512-byte append + fdatasync in the directory the
     * data directories are in, and the ceiling on durable answers it implies */
    const disk = fdatasyncLatency(work, cfg.fsync);
    results.raw.fdatasync = disk;
    const ceiling = cfg.connections / (disk.p50_ms / 1000);
    addRow(`disk: 512-byte append + fdatasync on the data dir's disk, median ms ` +
        `(${disk.iterations} in ${disk.seconds.toFixed(1)} s)`, disk.p50_ms, '—', '—', undefined, 3);
    addRow('disk: 512-byte append + fdatasync, p99 ms', disk.p99_ms, '—', '—', undefined, 3);
    addRow(`disk: ceiling, ${cfg.connections} connections each waiting for a durable record, ` +
        'one append + fdatasync per group commit (connections / median), answers/s', ceiling, '—',
    '—', undefined);
    addRow('disk: one appender, one fdatasync per record (1 / median), appends/s',
        1000 / disk.p50_ms, '—', '—', undefined);
    const ceilingRow = (label, rps) => addRow(`${label} (peer: the fdatasync ceiling)`, rps,
        ceiling, '—', undefined);

    /* the server under load, its CLI user, a 50-secret project with server access */
    const dataDir = path.join(work, 'data');
    const main = await smallSetup(dataDir);
    const { server, cli, small, bot } = main;
    mainServer = server;
    results.rss.idleSeeded = main.idleRss;

    const { w1: p1, w2: p2, w3: p3 } = readPaths(small.id);
    const files = { w1: await body(server.url + p1, bot.token),
        w2: await body(server.url + p2, bot.token), w3: await body(server.url + p3, bot.token) };
    const nginx = await startNginx(files);
    toStop.push(nginx);
    const nginxLog = await startNginx(files, { accessLog: true });
    toStop.push(nginxLog);
    const arcaReq = (p, extra) => ({ url: server.url, path: p, token: bot.token, ...extra });
    const peerReq = (name) => ({ url: nginx.url, path: '/' + name });
    const peerLogReq = (name) => ({ url: nginxLog.url, path: '/' + name });
    const afterLoad = (name) => (results.rss[name] = rssMiB(server.pid));

    /* w1-w3: reads, against nginx serving the same bytes from a file, without
     * and with an access log (arca writes one) */
    const w1 = await versus('w1', arcaReq(p1), peerReq('w1'), peerLogReq('w1'));
    readRows('w1 list 50, /api/v3/secrets/raw (server access, audited)', w1,
        { ratioGoal: 0.8, p99Goal: 5 });
    ceilingRow('w1 list 50 req/s, every read audited durably', w1.arca.rps);
    afterLoad('w1');

    /* what failing closed costs: w1 with every audit record durable before the
     * answer (the default) against a second server answering first (--audit-async) */
    const fast = await smallSetup(path.join(work, 'data-async'), ['--audit-async']);
    toStop.push(fast.server);
    const w1a = await versus('w1-audit-async', arcaReq(p1), { url: fast.server.url,
        path: `/api/v3/secrets/raw?${q(fast.small.id)}`, token: fast.bot.token });
    addRow('w1 list 50 req/s, audit durable first (peer: same, --audit-async)', w1a.arca.rps,
        w1a.peer.rps, '—', undefined);
    await fast.server.stop();
    toStop.splice(toStop.indexOf(fast.server), 1);
    readRows('w2 list 50, arca E2EE route',
        await versus('w2', arcaReq(p2), peerReq('w2'), peerLogReq('w2')), { ratioGoal: 0.8 });
    afterLoad('w2');
    readRows('w3 get 1 by name, /api/v3/secrets/raw/:name',
        await versus('w3', arcaReq(p3), peerReq('w3'), peerLogReq('w3')), { ratioGoal: 0.8 });
    afterLoad('w3');

    /* w4: durable updates (new version + audit record each), 16 writers over the
     * 50 keys of staging; no peer does that */
    const w4 = await versus('w4', w4req(server, small.id, bot.token));
    addRow('w4 durable audited updates/s, 16 writers', w4.arca.rps, '—', '≥ 5000/s',
        ge(w4.arca.rps, 5000));
    addRow('w4 update p99 ms', w4.arca.p99, '—', '—', undefined, 2);
    ceilingRow('w4 durable audited updates/s', w4.arca.rps);
    afterLoad('w4');

    /* w5: universal-auth login (Infisical's route: the client secret is sent,
     * the server derives its auth key, checks its hash, writes an access token
     * and a durable audit record), 16 connections of one identity, against a
     * server whose login rate limits are raised out of the way (the defaults,
     * 20 per address then 20 a minute, would measure 429s); no peer */
    const ls = await smallSetup(path.join(work, 'data-login'), W5_ARGS);
    toStop.push(ls.server);
    const w5 = await versus('w5', w5req(ls.server, ls.bot));
    addRow('w5 UA login/s', w5.arca.rps, '—', '≥ 5000/s',
        ge(w5.arca.rps, 5000));
    addRow('w5 UA login p99 ms', w5.arca.p99, '—', '—', undefined, 2);
    results.rss.w5 = rssMiB(ls.server.pid);
    await ls.server.stop();
    toStop.splice(toStop.indexOf(ls.server), 1);

    /* the bytes an audit record takes on SQLite: w1 reads (one secret.read
     * record each) on a server of its own, sizes taken with the server stopped
     * (its last connection checkpoints the write-ahead log into the database) */
    const bsDir = path.join(work, 'data-bytes');
    const bs = await smallSetup(bsDir);
    const bsToken = await readToken(bs.cli);
    let bsServer = bs.server;
    const bsRead = () => ({ url: bsServer.url, path: `/api/v3/secrets/raw?${q(bs.small.id)}`,
        token: bs.bot.token });
    const sqlitePerRecord = await auditBytes('audit-sqlite', {
        sizeOf: () => sqliteBytes(bsDir),
        before: async () => {
            const seq = await newestSeq(bsServer, bsToken);
            await bsServer.stop();
            return seq;
        },
        load: async () => {
            bsServer = await startArca(bsDir);
            toStop.push(bsServer);
            await versus('audit-sqlite', bsRead());
        },
        after: async () => {
            const seq = await newestSeq(bsServer, bsToken);
            await bsServer.stop();
            toStop.splice(toStop.indexOf(bsServer), 1);
            return seq;
        },
    });
    addRow('audit bytes per record on disk, SQLite (w1 reads; arca.db + wal after checkpoint)',
        sqlitePerRecord, '—', '—', undefined);

    /* the same reads and writes on PostgreSQL (a throwaway cluster on this
     * disk) against the SQLite server of w1-w4, alternating; then the bytes an
     * audit record takes there (pg_total_relation_size: table, indexes, toast) */
    const pgLabel = {
        reads: 'pg w1 list 50 req/s on PostgreSQL (peer: the same on SQLite)',
        writes: 'pg w4 durable audited updates/s on PostgreSQL, 16 writers (peer: SQLite)',
        bytes: 'audit bytes per record on disk, PostgreSQL (w1 reads; pg_total_relation_size)',
    };
    const noPg = !cfg.pg ? 'n/a (--no-pg)'
        : !existsSync(path.join(PG_BIN, 'initdb')) ? `n/a (no ${PG_BIN}/initdb)` : null;
    if (noPg) {
        addRow(pgLabel.reads, noPg, '—', '≥ 0.7 × peer', undefined);
        addRow(pgLabel.writes, noPg, '—', '≥ 2000/s', undefined);
        addRow(pgLabel.bytes, noPg, '—', '—', undefined);
    } else {
        const cluster = await startPostgres();
        try {
            const db = await cluster.createDatabase();
            const pgs = await smallSetup(path.join(work, 'data-pg'),
                ['--database-url', cluster.url(db)],
                { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
            toStop.push(pgs.server);
            const pgRead = { url: pgs.server.url, path: `/api/v3/secrets/raw?${q(pgs.small.id)}`,
                token: pgs.bot.token };
            const pr = await versus('pg-w1', pgRead, arcaReq(p1));
            addRow(pgLabel.reads, pr.arca.rps, pr.peer.rps, '≥ 0.7 × peer',
                ge(pr.arca.rps / pr.peer.rps, 0.7));
            addRow('pg w1 list 50 p99 ms on PostgreSQL (peer: SQLite)', pr.arca.p99, pr.peer.p99,
                '—', undefined, 2);
            const pw = await versus('pg-w4', w4req(pgs.server, pgs.small.id, pgs.bot.token),
                w4req(server, small.id, bot.token));
            addRow(pgLabel.writes, pw.arca.rps, pw.peer.rps, '≥ 2000/s', ge(pw.arca.rps, 2000));
            addRow('pg w4 update p99 ms on PostgreSQL (peer: SQLite)', pw.arca.p99, pw.peer.p99,
                '—', undefined, 2);
            const pgToken = await readToken(pgs.cli);
            const pgPerRecord = await auditBytes('audit-pg', {
                sizeOf: async () => Number(await cluster.psql(db,
                    "SELECT pg_total_relation_size('audit_log')")),
                before: () => newestSeq(pgs.server, pgToken),
                load: () => versus('audit-pg', pgRead),
                after: () => newestSeq(pgs.server, pgToken),
            });
            addRow(pgLabel.bytes, pgPerRecord, '—', '—', undefined);
            await pgs.server.stop();
            toStop.splice(toStop.indexOf(pgs.server), 1);
        } finally {
            await cluster.destroy();
        }
    }

    /* w6: arca run vs a bare true vs dotenvx run with the same 50 secrets */
    const envFile = path.join(work, 'bench.env');
    writeFileSync(envFile, Array.from({ length: 50 }, (_, i) => `KEY_${i}=${secretValue(i)}\n`)
        .join(''));
    const dotenvx = path.join(ROOT, 'bench', 'node_modules', '.bin', 'dotenvx');
    const runArgs = ['run', '--env=prod', '--project-id', small.id, '--', 'true'];
    const opts = { env: cli.env(), cwd: cli.cwd };
    await timeCommand(ARCA_BIN, runArgs, opts); /* warm up */
    await timeCommand(dotenvx, ['run', '-q', '-f', envFile, '--', 'true'], opts);
    const w6 = { arca: [], bare: [], dotenvx: [] };
    for (let i = 0; i < cfg.runs; i++) {
        w6.arca.push(await timeCommand(ARCA_BIN, runArgs, opts));
        w6.bare.push(await timeCommand('true', [], opts));
        w6.dotenvx.push(await timeCommand(dotenvx, ['run', '-q', '-f', envFile, '--', 'true'],
            opts));
    }
    results.raw.w6 = w6;
    const [ra, rb, rd] = [median(w6.arca), median(w6.bare), median(w6.dotenvx)];
    addRow('w6 arca run --env=prod -- true, median ms (peer: dotenvx run -f .env)', ra, rd,
        '≤ 0.05 × peer (20× faster)', le(ra / rd, 0.05), 2);
    addRow('w6 bare true, median ms (spawned the same way)', rb, '—', '—', undefined, 2);
    addRow('w6 arca run overhead over bare true, median ms', ra - rb, '—', '≤ 3 ms',
        le(ra - rb, 3), 2);
    afterLoad('w6');
    /* the same run with its server stopped: from the local encrypted cache, which
     * a run with the server up wrote (a server of its own, so the others stay up) */
    const gone = await smallSetup(path.join(work, 'data-offline'));
    const goneArgs = ['run', '--env=prod', '--project-id', gone.small.id, '--', 'true'];
    const goneOpts = { env: gone.cli.env(), cwd: gone.cli.cwd };
    await ok(gone.cli, goneArgs);
    await gone.server.stop();
    const cached = await gone.cli.arca(goneArgs);
    if (cached.code !== 0 || !/using secrets cached at/.test(cached.stderr))
        throw new Error(`arca run with the server stopped: exit ${cached.code}: ${cached.stderr}`);
    const w6c = { arca: [], bare: [] };
    for (let i = 0; i < cfg.runs; i++) {
        w6c.arca.push(await timeCommand(ARCA_BIN, goneArgs, goneOpts));
        w6c.bare.push(await timeCommand('true', [], goneOpts));
    }
    results.raw.w6cached = w6c;
    const [rc, rcb] = [median(w6c.arca), median(w6c.bare)];
    addRow('w6 arca run, server stopped (local encrypted cache), median ms (peer: dotenvx run)',
        rc, rd, '—', undefined, 2);
    addRow('w6 arca run from the cache, overhead over bare true, median ms', rc - rcb, '—', '—',
        undefined, 2);

    /* w9: arca agent (docs/agent.md) - arca run through its socket against a bare
     * true and dotenvx run, alternating; then the time from a write acknowledged by
     * the server to the agent's file holding it (change feed on, and off: polling
     * every 2 s) and to arca run --watch's new child printing it */
    const agentDir = path.join(work, 'agent');
    mkdirSync(agentDir, { recursive: true });
    writeFileSync(path.join(agentDir, 'secret'), bot.clientSecret + '\n', { mode: 0o600 });
    const agentCfg = (name, extra) => {
        const f = path.join(agentDir, `${name}.yaml`);
        writeFileSync(f, [`server: ${server.url}`, `project-id: ${small.id}`, 'auth:',
            `  client-id: ${bot.clientId}`, `  client-secret-file: ${path.join(agentDir, 'secret')}`,
            ...extra].join('\n') + '\n');
        return f;
    };
    const sock = path.join(agentDir, 'agent.sock');
    const feedFile = path.join(agentDir, 'feed.env');
    const pollFile = path.join(agentDir, 'poll.env');
    const agents = [
        spawnLogged(ARCA_BIN, ['agent', '--config', agentCfg('feed', [`socket: ${sock}`,
            'serve:', '  - environment: prod', 'templates:', '  - environment: staging', `    destination: ${feedFile}`])],
        path.join(agentDir, 'feed.log')),
        spawnLogged(ARCA_BIN, ['agent', '--config', agentCfg('poll', ['watch: false',
            'interval: 2s', 'templates:', '  - environment: staging',
            `    destination: ${pollFile}`])], path.join(agentDir, 'poll.log')),
    ];
    try {
        await waitUntil(() => existsSync(sock) && existsSync(feedFile) && existsSync(pollFile),
            'the agents to render');
        const sockArgs = ['run', '--env=prod', '--agent-socket', sock, '--', 'true'];
        await timeCommand(ARCA_BIN, sockArgs, opts);
        const w9 = { arca: [], bare: [], dotenvx: [] };
        for (let i = 0; i < cfg.runs; i++) {
            w9.arca.push(await timeCommand(ARCA_BIN, sockArgs, opts));
            w9.bare.push(await timeCommand('true', [], opts));
            w9.dotenvx.push(await timeCommand(dotenvx, ['run', '-q', '-f', envFile, '--', 'true'],
                opts));
        }
        results.raw.w9run = w9;
        const [sa, sb, sd] = [median(w9.arca), median(w9.bare), median(w9.dotenvx)];
        addRow('w9 arca run via the agent socket, median ms (peer: dotenvx run -f .env)', sa, sd,
            '≤ 0.01 × peer (100× faster)', le(sa / sd, 0.01), 2);
        addRow('w9 arca run via the agent socket, overhead over bare true, median ms', sa - sb, '—',
            '≤ 2 ms', le(sa - sb, 2), 2);

        /* the watch: a child printing KEY_0 of staging, restarted on each write */
        const watcher = spawn(ARCA_BIN, ['run', '--watch', '--grace', '1s', '--env=staging',
            '--project-id', small.id, '--', 'sh', '-c', 'echo "v=$KEY_0"; exec sleep 1000'],
        { env: cli.env(), cwd: cli.cwd, stdio: ['ignore', 'pipe', 'ignore'] });
        let watchOut = '';
        watcher.stdout.on('data', (d) => (watchOut += d));
        const lat = { feed: [], poll: [], watch: [] };
        try {
            await waitUntil(() => /v=/.test(watchOut), 'run --watch to start');
            const rounds = quick ? 2 : 7;
            for (let i = 0; i < rounds; i++) {
                const value = `agent-bench-${i}-${Date.now()}`;
                const res = await fetch(`${server.url}/api/v3/secrets/raw/KEY_0`, { method: 'PATCH',
                    headers: { Authorization: `Bearer ${bot.token}`, 'Content-Type': 'application/json' },
                    body: JSON.stringify({ workspaceId: small.id, environment: 'staging',
                        secretPath: '/', secretValue: value }) });
                const t0 = process.hrtime.bigint();
                if (res.status !== 200)
                    throw new Error(`PATCH KEY_0: ${res.status} ${await res.text()}`);
                const seen = { feed: null, poll: null, watch: null };
                await waitUntil(() => {
                    if (seen.feed === null && readFileSync(feedFile, 'utf8').includes(value))
                        seen.feed = msSince(t0);
                    if (seen.poll === null && readFileSync(pollFile, 'utf8').includes(value))
                        seen.poll = msSince(t0);
                    if (seen.watch === null && watchOut.includes(`v=${value}`))
                        seen.watch = msSince(t0);
                    return seen.feed !== null && seen.poll !== null && seen.watch !== null;
                }, 'the agents and run --watch to follow a write', 1);
                for (const k of Object.keys(lat))
                    lat[k].push(seen[k]);
            }
        } finally {
            watcher.kill('SIGTERM');
        }
        results.raw.w9latency = lat;
        addRow('w9 write to the agent\'s file changed, change feed, median ms', median(lat.feed), '—',
            '≤ 1000 ms', le(median(lat.feed), 1000), 0);
        addRow('w9 write to the agent\'s file changed, polling every 2 s (no feed), median ms',
            median(lat.poll), '—', '≤ 2000 ms (the interval)', le(median(lat.poll), 2000), 0);
        addRow('w9 write to run --watch\'s new child running, median ms', median(lat.watch), '—',
            '≤ 1000 ms', le(median(lat.watch), 1000), 0);
    } finally {
        for (const a of agents)
            a.kill('SIGTERM');
    }

    /* w8: scale - a project of cfg.scale secrets in 10 environments, each holding
     * the 50 keys at / and the rest in /bulk; its reads against the same reads of
     * the 50-secret project, alternating */
    const big = await project(cli, 'bench-scale');
    const perEnv = Math.floor(cfg.scale / cfg.envs);
    const envs = ['dev', 'staging', 'prod'];
    for (let i = envs.length; i < cfg.envs; i++) {
        await ok(cli, ['environments', 'add', `e${i}`, '--project-id', big.id]);
        envs.push(`e${i}`);
    }
    const t0 = Date.now();
    for (const env of envs) {
        await seed(cli, big.id, env, '/', 0, 50);
        await ok(cli, ['folders', 'create', 'bulk', '--env', env, '--project-id', big.id]);
        await seed(cli, big.id, env, '/bulk', 50, perEnv);
        log(`seeded ${env}: ${perEnv} secrets`);
    }
    results.seedSeconds = (Date.now() - t0) / 1000;
    results.seeded = perEnv * envs.length;
    const bigBot = await identity(server, cli, 'bench-bot-scale', big.id);
    const bigReq = (p) => ({ url: server.url, path: p, token: bigBot.token });
    const n = results.seeded.toLocaleString('en-US');
    const s1 = await versus('w8-list50', bigReq(`/api/v3/secrets/raw?${q(big.id)}`), arcaReq(p1));
    addRow(`w8 list 50 req/s, ${n} secrets in project (peer: w1, 50)`, s1.arca.rps, s1.peer.rps,
        '≥ 0.67 × peer (1.5×)', ge(s1.arca.rps / s1.peer.rps, 1 / 1.5));
    const s3 = await versus('w8-get', bigReq(`/api/v3/secrets/raw/KEY_25?${q(big.id)}`),
        arcaReq(p3));
    addRow(`w8 get by name req/s, ${n} secrets in project (peer: w3)`, s3.arca.rps, s3.peer.rps,
        '≥ 0.67 × peer (1.5×)', ge(s3.arca.rps / s3.peer.rps, 1 / 1.5));
    const pAll = `/api/v3/secrets/raw?${q(big.id, '&recursive=true')}`;
    const bigFiles = { w8all: await body(server.url + pAll, bigBot.token) };
    const nginx2 = await startNginx(bigFiles);
    toStop.push(nginx2);
    const nginx2Log = await startNginx(bigFiles, { accessLog: true });
    toStop.push(nginx2Log);
    /* answers of megabytes: 4 connections, so that none waits past wrk's timeout */
    const sAll = await versus('w8-list-env', { ...bigReq(pAll), connections: 4 },
        { url: nginx2.url, path: '/w8all', connections: 4 },
        { url: nginx2Log.url, path: '/w8all', connections: 4 });
    const perEnvN = perEnv.toLocaleString('en-US');
    readRows(`w8 list ${perEnvN} (one environment, recursive, 4 connections, ` +
        `${(bigFiles.w8all.length / 1e6).toFixed(1)} MB)`, sAll, { ratioGoal: 0.3 });
    afterLoad('w8');
    results.rss.nginxAfterLoad = rssTreeMiB(nginx.pid);
    for (const s of toStop.splice(0))
        await s.stop();
    await server.stop();
    mainServer = null;

    /* w7 again: start-up on the data directory the load left behind */
    const again = [];
    for (let i = 0; i < cfg.startups; i++) {
        const s = await startArca(dataDir);
        again.push(s.startupMs);
        await s.stop();
    }
    results.raw.startupExisting = again;
    addRow('w7 start-up to first 200, fresh data dir, ms (peer: nginx)', median(start.arca),
        median(start.nginx), '≤ 50 ms', le(median(start.arca), 50), 1);
    addRow('w7 start-up CPU ms of arca server (all threads) to the first 200, fresh data dir',
        median(start.arcaCpu), '—', '—', undefined, 1);
    addRow(`w7 start-up, data dir after the load (${n} secrets), ms`, median(again), '—',
        '≤ 50 ms', le(median(again), 50), 1);
    addRow('w7 RSS idle MiB (peer: nginx master + 2 workers)', median(start.arcaRss),
        median(start.nginxRss), '≤ 10 MiB', le(median(start.arcaRss), 10), 1);
    const loads = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w8']; /* w5: its own server */
    const maxRss = Math.max(...loads.map((w) => results.rss[w]));
    addRow(`w7 RSS after load MiB, max over ${loads.join(' ')}`, maxRss,
        results.rss.nginxAfterLoad, '≤ 64 MiB', le(maxRss, 64), 1);
} finally {
    for (const s of toStop)
        await s.stop();
    if (mainServer)
        await mainServer.stop();
    await removeTempDirs();
}

/* ---- the table -------------------------------------------------------------- */

/* the disk first, then in workload order (w7's figures are taken partly at the
 * end), then PostgreSQL and the audit log's bytes; sort is stable */
const rank = (f) => (f.startsWith('disk') ? 0 : /^w\d/.test(f) ? Number(f[1])
    : f.startsWith('pg') ? 10 : 11);
rows.sort((a, b) => rank(a.figure) - rank(b.figure));
const goalCell = (r) => (r.goal === '—' ? 'no goal'
    : r.goal + (r.met === true ? ' ✓' : r.met === false ? ' ✗' : ' (not measured)'));
const out = [
    `arca benchmark ${results.date}: ${cfg.connections} keep-alive connections (wrk), ` +
        `${cfg.rounds} alternating round(s) of ${cfg.seconds} s, medians; ratio = arca / peer`,
    `scale project: ${results.seeded.toLocaleString('en-US')} secrets seeded in ` +
        `${results.seedSeconds.toFixed(1)} s; the peer of a read is nginx (access_log off) ` +
        'serving the same bytes unless the figure names another',
    '',
    '| figure | arca | peer | ratio | goal |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${fmt(r.arca, r.digits)} | ${fmt(r.peer, r.digits)} | ` +
        `${r.ratio === null ? '—' : r.ratio.toFixed(2)} | ${goalCell(r)} |`),
];
console.log(out.join('\n'));
const dir = argv.includes('--results') ? path.resolve(argv[argv.indexOf('--results') + 1])
    : path.join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
log(`raw numbers in ${path.relative(ROOT, file)}`);
