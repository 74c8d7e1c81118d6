// procs.mjs - the processes a benchmark measures: arca servers started on a
// chosen loopback port and timed to their first 200 on /api/status, resident
// memory from /proc, and one-shot commands timed from spawn to exit.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ARCA_BIN, assertNoSanitizerReport, closedPort } from '../../tests/e2e/harness.mjs';

const live = new Set();
process.on('exit', () => {
    for (const p of live)
        try {
            p.kill('SIGKILL');
        } catch {
            /* gone */
        }
});

/* Milliseconds since t0 (a process.hrtime.bigint()). */
export const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

export const median = (v) => [...v].sort((a, b) => a - b)[(v.length - 1) >> 1];

/* One GET; resolves to the status code, or 0 when nothing answers. */
function getStatus(url) {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
    });
}

/* Polls url until it answers 200: one request after the other, with a pause of
 * about a millisecond after each failure.  Without the pause the poller spun
 * on a core (a refused connection fails at once), taking from the starting
 * server the CPU whose start-up it measures; the pause bounds the error of the
 * figure by about a millisecond. */
export async function waitFor200(url, proc, timeoutMs = 60000) {
    const end = Date.now() + timeoutMs;
    while ((await getStatus(url)) !== 200) {
        await new Promise((r) => setTimeout(r, 1));
        if (proc.exitCode !== null || proc.signalCode !== null)
            throw new Error(`${url}: the process exited before answering 200`);
        if (Date.now() > end)
            throw new Error(`${url}: no 200 within ${timeoutMs} ms`);
    }
}

/* Spawns cmd on a port chosen here and waits for its first 200 on statusPath;
 * returns {url, port, proc, pid, startupMs, cpuMs, stop()}: cpuMs is the CPU
 * time the process (its threads, not its children) had used by then, a
 * figure that a loaded machine does not inflate as it does startupMs; stop() resolves to
 * {code, signal}.  stderr goes to logFile (a pipe read by this process would
 * cost the server more than a file). */
export async function startTimed(cmd, args, { port, statusPath, logFile, env, cwd }) {
    const fd = openSync(logFile, 'a');
    const t0 = process.hrtime.bigint();
    const proc = spawn(cmd, args, { env, cwd, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(proc);
    const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    const url = `http://127.0.0.1:${port}`;
    try {
        await waitFor200(url + statusPath, proc);
    } catch (e) {
        proc.kill('SIGKILL');
        throw new Error(`${e.message}; log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    const startupMs = msSince(t0);
    return {
        url, port, proc, pid: proc.pid, startupMs, cpuMs: cpuMs(proc.pid),
        async stop() {
            if (proc.exitCode === null && proc.signalCode === null) {
                proc.kill('SIGTERM');
                const t = setTimeout(() => proc.kill('SIGKILL'), 30000);
                await exited;
                clearTimeout(t);
            }
            live.delete(proc);
            return exited;
        },
    };
}

/* `arca server` on a fresh port with dataDir; HOME is the data dir's parent,
 * env added to the environment.  Its stop() throws unless the server exits 0
 * with no sanitizer report. */
export async function startArca(dataDir, args = [], extraEnv = {}) {
    const port = await closedPort();
    const logFile = dataDir + '.log';
    const env = { HOME: path.dirname(dataDir), ...extraEnv };
    for (const k of ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'])
        if (process.env[k] !== undefined)
            env[k] = process.env[k];
    const s = await startTimed(ARCA_BIN, ['server', '--listen', `127.0.0.1:${port}`, '--data-dir',
        dataDir, ...args], { port, statusPath: '/api/status', logFile, env,
        cwd: path.dirname(dataDir) });
    const stop = s.stop;
    s.stop = async () => {
        const { code, signal } = await stop();
        assertNoSanitizerReport(readFileSync(logFile, 'utf8'), 'arca server');
        if (code !== 0)
            throw new Error(`arca server exited ${code ?? signal} after SIGTERM`);
    };
    return s;
}

/* CPU time used so far by pid's threads, in ms (/proc/PID/task/TID/schedstat:
 * nanoseconds on a CPU). */
export function cpuMs(pid) {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`))
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
}

/* Resident set size of pid in MiB (VmRSS). */
export function rssMiB(pid) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
}

/* Runs cmd to completion; resolves to its wall time in ms, rejects on a non-zero
 * exit.  Asynchronous, so this process stays free to serve its other children. */
export function timeCommand(cmd, args, { env, cwd } = {}) {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('exit', (code) => {
            const ms = msSince(t0);
            if (code !== 0)
                reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
            else
                resolve(ms);
        });
    });
}

/* pid and its descendants (nginx's master and workers, PostgreSQL's postmaster
 * and backends), as they are now. */
export function processTree(pid) {
    let kids = [];
    try {
        kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean);
    } catch {
        /* no children file: the process alone */
    }
    return [pid, ...kids.flatMap((k) => processTree(Number(k)))];
}

/* RSS of pid and its child processes (nginx's master and workers), in MiB. */
export const rssTreeMiB = (pid) => processTree(pid).reduce((sum, p) => sum + rssMiB(p), 0);

/* CPU time used so far by pid and its descendants (cpuMs each; one that exits
 * between the listing and the reading counts 0). */
export const cpuTreeMs = (pid) => processTree(pid).reduce((sum, p) => {
    try {
        return sum + cpuMs(p);
    } catch {
        return sum;
    }
}, 0);

/* CPU time of this process's children that have exited and been waited for
 * (utime + stime of /proc/self/stat's cutime and cstime), in ms: taken before and
 * after a child's run, the CPU time that child used (wrk's, say), to the clock
 * tick (10 ms). */
export function reapedChildrenCpuMs() {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    /* the fields after the command (which may hold spaces) in parentheses */
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10; /* cutime, cstime: fields 16, 17 */
}
