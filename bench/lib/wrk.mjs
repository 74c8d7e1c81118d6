// wrk.mjs - one bounded wrk run (keep-alive, 2 threads) with bench/wrk/bench.lua,
// returning the JSON line its done() prints.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LUA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'wrk', 'bench.lua');

/* {url, path, token?, method?, body?, keys?, connections, seconds} ->
 * {requests, seconds, rps, p50_ms, p99_ms, non2xx, errors}; throws if wrk fails
 * or any request was refused or failed (a figure over errors would be a lie). */
export function wrk({ url, path: p, token, method = 'GET', body, keys = 1, connections, seconds }) {
    const env = { PATH: process.env.PATH, BENCH_METHOD: method, BENCH_PATH: p,
        BENCH_KEYS: String(keys), ...(token ? { BENCH_TOKEN: token } : {}),
        ...(body ? { BENCH_BODY: body } : {}) };
    const args = ['-t', String(Math.min(2, connections)), '-c', String(connections), '-d',
        `${seconds}s`, '--timeout', '30s', '-s', LUA, url];
    return new Promise((resolve, reject) => {
        const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '', err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('exit', (code) => {
            const line = out.split('\n').filter((l) => l.startsWith('{')).pop();
            if (code !== 0 || !line)
                return reject(new Error(`wrk ${url}${p}: exit ${code}\n${out}${err}`));
            const r = JSON.parse(line);
            if (r.non2xx || r.errors || !r.requests)
                return reject(new Error(`wrk ${method} ${p}: ${r.non2xx} non-2xx answers, ` +
                    `${r.errors} socket errors, ${r.requests} requests`));
            resolve(r);
        });
    });
}
