// audit_scale.mjs - the audit log at scale: queries on a store holding tens of
// millions of audit records.
//
//   node bench/audit_scale.mjs [--records 50000000] [--seconds 900] [--queries 5] [--query-seconds 120]
//                              [--via-store 1000000] [--projects 10] [--actors 1000]
//                              [--keep] [--results DIR]
//
// Starts arca on a fresh SQLite data directory (in TMPDIR: about 0.5 KB a
// record on disk), creates --projects projects, stops it, appends --records
// synthetic records with bench/audit_gen.c (--via-store of them through the
// store's own audit_append, the rest copies of those; a dummy hash chain) for
// at most --seconds (it prints how many were made when the bound hits first;
// the indexes are created again after that bound), starts the server again
// on that store and times the queries `arca audit-logs list` makes (GET
// /api/arca/v1/audit-logs, the newest 100, org admin) filtered by actor,
// project, event, time range, all three, and an actor with no record (the
// whole log to look through without an index): --queries different values
// each (no more once a filter's took --query-seconds, default 120), p50 and
// max of the wall time of a request.  Prints a Markdown table; raw numbers go
// to bench/results/audit-scale-<date>.json.  ARCA_BIN selects the binary (the
// generator then comes from ARCA_BUILD_DIR or the build ARCA_BIN is in); else
// a release build in build-rel/.  --keep leaves the data directory behind.
import { spawn } from 'node:child_process';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, ensureArca } from './lib/build.mjs';

const log = (...a) => console.error('audit-scale:', ...a);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const cfg = {
    records: opt('--records', 50000000),
    seconds: opt('--seconds', 900),
    viaStore: opt('--via-store', 1000000),
    queries: opt('--queries', 5),
    querySeconds: opt('--query-seconds', 120),
    projects: opt('--projects', 10),
    actors: opt('--actors', 1000),
    days: 365,
};
if (argv.includes('--keep'))
    process.env.ARCA_TEST_KEEP = '1';

const buildDir = ensureArca();
const GEN = path.join(buildDir, 'tests', 'unit', 'audit_gen');
const { bootstrapAndLogin, newCli, readToken, removeTempDirs, tempDir } =
    await import('../tests/e2e/harness.mjs');
const { median, msSince, startArca } = await import('./lib/procs.mjs');
const { sqliteBytes } = await import('./lib/store.mjs');

/* Runs the generator; its progress to stderr; resolves to its JSON line. */
function generate(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(GEN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()))
            : reject(new Error(`audit_gen exited ${code}`))));
    });
}

const results = { date: new Date().toISOString(), config: cfg, queries: {} };
const work = await tempDir('arca-audit-scale-');
const dataDir = path.join(work, 'data');
const { bavail, bsize } = statfsSync(work);
log(`data directory ${dataDir} (${(bavail * bsize / 1e9).toFixed(0)} GB free)`);
let server;
try {
    server = await startArca(dataDir);
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const projects = [];
    for (let i = 0; i < cfg.projects; i++) {
        const r = await cli.arca(['projects', 'create', `audit-scale-${i}`, '--format', 'json']);
        if (r.code !== 0)
            throw new Error(`arca projects create: exit ${r.code}: ${r.stderr}`);
        projects.push(JSON.parse(r.stdout));
    }
    const token = await readToken(cli);
    await server.stop();
    server = null;

    log(`appending ${cfg.records} records, for ${cfg.seconds} s at most`);
    const gen = await generate(['--dir', dataDir, '--org', projects[0].organizationId,
        '--projects', projects.map((p) => p.id).join(','), '--records', String(cfg.records),
        '--seconds', String(cfg.seconds), '--actors', String(cfg.actors), '--days',
        String(cfg.days), '--via-store', String(cfg.viaStore)]);
    results.generated = gen;
    results.storeBytes = sqliteBytes(dataDir);
    log(`${gen.records} records in ${gen.seconds} s (${gen.indexSeconds} s creating the ` +
        `indexes); store ${(results.storeBytes / 1e9).toFixed(2)} GB`);

    server = await startArca(dataDir);
    results.startupMs = server.startupMs;
    const query = async (params) => {
        const t0 = process.hrtime.bigint();
        const res = await fetch(`${server.url}/api/arca/v1/audit-logs?order=desc&limit=100&` +
            new URLSearchParams(params), { headers: { Authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(30 * 60 * 1000) });
        const j = await res.json();
        const ms = msSince(t0);
        if (res.status !== 200)
            throw new Error(`GET audit-logs ${new URLSearchParams(params)}: ${res.status} ${j.message}`);
        return { ms, n: j.auditLogs.length };
    };
    const span = gen.spanMs;
    const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    /* the k-th of n windows of length ms spread over the generated span */
    const window = (k, ms) => {
        const since = gen.startMs + Math.floor((k + 0.5) * span / cfg.queries);
        return { since: iso(since), until: iso(since + ms) };
    };
    /* audit_gen's ids: 8 hex digits of k * 2654435761 mod 2^32 first */
    const actor = (k) => `${((k * 2654435761) % 4294967296).toString(16).padStart(8, '0')}` +
        `-0000-4000-8000-${k.toString(16).padStart(12, '0')}`;
    const events = ['secret.update', 'secret.create', 'permission.denied',
        'auth.universal-auth.login', 'secret.read'];
    const kinds = [
        [`actor (one of ${cfg.actors.toLocaleString('en-US')} identities)`, (k) => ({ actor: actor((k * 97) % cfg.actors) })],
        [`project (one of ${cfg.projects})`, (k) => ({ projectId: projects[k % projects.length].id })],
        ['event (secret.update 8%, secret.create 3%, permission.denied 1%, …)',
            (k) => ({ event: events[k % events.length] })],
        ['time range (one hour)', (k) => window(k, 3600000)],
        ['project + event secret.update + one day', (k) => ({
            projectId: projects[k % projects.length].id, event: 'secret.update',
            ...window(k, 86400000) })],
        ['actor with no record (all to look through without an index)',
            () => ({ actor: '0c000000-0000-4000-8000-000000000000' })],
    ];
    const rows = [];
    for (const [label, params] of kinds) {
        const runs = [];
        const end = Date.now() + cfg.querySeconds * 1000;
        for (let k = 0; k < cfg.queries && (k === 0 || Date.now() < end); k++)
            runs.push(await query(params(k)));
        results.queries[label] = runs;
        rows.push(`| ${label} | ${runs.length} | ${median(runs.map((r) => r.ms)).toFixed(1)} | ` +
            `${Math.max(...runs.map((r) => r.ms)).toFixed(1)} | ${median(runs.map((r) => r.n))} |`);
        log(`${label}: ${runs.map((r) => r.ms.toFixed(1)).join(' ')} ms`);
    }
    await server.stop();
    server = null;

    const n = gen.records.toLocaleString('en-US');
    const bound = gen.records < cfg.records
        ? ` (the ${cfg.seconds} s bound hit before ${cfg.records.toLocaleString('en-US')})` : '';
    console.log([
        `arca audit log at scale ${results.date}: ${n} synthetic records${bound}, made in ` +
            `${gen.seconds.toFixed(0)} s (${gen.viaStore.toLocaleString('en-US')} through the ` +
            `store's audit_append, the rest copied; ${gen.indexSeconds.toFixed(0)} s of it ` +
            `creating the indexes); store ` +
            `${(results.storeBytes / 1e9).toFixed(2)} GB (${(results.storeBytes / gen.records).toFixed(0)} ` +
            `bytes/record); server start-up on it ${results.startupMs.toFixed(0)} ms`,
        `queries: GET /api/arca/v1/audit-logs?order=desc&limit=100 (as arca audit-logs list), ` +
            `org admin, ${cfg.queries} values each (fewer when they took over ` +
            `${cfg.querySeconds} s), wall time of one request`,
        '',
        '| filter | queries | p50 ms | max ms | records returned (median) |',
        '|---|---|---|---|---|',
        ...rows,
    ].join('\n'));
    const dir = argv.includes('--results') ? path.resolve(argv[argv.indexOf('--results') + 1])
        : path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `audit-scale-${results.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    log(`raw numbers in ${path.relative(ROOT, file)}`);
} finally {
    if (server)
        await server.stop();
    await removeTempDirs();
}
