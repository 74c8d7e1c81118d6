// profile.mjs - what stands between each read/write figure of issue 17 and its
// goal:  node bench/profile.mjs [--seconds N] [--no-pg] [--no-perf]
//
// Starts arca (a release build, as bench/run.mjs: build-rel/ unless ARCA_BIN),
// nginx serving the same bytes (access_log off) and, unless --no-pg, a
// throwaway PostgreSQL cluster; then, one wrk run of N seconds each (16
// keep-alive connections, 2 threads):
//   1. w1 (list 50 on the raw route, every read audited durably), w2 (the same
//      list on arca's end-to-end route), w3 (get by name), w4 (16 PATCH
//      writers), w5 (universal-auth logins), and w1/w4 on PostgreSQL: req/s and the CPU time per request of
//      each process in the same run - arca (all threads), wrk, nginx, the
//      PostgreSQL backends - and how much of the machine's cores each used;
//   2. the floors: arca serving one of its own embedded static files (the web
//      app's css: libmicrohttpd and the access log, no app, no audit) against
//      nginx serving the same bytes, and w1 with --audit-async;
//   3. a CPU breakdown of arca per workload from `perf record -F 999
//      --call-graph dwarf -p PID` over a second wrk run: the share of samples
//      and the µs per request of each bucket of BUCKETS (below), by thread;
//   4. per goal, what the figure would be if arca were CPU-bound on the cores
//      wrk leaves, and if a bucket cost nothing.
// Markdown on stdout, progress on stderr, raw numbers in
// bench/results/profile-<date>.json.  It measures, asserts nothing.
//
//   --seconds N    seconds per wrk run (default 3)
//   --no-pg        skip PostgreSQL
//   --no-perf      skip the perf breakdown (3., and the zero-cost lines of 4.)
//   --results DIR  where the JSON goes (default bench/results)
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT, ensureArca } from './lib/build.mjs';

const log = (...a) => console.error('profile:', ...a);
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const cfg = {
    seconds: opt('--seconds', 3),
    connections: 16,
    cores: os.availableParallelism(),
    pg: !argv.includes('--no-pg'),
    perf: !argv.includes('--no-perf'),
    perfFreq: 999,
};
const PERF = '/usr/bin/perf';

/* Where a perf sample's CPU time goes: the first rule that matches names its
 * bucket.  any: a symbol anywhere on the call stack; dso: a library anywhere
 * on it (either matches when a rule has both); leaf: the DSO of the innermost
 * frame (libmicrohttpd exports only its API's symbols: the rest of it is
 * attributed by DSO).  Ordered from the most specific; the last matches every
 * sample. */
const BUCKETS = [
    ['fdatasync (the commit\'s flush)', { any: /^(fdatasync|__x64_sys_fdatasync|do_fsync|vfs_fsync_range)$/ }],
    ['wait handoff (futex, pthread cond/mutex)', { any: /^(futex_\w+|__x64_sys_futex|do_futex|(__)?pthread_(cond|mutex)_\w+|___pthread_(cond|mutex)_\w+|__lll_lock_\w+)$/ }],
    ['suspend/resume (audit_hold, http_resume, MHD_*_connection)', { any: /^(audit_hold|http_resume|MHD_suspend_connection|MHD_resume_connection)$/ }],
    ['audit: insert (sql_audit_insert)', { any: /^sql_audit_insert$/ }],
    ['SQLite commit / WAL write (sq_write_end, sqlite3WalFrames; minus fdatasync)', { any: /^(sq_write_end|sq_batch_done|sqlite3WalFrames)$/ }],
    ['audit: chain and the rest of the append (sql_audit_append)', { any: /^(sql_audit_append\w*|audit_chain)$/ }],
    ['TCP send', { any: /^(tcp_sendmsg\w*|__sys_sendto|__sys_sendmsg|sock_sendmsg|__x64_sys_sendto|__x64_sys_sendmsg)$/ }],
    ['TCP recv', { any: /^(tcp_recvmsg\w*|__sys_recvfrom|__sys_recvmsg|sock_recvmsg|__x64_sys_recvfrom)$/ }],
    ['epoll', { any: /^(__x64_sys_epoll_\w+|do_epoll_\w+|ep_poll\w*|epoll_wait|epoll_ctl)$/ }],
    ['access log (log_request)', { any: /^log_request$/ }],
    ['cache lookup (reply_from_cache)', { any: /^(reply_from_cache|cache_get)$/ }],
    ['JSON (jansson)', { any: /^json_\w+$/, dso: /libjansson/ }],
    ['authn/authz (auth_request, authz_*)', { any: /^(auth_request|authz_\w+)$/ }],
    ['crypto (libsodium)', { dso: /libsodium/ }],
    ['SQLite, other (reads, the write\'s own statements)', { dso: /libsqlite3/ }],
    ['PostgreSQL client (libpq)', { dso: /libpq/ }],
    ['malloc/free', { any: /^(malloc|free|calloc|realloc|cfree|_int_malloc|_int_free\w*|_int_realloc|malloc_consolidate|__libc_(malloc|free|calloc|realloc)|tcache_\w+)$/ }],
    ['context switch (schedule, finish_task_switch)', { any: /^(schedule|__schedule|finish_task_switch\w*)$/ }],
    ['libmicrohttpd (by DSO)', { leaf: /libmicrohttpd/ }],
    ['kernel, other', { leaf: /^\[kernel/ }],
    ['arca, other', { leaf: /\/arca$/ }],
    ['libc, other', { leaf: /libc\.so/ }],
    ['other', {}],
];
/* The thread a sample ran on: the audit writer (a thread some of whose
 * stacks reach audit.c's writer(); a deep stack is cut short by perf's copy
 * of it, so one sample alone cannot tell), libmicrohttpd's request threads
 * (MHD-*), or another (the main thread). */
const THREADS = ['writer', 'request', 'other'];
const inWriter = (frames) => frames.some((f) => f.sym === 'writer' && /\/arca$/.test(f.dso));

function bucketOf(frames) {
    const leaf = frames[0]?.dso ?? '';
    for (const [name, r] of BUCKETS)
        if ((!r.any && !r.dso && !r.leaf) || (r.any && frames.some((f) => r.any.test(f.sym)))
            || (r.dso && frames.some((f) => r.dso.test(f.dso))) || (r.leaf && r.leaf.test(leaf)))
            return name;
    return 'other';
}

ensureArca();
const { closedPort, removeTempDirs, tempDir, ARCA_BIN } = await import('../tests/e2e/harness.mjs');
const { fdatasyncLatency } = await import('./lib/disk.mjs');
const { cpuMs, cpuTreeMs, processTree, reapedChildrenCpuMs } = await import('./lib/procs.mjs');
const { startNginx } = await import('./lib/nginx.mjs');
const { wrk } = await import('./lib/wrk.mjs');
const { body, readPaths, smallSetup, w4req, W5_ARGS, w5req } = await import('./lib/setup.mjs');
const { PG_BIN, startPostgres } = await import('../tests/e2e/pg.mjs');

/* ---- measuring --------------------------------------------------------------- */

/* Busy and total CPU ticks of the whole machine and its CPUs (/proc/stat). */
function machineTicks() {
    const stat = readFileSync('/proc/stat', 'utf8').split('\n');
    const v = stat[0].trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total, /* less idle and iowait */
        cpus: stat.filter((l) => /^cpu\d/.test(l)).length };
}

/* Arguments that give a server a metrics listener, and its URL. */
async function metricsListener() {
    const port = await closedPort();
    return { args: ['--metrics-listen', `127.0.0.1:${port}`],
        url: `http://127.0.0.1:${port}/metrics` };
}
/* The audit group commits a server has made so far and the records in them
 * (docs/metrics.md: arca_audit_commit_records). */
async function auditCommits(url) {
    const text = await (await fetch(url)).text();
    const get = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    return { commits: get('arca_audit_commit_records_count'),
        records: get('arca_audit_commit_records_sum') };
}

/* `perf trace` counting the fdatasync and fsync calls of the processes pids
 * and the time spent in them (only those: the filter runs in the kernel);
 * stop() -> {calls, ms}, summed over the threads. */
async function traceFlushes(pids) {
    const perf = spawn(PERF, ['trace', '-s', '-e', 'fdatasync,fsync', '-p', pids.join(',')],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    perf.stdout.on('data', (d) => (text += d));
    perf.stderr.on('data', (d) => (text += d));
    const exited = new Promise((r) => perf.on('exit', r));
    await new Promise((r) => setTimeout(r, 300)); /* perf attaches */
    return {
        async stop() {
            perf.kill('SIGINT');
            await exited;
            let calls = 0, ms = 0;
            for (const m of text.matchAll(/^\s+f(?:data)?sync\s+(\d+)\s+\d+\s+([\d.]+)\s/gm)) {
                calls += Number(m[1]);
                ms += Number(m[2]);
            }
            return { calls, ms };
        },
    };
}

/* One wrk run of req against a server, with the CPU time of each process in
 * procs ({name: () => ms so far}) and of wrk itself over it: req/s, p50/p99,
 * and per process µs per request and cores used; "others" is what the rest of
 * the machine used meanwhile (the other engineers' builds and tests); with
 * the server's metrics URL, its audit group commits a second and records per
 * commit; with the pids of the server (and of its PostgreSQL, whose backends
 * flush its commits), and perf, their fdatasync calls a second and their mean
 * latency (perf trace adds a little to every system call they make). */
async function measure(req, procs, metrics, pids) {
    const trace = pids && !noPerf ? await traceFlushes(pids) : null;
    const a0 = metrics && await auditCommits(metrics);
    const before = Object.fromEntries(Object.entries(procs).map(([k, f]) => [k, f()]));
    const wrk0 = reapedChildrenCpuMs();
    const m0 = machineTicks();
    const t0 = process.hrtime.bigint();
    const r = await wrk({ connections: cfg.connections, seconds: cfg.seconds, ...req });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const m1 = machineTicks();
    const cpu = Object.fromEntries(Object.entries(procs).map(([k, f]) => [k, f() - before[k]]));
    cpu.wrk = reapedChildrenCpuMs() - wrk0;
    const a1 = metrics && await auditCommits(metrics);
    /* stopped after wrk's CPU time is read: perf is a child too */
    const flushes = trace && await trace.stop();
    const ours = Object.values(cpu).reduce((a, b) => a + b, 0) / 1000;
    const machine = (m1.busy - m0.busy) / (m1.total - m0.total) * m1.cpus * wall;
    return {
        rps: r.rps, p50: r.p50_ms, p99: r.p99_ms, requests: r.requests, wall,
        usPerReq: Object.fromEntries(Object.entries(cpu)
            .map(([k, ms]) => [k, ms * 1000 / r.requests])),
        cores: Object.fromEntries(Object.entries(cpu).map(([k, ms]) => [k, ms / 1000 / wall])),
        othersCores: Math.max(0, machine - ours) / wall,
        ...(metrics ? { commitsPerSec: (a1.commits - a0.commits) / wall,
            recordsPerCommit: (a1.records - a0.records) / (a1.commits - a0.commits) } : {}),
        ...(flushes ? { flushesPerSec: flushes.calls / wall, flushMs: flushes.ms / flushes.calls,
            flushShare: flushes.ms / 1000 / wall } : {}),
    };
}

/* Why perf cannot profile here, or null. */
function perfUnusable() {
    if (!cfg.perf)
        return 'skipped (--no-perf)';
    if (!existsSync(PERF))
        return `no ${PERF} (apt-get install linux-perf)`;
    const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'));
    if (process.getuid() !== 0 && paranoid > 1)
        return `kernel.perf_event_paranoid is ${paranoid}: profiling another process needs ` +
            '≤ 1 or root';
    try {
        execFileSync(PERF, ['stat', '-e', 'task-clock', '--', 'true'], { stdio: 'ignore' });
    } catch (e) {
        return `perf stat fails here (${e.message.split('\n')[0]})`;
    }
    return null;
}

/* Samples of `perf record` on pid over one wrk run of req, bucketed: {samples,
 * total (the periods' sum), buckets: {name: {writer, request, other}},
 * threads: {writer, request, other}}. */
async function profile(pid, req, dataFile) {
    const perf = spawn(PERF, ['record', '-q', '-F', String(cfg.perfFreq), '--call-graph', 'dwarf',
        '-p', String(pid), '-o', dataFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    perf.stderr.on('data', (d) => (err += d));
    const exited = new Promise((r) => perf.on('exit', (code, signal) => r({ code, signal })));
    await new Promise((r) => setTimeout(r, 300)); /* perf attaches to every thread */
    try {
        await wrk({ connections: cfg.connections, seconds: cfg.seconds, ...req });
    } finally {
        perf.kill('SIGINT');
    }
    /* perf record writes its file, then ends by the signal it was stopped by */
    const { code, signal } = await exited;
    if (!(code === 0 || signal === 'SIGINT') || !existsSync(dataFile))
        throw new Error(`perf record: exit ${code ?? signal}: ${err.slice(-500)}`);
    const t0 = Date.now();
    /* per thread: {comm, writer (seen in writer()), buckets: {name: period}} */
    const tids = new Map();
    const script = spawn(PERF, ['script', '-i', dataFile, '--no-inline', '-F',
        'comm,tid,period,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let head = null, frames = [], samples = 0;
    const flush = () => {
        if (!head)
            return;
        const t = tids.get(head.tid) ?? { comm: head.comm, writer: false, buckets: {} };
        tids.set(head.tid, t);
        t.writer ||= inWriter(frames);
        const b = bucketOf(frames);
        t.buckets[b] ??= { period: 0, leaves: {} };
        t.buckets[b].period += head.period;
        const leaf = frames[0] ? `${frames[0].sym}` : '?';
        t.buckets[b].leaves[leaf] = (t.buckets[b].leaves[leaf] ?? 0) + head.period;
        samples++;
        head = null;
        frames = [];
    };
    const lines = readline.createInterface({ input: script.stdout, crlfDelay: Infinity });
    for await (const line of lines) {
        if (!line.trim()) {
            flush();
            continue;
        }
        const f = /^\s+[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
        if (f && head)
            frames.push({ sym: f[1].replace(/\+0x[0-9a-f]+$/, ''), dso: f[2] });
        else {
            const h = /^(.*\S)\s+(\d+)\s*$/.exec(line); /* comm tid period */
            if (h) {
                flush();
                const [comm, tid] = /^(.*?)\s+(\d+)$/.exec(h[1].trim())?.slice(1) ?? [h[1], '0'];
                head = { comm: comm.trim(), tid: Number(tid), period: Number(h[2]) };
            }
        }
    }
    flush();
    rmSync(dataFile); /* tens of MB each */
    log(`perf script: ${samples} samples in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    /* by bucket and thread class, with the leaf symbols most sampled */
    const out = { samples, total: 0, buckets: {}, threads: { writer: 0, request: 0, other: 0 },
        comms: {} };
    for (const t of tids.values()) {
        const cls = t.writer ? 'writer' : /^MHD/.test(t.comm) ? 'request' : 'other';
        for (const [b, v] of Object.entries(t.buckets)) {
            out.buckets[b] ??= { writer: 0, request: 0, other: 0, leaves: {} };
            out.buckets[b][cls] += v.period;
            for (const [l, n] of Object.entries(v.leaves))
                out.buckets[b].leaves[l] = (out.buckets[b].leaves[l] ?? 0) + n;
            out.threads[cls] += v.period;
            out.comms[t.comm] = (out.comms[t.comm] ?? 0) + v.period;
            out.total += v.period;
        }
    }
    for (const v of Object.values(out.buckets))
        v.leaves = Object.fromEntries(Object.entries(v.leaves).sort((a, b) => b[1] - a[1])
            .slice(0, 5));
    return out;
}

/* ---- the run ------------------------------------------------------------------- */

const results = { date: new Date().toISOString(), config: cfg, binary: ARCA_BIN, runs: {},
    profiles: {}, notes: [] };
const runs = results.runs;
const noPerf = perfUnusable();
if (noPerf)
    results.notes.push(`no CPU breakdown: ${noPerf}`);
const noPg = !cfg.pg ? 'skipped (--no-pg)'
    : !existsSync(path.join(PG_BIN, 'initdb')) ? `no ${PG_BIN}/initdb` : null;
if (noPg)
    results.notes.push(`no PostgreSQL rows: ${noPg}`);

const work = await tempDir('arca-profile-');
/* the disk the data directories are on: what one durable group commit waits for at least */
results.fdatasync = fdatasyncLatency(work, { maxIterations: 1000, maxSeconds: 1 });
const toStop = [];
/* the workloads with a goal: {name, goal(runs) -> req/s, text} */
const goals = [];
try {
    /* a server with its 50-secret project and its metrics listener; procs: its
     * CPU time (and more, such as PostgreSQL's); more(): other processes whose
     * fdatasync calls count (PostgreSQL's) */
    const arca = async (name, args = [], env = {}, procs = {}, more = () => []) => {
        const m = await metricsListener();
        const x = await smallSetup(path.join(work, name), [...args, ...m.args], env);
        toStop.push(x.server);
        return { ...x, metrics: m.url, paths: readPaths(x.small.id),
            procs: { arca: () => cpuMs(x.server.pid), ...procs },
            flushers: () => [x.server.pid, ...more()],
            req: (p) => ({ url: x.server.url, path: p, token: x.bot.token }) };
    };
    const stop = async (x) => {
        toStop.splice(toStop.indexOf(x.server), 1);
        await x.server.stop();
    };
    const main = await arca('data');
    const { server, paths } = main;
    const files = {};
    for (const w of ['w1', 'w2', 'w3'])
        files[w] = await body(server.url + paths[w], main.bot.token);
    /* the web app's stylesheet, named in its index.html */
    const home = await fetch(server.url + '/'); /* 404 from a build without the web app */
    const page = home.status === 200 ? await home.text() : '';
    const css = /\/assets\/index-[\w-]+\.css/.exec(page)?.[0];
    if (css)
        files.css = await body(server.url + css, '');
    else
        results.notes.push('no floor row for static files: this binary embeds no web app ' +
            '(build with web/node_modules, see meson_options.txt)');
    const nginx = await startNginx(files);
    toStop.push(nginx);
    const nginxCpu = { nginx: () => cpuTreeMs(nginx.pid) };

    /* one workload on server x: arca, nginx serving the same bytes (when it has
     * a file), then arca under perf */
    const workload = async (name, label, x, req, { peerFile, goal } = {}) => {
        log(`${name}: ${label}`);
        runs[name] = { label, arca: await measure(req, x.procs, x.metrics, x.flushers()) };
        if (peerFile)
            runs[name].nginx = await measure({ url: nginx.url, path: '/' + peerFile }, nginxCpu);
        if (!noPerf)
            try {
                results.profiles[name] = await profile(x.server.pid, req,
                    path.join(work, `perf-${name}.data`));
            } catch (e) {
                results.notes.push(`no CPU breakdown of ${name}: ${e.message.split('\n')[0]}`);
            }
        if (goal)
            goals.push({ name, ...goal });
    };
    const vsNginx = (name) => ({ goal: (r) => 0.8 * r[name].nginx.rps, text: '0.8 × nginx' });
    await workload('w1', 'w1 list 50, /api/v3/secrets/raw, audited durably', main,
        main.req(paths.w1), { peerFile: 'w1', goal: vsNginx('w1') });
    await workload('w2', 'w2 list 50, arca E2EE route', main, main.req(paths.w2),
        { peerFile: 'w2', goal: vsNginx('w2') });
    await workload('w3', 'w3 get 1 by name', main, main.req(paths.w3),
        { peerFile: 'w3', goal: vsNginx('w3') });
    if (css)
        await workload('css', `floor: static ${css} (${files.css.length} bytes, no audit, no app)`,
            main, { url: server.url, path: css }, { peerFile: 'css' });
    const fast = await arca('data-async', ['--audit-async']);
    await workload('w1-async', 'floor: w1 with --audit-async', fast, fast.req(fast.paths.w1));
    await stop(fast);
    await workload('w4', 'w4 durable audited updates, 16 writers', main,
        w4req(server, main.small.id, main.bot.token),
        { goal: { goal: () => 5000, text: '5,000/s' } });
    const logins = await arca('data-login', W5_ARGS);
    await workload('w5', 'w5 universal-auth logins, 16 connections', logins,
        w5req(logins.server, logins.bot), { goal: { goal: () => 5000, text: '5,000/s' } });
    await stop(logins);

    if (!noPg) {
        const cluster = await startPostgres();
        toStop.push({ stop: () => cluster.destroy() });
        const db = await cluster.createDatabase();
        const postmaster = Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8')
            .split('\n')[0]);
        const pg = await arca('data-pg', ['--database-url', cluster.url(db)],
            { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
            { postgres: () => cpuTreeMs(postmaster) }, () => processTree(postmaster));
        await workload('pg-w1', 'pg w1 list 50 on PostgreSQL', pg, pg.req(pg.paths.w1),
            { goal: { goal: (r) => 0.7 * r.w1.arca.rps, text: '0.7 × w1 on SQLite' } });
        await workload('pg-w4', 'pg w4 durable updates on PostgreSQL, 16 writers', pg,
            w4req(pg.server, pg.small.id, pg.bot.token),
            { goal: { goal: () => 2000, text: '2,000/s' } });
    }
} finally {
    for (const s of toStop.reverse()) /* the servers on the cluster before it */
        await s.stop();
    await removeTempDirs();
}

/* ---- the report ------------------------------------------------------------------ */

const n0 = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
const n1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '—');
const n2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '—');
const disk = results.fdatasync;
const out = [
    `# arca CPU profile ${results.date}`,
    '',
    `${cfg.connections} keep-alive connections (wrk, 2 threads), one run of ${cfg.seconds} s ` +
        `per line, ${cfg.cores} cores; µs/req = the process's CPU time (all threads, ` +
        '/proc/PID/task/*/schedstat; nginx and PostgreSQL: all their processes; wrk: its ' +
        'rusage) over the requests answered; cores = its CPU time over the wall time; ' +
        '"others" = what the rest of the machine used meanwhile; audit commits/s and ' +
        'records/commit: the server\'s audit group commits (its metrics); fdatasync/s and ms: ' +
        'the fdatasync and fsync calls of the server (on PostgreSQL: and of its backends) and ' +
        'their mean latency (`perf trace`). One ' +
        'run each on a shared machine: noisy, compare within a line.',
    '',
    `Disk: a 512-byte append + fdatasync in the data directories' directory, median ` +
        `${n0(disk.p50_ms * 1000)} µs, p99 ${n0(disk.p99_ms * 1000)} µs (${disk.iterations} ` +
        `in ${n1(disk.seconds)} s): the ceiling for ${cfg.connections} connections each waiting ` +
        `for one durable record, one append + fdatasync per group commit, is ` +
        `${n0(cfg.connections / disk.p50_ms * 1000)} answers/s.`,
    ...results.notes.map((n) => `\n_${n}_`),
    '',
    '## Requests/s and CPU per request',
    '',
    '| workload | server | req/s | p99 ms | server µs/req | postgres µs/req | wrk µs/req | ' +
        'server cores | wrk cores | others cores | audit commits/s | records/commit | ' +
        'fdatasync/s | fdatasync ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of Object.values(runs))
    for (const side of ['arca', 'nginx'])
        if (r[side]) {
            const m = r[side];
            out.push(`| ${r.label} | ${side} | ${n0(m.rps)} | ${n2(m.p99)} | ` +
                `${n1(m.usPerReq[side])} | ${n1(m.usPerReq.postgres)} | ${n1(m.usPerReq.wrk)} | ` +
                `${n2(m.cores[side])} | ${n2(m.cores.wrk)} | ${n2(m.othersCores)} | ` +
                `${n0(m.commitsPerSec)} | ${n1(m.recordsPerCommit)} | ` +
                `${n0(m.flushesPerSec)} | ${n2(m.flushMs)} |`);
        }
out.push('', '## Floors', '', '| figure | arca | peer | ratio |', '|---|---|---|---|');
const floor = (figure, a, b, f) => out.push(`| ${figure} | ${f(a)} | ${f(b)} | ${n2(a / b)} |`);
if (runs.css) {
    floor('static file req/s (peer: nginx, same bytes)', runs.css.arca.rps, runs.css.nginx.rps, n0);
    floor('static file, server µs/req (peer: nginx)', runs.css.arca.usPerReq.arca,
        runs.css.nginx.usPerReq.nginx, n1);
}
floor('w1 req/s, durable (peer: --audit-async)', runs.w1.arca.rps, runs['w1-async'].arca.rps, n0);
floor('w1 req/s, --audit-async (peer: nginx, same bytes)', runs['w1-async'].arca.rps,
    runs.w1.nginx.rps, n0);
floor('w1 server µs/req, durable (peer: --audit-async)', runs.w1.arca.usPerReq.arca,
    runs['w1-async'].arca.usPerReq.arca, n1);

/* µs per request of bucket b in workload name: its share of the samples times
 * arca's CPU per request in the measured (unprofiled) run */
const bucketUs = (name, b) => {
    const p = results.profiles[name];
    const v = p.buckets[b];
    return v ? THREADS.reduce((sum, t) => sum + v[t], 0) / p.total * runs[name].arca.usPerReq.arca
        : 0;
};
const byCost = (name) => Object.keys(results.profiles[name].buckets)
    .sort((a, b) => bucketUs(name, b) - bucketUs(name, a));
if (Object.keys(results.profiles).length) {
    out.push('', '## Where arca\'s CPU goes (perf)', '',
        `\`perf record -F ${cfg.perfFreq} --call-graph dwarf -p PID\` over a second run of each ` +
        'workload; a sample goes to the first bucket of BUCKETS (bench/profile.mjs) that its ' +
        'stack matches; µs/req = share × arca µs/req of the unprofiled run; writer = the audit ' +
        'writer thread (group commit), request = libmicrohttpd\'s threads (MHD-*), other = the ' +
        'main thread; leaves: the innermost symbols most sampled in the bucket.');
    for (const [name, p] of Object.entries(results.profiles)) {
        const pc = (v) => `${(100 * v / p.total).toFixed(1)}%`;
        out.push('', `### ${runs[name].label}: ${n1(runs[name].arca.usPerReq.arca)} µs/req, ` +
            `${p.samples} samples; ` + THREADS.map((t) => `${t} ${pc(p.threads[t])}`).join(', '),
        '', '| bucket | share | µs/req | writer | request | other | leaves |',
        '|---|---|---|---|---|---|---|');
        for (const b of byCost(name)) {
            const v = p.buckets[b];
            out.push(`| ${b} | ${pc(THREADS.reduce((sum, t) => sum + v[t], 0))} | ` +
                `${n1(bucketUs(name, b))} | ${THREADS.map((t) => pc(v[t])).join(' | ')} | ` +
                `${Object.keys(v.leaves).slice(0, 3).join(', ').replace(/\|/g, '\\|')} |`);
        }
    }
}

/* what stands between each figure and its goal: the CPU budget is the cores
 * less wrk's (the others' use is noise, not counted); arca's cost per request
 * (plus PostgreSQL's, on PostgreSQL) spent on it gives the figure arca would
 * reach CPU-bound, and the same with a bucket free; what the cores did not do
 * (used < budget) was waiting */
out.push('', '## What stands between each figure and its goal', '');
for (const g of goals) {
    const m = runs[g.name].arca;
    const goal = g.goal(runs);
    const budget = (cfg.cores - m.cores.wrk) * 1e6; /* CPU µs per second */
    const cost = m.usPerReq.arca + (m.usPerReq.postgres ?? 0);
    const used = m.cores.arca + (m.cores.postgres ?? 0) + m.cores.wrk;
    const nginxUs = runs[g.name].nginx?.usPerReq.nginx;
    const line = [`- **${runs[g.name].label}** ${m.rps >= goal ? '✓' : '✗'}: ${n0(m.rps)} req/s ` +
        `(p99 ${n2(m.p99)} ms), goal ≥ ${n0(goal)} (${g.text}). arca ${n1(m.usPerReq.arca)} µs/req` +
        (m.usPerReq.postgres !== undefined ? ` + postgres ${n1(m.usPerReq.postgres)}` : '') +
        `; wrk uses ${n2(m.cores.wrk)} cores, leaving ${n2(budget / 1e6)}: CPU-bound that is ` +
        `${n0(budget / cost)} req/s, and the goal needs ≤ ${n1(budget / goal)} µs/req` +
        (nginxUs ? ` (nginx: ${n1(nginxUs)} µs/req for the same bytes)` : '') +
        (budget / cost >= goal ? ': the CPU cost alone allows the goal, what stands between ' +
            'is waiting (the durable round trip, handoffs) and the others\' load. ' : '. ') +
        `Used ${n2(used)} of ${cfg.cores} cores (others ${n2(m.othersCores)})` +
        (used + m.othersCores < cfg.cores - 0.2 ? ': not CPU-bound, the rest is waiting' : '')];
    if (m.commitsPerSec > 0)
        line.push(`; ${n0(m.commitsPerSec)} audit group commits/s of ${n1(m.recordsPerCommit)} ` +
            'records');
    if (m.flushesPerSec > 0)
        line.push(`; ${n0(m.flushesPerSec)} fdatasync/s (${n1(m.rps / m.flushesPerSec)} ` +
            `answers each) of ${n2(m.flushMs)} ms: the time in them, summed over the threads, ` +
            `is ${n0(100 * m.flushShare)}% of the wall time`);
    const prof = results.profiles[g.name];
    if (prof?.threads.writer > 0) {
        /* the audit writer's CPU: its share of the samples times arca's cores */
        const writerCores = prof.threads.writer / prof.total * m.cores.arca;
        line.push(`; the audit writer thread is on a CPU ${n0(100 * writerCores)}% of the wall ` +
            'time');
        if (m.commitsPerSec > 0 && m.flushesPerSec > 0) {
            /* one group commit after the other: its CPU, then its fdatasync */
            const cpuUs = writerCores * 1e6 / m.commitsPerSec;
            const cycle = cpuUs + m.flushMs * 1000;
            line.push(`, ${n0(cpuUs)} µs a group commit: with its fdatasync a cycle of ` +
                `${n0(cycle)} µs, so at most ${n0(cfg.connections * 1e6 / cycle)} answers/s ` +
                `when every commit holds all ${cfg.connections} connections' records`);
        }
    }
    line.push('.');
    if (prof)
        line.push(' If it cost nothing, CPU-bound req/s: ' +
            (m.usPerReq.postgres !== undefined
                ? `the PostgreSQL backends ${n0(budget / m.usPerReq.arca)}; ` : '') +
            byCost(g.name).slice(0, 6)
                .map((b) => `${b} ${n0(budget / (cost - bucketUs(g.name, b)))}`).join('; ') + '.');
    out.push(line.join(''));
}
console.log(out.join('\n'));
const dir = argv.includes('--results') ? path.resolve(argv[argv.indexOf('--results') + 1])
    : path.join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `profile-${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
log(`raw numbers in ${path.relative(ROOT, file)}`);
