// harness.mjs - helpers for arca's black-box tests.
//
// startServer() runs the real `arca server` on 127.0.0.1:0 with a fresh data
// directory and waits for its "listening" log line, which carries the port the
// kernel chose.  With ARCA_TEST_PG=1 every server runs on PostgreSQL instead:
// a fresh database per data directory (so a restart on the same directory
// finds its data again) in one throwaway cluster per test process (pg.mjs),
// and a root key file written into the data directory (the server generates
// none on PostgreSQL).  newCli(server) gives a test its own config directory, home,
// TMPDIR and working directory, and runs the real `arca` CLI against the server
// with a clean environment.  Every child has a timeout; every server still alive
// when the process exits is killed.  Sanitizer reports (ASan, LSan, UBSan) on
// any child's stderr fail the test that caused them.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { sharedPostgres } from './pg.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARCA_BIN = process.env.ARCA_BIN
    ? path.resolve(REPO_ROOT, process.env.ARCA_BIN)
    : path.join(REPO_ROOT, 'build', 'src', 'cli', 'arca');
export const NODE = process.execPath;

/* Sanitized builds are slower; every child gets this long before SIGKILL. */
export const CHILD_TIMEOUT_MS = Number(process.env.ARCA_TEST_TIMEOUT_MS || 60000);
const KEEP = process.env.ARCA_TEST_KEEP === '1';

const SANITIZER_RE = /(==\d+==ERROR: (Address|Leak)Sanitizer|runtime error: |SUMMARY: (Address|Undefined|Leak)Sanitizer)/;

/* Variables a child may inherit from the test runner; everything else (any
 * ARCA_* of the caller, HOME, ...) is dropped so tests never touch the user's setup. */
const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS',
    'LD_LIBRARY_PATH'];

const liveProcs = new Set();
process.on('exit', () => {
    for (const p of liveProcs) {
        try {
            p.kill('SIGKILL');
        } catch {
            /* already gone */
        }
    }
});

const tempDirs = [];
export async function tempDir(prefix = 'arca-e2e-') {
    const d = await mkdtemp(path.join(os.tmpdir(), prefix));
    tempDirs.push(d);
    return d;
}
export async function removeTempDirs() {
    if (KEEP)
        return;
    while (tempDirs.length)
        await rm(tempDirs.pop(), { recursive: true, force: true });
}

export function randomPassword() {
    return 'pw-' + randomBytes(24).toString('base64url');
}

export function assertNoSanitizerReport(text, what) {
    const m = SANITIZER_RE.exec(text);
    assert.ok(!m, `${what}: sanitizer report on stderr:\n${text}`);
}

function baseEnv(extra) {
    const env = {};
    for (const k of INHERITED_ENV)
        if (process.env[k] !== undefined)
            env[k] = process.env[k];
    for (const [k, v] of Object.entries(extra || {})) {
        if (v === undefined || v === null)
            delete env[k];
        else
            env[k] = String(v);
    }
    return env;
}

/* Spawns a child with a timeout; returns the ChildProcess plus a promise of
 * {code, signal, stdout, stderr, stdoutBuf, stderrBuf, timedOut}. */
function spawnChild(cmd, args, { env, cwd, input, timeoutMs = CHILD_TIMEOUT_MS } = {}) {
    const proc = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    liveProcs.add(proc);
    const out = [];
    const err = [];
    let timedOut = false;
    proc.stdout.on('data', (c) => out.push(c));
    proc.stderr.on('data', (c) => err.push(c));
    proc.stdin.on('error', () => {}); /* the child may exit without reading stdin */
    proc.stdin.end(input ?? '');
    const timer = setTimeout(() => {
        timedOut = true;
        proc.kill('SIGKILL');
    }, timeoutMs);
    const done = new Promise((resolve, reject) => {
        proc.on('error', (e) => {
            clearTimeout(timer);
            liveProcs.delete(proc);
            reject(e);
        });
        proc.on('close', (code, signal) => {
            clearTimeout(timer);
            liveProcs.delete(proc);
            const stdoutBuf = Buffer.concat(out);
            const stderrBuf = Buffer.concat(err);
            resolve({ code, signal, stdoutBuf, stderrBuf, stdout: stdoutBuf.toString('utf8'),
                stderr: stderrBuf.toString('utf8'), timedOut });
        });
    });
    return { proc, done, stdoutChunks: out };
}

/* ---- TLS certificates -------------------------------------------------- */

/* Makes, with the openssl CLI in dir, a throwaway CA <ca>.pem/<ca>.key (unless
 * it exists) and a certificate for 127.0.0.1 signed by it, <name>.pem with its
 * key <name>.key (mode 0600), all P-256.  Returns {cert, key, ca}: the paths
 * startServer({tls}) takes. */
export async function makeTlsFiles(dir, { name = 'server', ca = 'ca' } = {}) {
    const openssl = (...args) => promisify(execFile)('openssl', args,
        { cwd: dir, timeout: CHILD_TIMEOUT_MS });
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    try {
        await readFile(path.join(dir, `${ca}.pem`));
    } catch {
        await openssl('req', '-x509', ...newKey, '-days', '2', '-subj', `/CN=${ca}`,
            '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
    }
    await openssl('req', ...newKey, '-subj', '/CN=127.0.0.1', '-keyout', `${name}.key`,
        '-out', `${name}.csr`);
    await writeFile(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
        '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    await chmod(path.join(dir, `${name}.key`), 0o600);
    return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`),
        ca: path.join(dir, `${ca}.pem`) };
}

/* ---- the server -------------------------------------------------------- */

/* True when the suite runs on PostgreSQL (ARCA_TEST_PG=1). */
export const PG_MODE = process.env.ARCA_TEST_PG === '1';
const pgDatabases = new Map(); /* data directory -> {cluster, name} */

/* PostgreSQL mode: the database of dataDir (created on first use) and a root
 * key file in dataDir; returns the --database-url. */
async function pgDatabaseFor(dataDir) {
    let db = pgDatabases.get(dataDir);
    if (!db) {
        const cluster = await sharedPostgres();
        db = { cluster, name: await cluster.createDatabase() };
        pgDatabases.set(dataDir, db);
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const keyFile = path.join(dataDir, 'root.key');
    if (!(await access(keyFile).then(() => true, () => false)))
        await writeFile(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
    return db.cluster.url(db.name);
}

/* Runs sql against a server's store (sqlite3 on arca.db, psql on PostgreSQL)
 * and returns the output: one row a line, columns separated by '|'. */
export async function storeSql(server, sql) {
    const db = pgDatabases.get(server.dataDir);
    if (db)
        return db.cluster.psql(db.name, sql);
    const { done } = spawnChild('sqlite3', [path.join(server.dataDir, 'arca.db'), sql],
        { env: baseEnv() });
    const r = await done;
    if (r.code !== 0)
        throw new Error(`sqlite3 failed: ${r.stderr}`);
    return r.stdout;
}

/* The flags that name a server's store, for the commands that work on the
 * store itself (arca backup, audit-logs archive); its root key is root.key in
 * the data directory. */
export function storeArgs(server) {
    const db = pgDatabases.get(server.dataDir);
    return ['--data-dir', server.dataDir, '--database-url', db ? db.cluster.url(db.name) : ''];
}

/* Every file that holds a server's data: its data directory and, on
 * PostgreSQL, its database's files and the cluster's write-ahead log. */
export async function storeFiles(server) {
    const files = await listFiles(server.dataDir);
    const db = pgDatabases.get(server.dataDir);
    if (db) {
        const oid = (await db.cluster.psql(db.name,
            'SELECT oid FROM pg_database WHERE datname = current_database()')).trim();
        for (const d of [path.join('base', oid), 'pg_wal'])
            files.push(...(await listFiles(path.join(db.cluster.dataDir, d))));
    }
    return files;
}

/* tls: {cert, key, ca} PEM file paths: the server serves HTTPS with cert and
 * key; server.url is https://, and apiCall and newCli trust ca (server.caFile).
 * onLine(line): called with each log line, from the first one on. */
export async function startServer({ args = [], env = {}, dataDir, tls, onLine } = {}) {
    dataDir ??= await tempDir('arca-data-');
    const tlsArgs = tls ? ['--tls-cert', tls.cert, '--tls-key', tls.key] : [];
    if (PG_MODE && !args.includes('--database-url'))
        args = ['--database-url', await pgDatabaseFor(dataDir), ...args];
    const { proc, done } = spawnChild(ARCA_BIN,
        ['server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...tlsArgs, ...args],
        { env: baseEnv({ HOME: path.dirname(dataDir), ...env }), cwd: path.dirname(dataDir),
            timeoutMs: 30 * 60 * 1000 });
    const logs = [];
    const stdoutLines = [];
    let exited = null;
    done.then((r) => (exited = r), () => {});
    readline.createInterface({ input: proc.stdout }).on('line', (l) => stdoutLines.push(l));
    const rl = readline.createInterface({ input: proc.stderr });

    const listen = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            proc.kill('SIGKILL');
            reject(new Error(`arca server did not log "listening" within ${CHILD_TIMEOUT_MS} ms:\n` +
                logs.join('\n')));
        }, CHILD_TIMEOUT_MS);
        rl.on('line', (line) => {
            logs.push(line);
            onLine?.(line);
            let rec;
            try {
                rec = JSON.parse(line);
            } catch {
                return;
            }
            if (rec && rec.msg === 'listening' && typeof rec.listen === 'string') {
                clearTimeout(timer);
                resolve(rec.listen);
            }
        });
        done.then((r) => {
            clearTimeout(timer);
            reject(new Error(`arca server exited (code ${r.code}, signal ${r.signal}) before ` +
                `listening:\n${logs.join('\n')}`));
        }, (e) => {
            clearTimeout(timer);
            reject(e);
        });
    });
    assert.match(listen, /^127\.0\.0\.1:[1-9][0-9]*$/, 'the listening line names 127.0.0.1:PORT');

    const server = {
        url: `${tls ? 'https' : 'http'}://${listen}`,
        caFile: tls?.ca ?? null,
        listen,
        dataDir,
        proc,
        logs,
        stdoutLines,
        get running() {
            return exited === null;
        },
        /* Graceful stop: SIGTERM, wait, expect exit code 0 and no sanitizer report. */
        async stop() {
            if (exited === null) {
                proc.kill('SIGTERM');
                const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
                await done.catch(() => {});
                clearTimeout(timer);
            }
            await new Promise((r) => setImmediate(r)); /* let readline flush the last lines */
            assertNoSanitizerReport(logs.join('\n'), 'arca server');
            assert.equal(exited.signal, null, `arca server was killed by ${exited.signal}`);
            assert.equal(exited.code, 0, `arca server exit code after SIGTERM\n${logs.slice(-20).join('\n')}`);
        },
        /* Hard stop for cleanup hooks; never throws. */
        async kill() {
            if (exited === null) {
                proc.kill('SIGKILL');
                await done.catch(() => {});
            }
        },
    };
    return server;
}

/* ---- the CLI ----------------------------------------------------------- */

/* A CLI context: own config dir (not yet created, so the CLI creates it), HOME,
 * TMPDIR and working directory.  cli.arca(args, {input, env, cwd}) runs
 * `arca` and returns {code, signal, stdout, stderr}. */
export async function newCli(server, { apiUrl } = {}) {
    const root = await tempDir('arca-cli-');
    const ctx = {
        root,
        configDir: path.join(root, 'config'),
        home: path.join(root, 'home'),
        tmp: path.join(root, 'tmp'),
        cwd: path.join(root, 'work'),
        apiUrl: apiUrl ?? server?.url,
    };
    for (const d of [ctx.home, ctx.tmp, ctx.cwd])
        await mkdir(d, { mode: 0o700 });

    ctx.env = (extra = {}) => baseEnv({ HOME: ctx.home, TMPDIR: ctx.tmp,
        ARCA_CONFIG_DIR: ctx.configDir, ARCA_API_URL: ctx.apiUrl,
        ARCA_CA_CERT: server?.caFile ?? undefined, ...extra });

    ctx.arca = async (args, { input, env, cwd, timeoutMs } = {}) => {
        const { done } = spawnChild(ARCA_BIN, args,
            { env: ctx.env(env), cwd: cwd ?? ctx.cwd, input, timeoutMs });
        const r = await done;
        r.args = args;
        assert.ok(!r.timedOut, `arca ${args.join(' ')} timed out\n${r.stderr}`);
        assertNoSanitizerReport(r.stderr, `arca ${args.join(' ')}`);
        return r;
    };

    /* On a terminal: `script` (util-linux) runs arca on a pseudo-terminal fed
     * with input; stdout and stderr both come back in stdout (with the echoed
     * input), the exit code is arca's. */
    ctx.pty = async (args, { input, env, cwd, timeoutMs } = {}) => {
        const quote = (a) => `'${String(a).replace(/'/g, `'\\''`)}'`;
        const { done } = spawnChild('script', ['-qec', [ARCA_BIN, ...args].map(quote).join(' '),
            '/dev/null'], { env: ctx.env(env), cwd: cwd ?? ctx.cwd, input, timeoutMs });
        const r = await done;
        r.args = args;
        assert.ok(!r.timedOut, `arca ${args.join(' ')} (on a terminal) timed out\n${r.stdout}`);
        assertNoSanitizerReport(r.stdout, `arca ${args.join(' ')}`);
        return r;
    };

    /* Streaming form for `arca run` signal tests: returns {proc, waitForStdout(re), done}. */
    ctx.spawn = (args, { input, env, cwd, timeoutMs } = {}) => {
        const child = spawnChild(ARCA_BIN, args,
            { env: ctx.env(env), cwd: cwd ?? ctx.cwd, input, timeoutMs });
        child.waitForStdout = (re) => new Promise((resolve, reject) => {
            const check = () => {
                const text = Buffer.concat(child.stdoutChunks).toString('utf8');
                if (re.test(text)) {
                    child.proc.stdout.off('data', onData);
                    resolve(text);
                    return true;
                }
                return false;
            };
            const onData = () => check();
            if (check())
                return;
            child.proc.stdout.on('data', onData);
            child.done.then((r) => {
                if (!check())
                    reject(new Error(`arca exited (code ${r.code}) before printing ${re}\n` +
                        `stdout: ${r.stdout}\nstderr: ${r.stderr}`));
            }, reject);
        });
        return child;
    };
    return ctx;
}

/* bootstrap + login as the first administrator; returns {email, password}. */
/* A SQLite store kept in tests/vectors/NAME (store.sql, a dump; root.key;
 * fixture.json with the email and password of a user in it), served:
 * {server, cli (logged in as that user), fx, dataDir}.  SQLite only. */
export async function startFromFixture(name) {
    const dir = path.join(REPO_ROOT, 'tests', 'vectors', name);
    const fx = JSON.parse(await readFile(path.join(dir, 'fixture.json'), 'utf8'));
    const dataDir = await tempDir(`arca-${name}-`);
    await promisify(execFile)('sqlite3', [path.join(dataDir, 'arca.db'),
        `.read ${path.join(dir, 'store.sql')}`]);
    await writeFile(path.join(dataDir, 'root.key'), await readFile(path.join(dir, 'root.key')),
        { mode: 0o600 });
    const server = await startServer({ dataDir });
    const cli = await newCli(server);
    const r = await cli.arca(['login', '--email', fx.email, '--password-stdin'],
        { input: fx.password + '\n' });
    assert.equal(r.code, 0, `login on the ${name} store: ${r.stderr}`);
    return { server, cli, fx, dataDir };
}

export async function bootstrapAndLogin(cli, { email = 'admin@example.com', organization = 'acme' } = {}) {
    const password = randomPassword();
    const b = await cli.arca(['bootstrap', '--email', email, '--password-stdin', '--organization',
        organization], { input: password + '\n' });
    assert.equal(b.code, 0, `bootstrap failed: ${b.stderr}`);
    const l = await cli.arca(['login', '--email', email, '--password-stdin'], { input: password + '\n' });
    assert.equal(l.code, 0, `login failed: ${l.stderr}`);
    return { email, password };
}

export async function createProject(cli, name) {
    const r = await cli.arca(['projects', 'create', name, '--format', 'json']);
    assert.equal(r.code, 0, `projects create failed: ${r.stderr}`);
    const p = JSON.parse(r.stdout);
    assert.equal(typeof p.id, 'string');
    assert.ok(p.id.length > 0);
    return p;
}

/* The session token saved by `arca login` (credentials.json under the config dir). */
export async function readCredentials(cli) {
    const text = await readFile(path.join(cli.configDir, 'credentials.json'), 'utf8');
    return JSON.parse(text);
}
export async function readToken(cli) {
    const creds = await readCredentials(cli);
    const found = [];
    const walk = (o) => {
        if (o && typeof o === 'object')
            for (const [k, v] of Object.entries(o)) {
                if (typeof v === 'string' && /token/i.test(k))
                    found.push(v);
                else
                    walk(v);
            }
    };
    walk(creds);
    assert.ok(found.length > 0, 'credentials.json holds a token');
    return found[0];
}

/* Checks the documented error output: `arca: error: ...` and at most a hint line. */
export function assertErrorOutput(r, code, { hint, what } = {}) {
    what ??= 'arca ' + (r.args ?? []).map((a) => (a.length > 40 ? a.slice(0, 37) + '...' : a)).join(' ');
    assert.equal(r.code, code, `${what}: exit code (stderr: ${r.stderr.trim()})`);
    const lines = r.stderr.replace(/\n$/, '').split('\n');
    assert.ok(lines.length >= 1 && lines.length <= 2, `${what}: one error line (+hint), got:\n${r.stderr}`);
    assert.match(lines[0], /^arca: error: \S/, 'first stderr line is "arca: error: ..."');
    if (lines.length === 2)
        assert.match(lines[1], /^arca: hint: \S/, 'second stderr line is "arca: hint: ..."');
    if (hint)
        assert.match(r.stderr, hint);
}

/* Every regular file under dir (recursively). */
export async function listFiles(dir) {
    const out = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory())
            out.push(...(await listFiles(p)));
        else if (e.isFile())
            out.push(p);
    }
    return out;
}

/* A loopback port with nothing listening on it. */
export async function closedPort() {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

/* A raw HTTP request that stops sending the body as soon as the server answers
 * (for over-limit bodies the server may refuse early).  body: Buffer or null;
 * chunked: send without Content-Length. */
export function rawRequest(url, { method = 'POST', headers = {}, body = null, chunked = false } = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const h = { ...headers };
        if (body && !chunked)
            h['Content-Length'] = String(body.length);
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
            method, headers: h, timeout: CHILD_TIMEOUT_MS });
        let answered = false;
        req.on('response', (res) => {
            answered = true;
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        req.on('error', (e) => {
            if (!answered)
                reject(new Error(`${method} ${u.pathname}: no HTTP response, the server closed the ` +
                    `connection without answering (${e.code ?? e.message})`));
        });
        if (!body) {
            req.end();
            return;
        }
        let off = 0;
        const CHUNK = 64 * 1024;
        const pump = () => {
            while (!answered && off < body.length) {
                const piece = body.subarray(off, off + CHUNK);
                off += piece.length;
                if (!req.write(piece)) {
                    req.once('drain', pump);
                    return;
                }
            }
            if (!answered)
                req.end();
        };
        pump();
    });
}

/* Checks a documented JSON error response. */
export const REQ_ID_RE = /^req-[A-Za-z0-9]{14}$/;
export function assertApiError(res, status, error, text) {
    assert.equal(res.status, status, `HTTP status (body: ${text})`);
    let body;
    assert.doesNotThrow(() => (body = JSON.parse(text)), `error body is JSON: ${text}`);
    assert.equal(body.statusCode, status);
    assert.equal(body.error, error);
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length > 0);
    assert.match(body.reqId, REQ_ID_RE);
    return body;
}

/* ---- teams: HTTP calls, people, tokens --------------------------------- */

/* fetch's subset apiCall uses ({status, headers, text()}), over node:https
 * trusting the CA certificate file ca only (fetch cannot take a CA per request). */
export async function httpsFetch(url, { method = 'GET', headers = {}, body, ca }) {
    const caPem = await readFile(ca);
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method, headers, ca: caPem, timeout: CHILD_TIMEOUT_MS },
            (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('error', reject);
                res.on('end', () => {
                    const h = new Headers();
                    for (const [k, v] of Object.entries(res.headers))
                        h.set(k, Array.isArray(v) ? v.join(', ') : v);
                    const text = Buffer.concat(chunks).toString('utf8');
                    resolve({ status: res.statusCode, headers: h, text: async () => text });
                });
            });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
        req.on('error', reject);
        req.end(body);
    });
}

/* One JSON API call: token (or null for none), body (object or string).
 * Returns {status, headers, text, json} (json null when the body is not JSON). */
/* localAddress: send from that loopback address (127.0.0.2, ...) instead of
 * 127.0.0.1, over node:http (plain HTTP only). */
export async function apiCall(server, method, route, { token = null, body, headers = {}, localAddress } = {}) {
    const h = { ...headers };
    if (token)
        h.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        h['Content-Type'] ??= 'application/json';
    }
    if (localAddress)
        return httpFrom(localAddress, server.url + route, { method, headers: h, body: payload });
    const res = server.caFile
        ? await httpsFetch(server.url + route, { method, headers: h, body: payload, ca: server.caFile })
        : await fetch(server.url + route, { method, headers: h, body: payload,
            signal: AbortSignal.timeout(CHILD_TIMEOUT_MS) });
    const text = await res.text();
    let json = null;
    try {
        json = JSON.parse(text);
    } catch {
        /* not JSON */
    }
    return { status: res.status, headers: res.headers, text, json };
}

/* One plain-HTTP request from a given local address; apiCall's result shape. */
function httpFrom(localAddress, url, { method, headers, body }) {
    if (body !== undefined)
        headers = { ...headers, 'Content-Length': Buffer.byteLength(body) }; /* DELETE is not chunked */
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, localAddress, agent: false,
            timeout: CHILD_TIMEOUT_MS }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json = null;
                try {
                    json = JSON.parse(text);
                } catch {
                    /* not JSON */
                }
                resolve({ status: res.statusCode, headers: new Headers(res.headers), text, json });
            });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
        req.on('error', reject);
        req.end(body);
    });
}

/* Bytes the server accepts as a ciphertext record (it checks only the format):
 * 0x01 then random bytes, len in all (>= 41), base64. */
export function fakeRecord(len = 64) {
    assert.ok(len >= 41);
    return Buffer.concat([Buffer.from([1]), randomBytes(len - 1)]).toString('base64');
}

/* Polls fn() (async, truthy = done) every intervalMs until it is done or
 * timeoutMs has passed; returns its last value, throws on timeout. */
export async function waitFor(fn, { timeoutMs = 30000, intervalMs = 200, what = 'condition' } = {}) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v)
            return v;
        if (Date.now() > end)
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/* Every string value in credentials.json matching re (first one). */
export async function readCredentialMatching(cli, re) {
    const creds = await readCredentials(cli);
    const found = [];
    const walk = (o) => {
        if (typeof o === 'string') {
            if (re.test(o))
                found.push(o);
        } else if (o && typeof o === 'object') {
            for (const v of Object.values(o))
                walk(v);
        }
    };
    walk(creds);
    assert.ok(found.length > 0, `credentials.json holds a string matching ${re}`);
    return found[0];
}

export const INVITE_TOKEN_RE = /arca_inv_[A-Za-z0-9_-]{20,}/;
export const SERVICE_TOKEN_RE = /st\.[A-Za-z0-9-]+\.[A-Za-z0-9_-]+\.[0-9a-fA-F]+/;

/* `arca users invite` + `arca signup` (+ `arca login` if the signup left no
 * session): a new person in the inviting admin's organization, logged in with
 * their own CLI context.  Returns {cli, email, password, inviteToken}. */
export async function inviteAndSignup(adminCli, server, email, { orgRole = 'member' } = {}) {
    const inv = await adminCli.arca(['users', 'invite', email, '--org-role', orgRole]);
    assert.equal(inv.code, 0, `users invite ${email}: ${inv.stderr}`);
    const m = INVITE_TOKEN_RE.exec(inv.stdout);
    assert.ok(m, `users invite prints an invite token: ${inv.stdout}`);
    const cli = await newCli(server);
    const password = randomPassword();
    const s = await cli.arca(['signup', '--invite', m[0], '--email', email, '--password-stdin'],
        { input: password + '\n' });
    assert.equal(s.code, 0, `signup ${email}: ${s.stderr}`);
    const w = await cli.arca(['whoami']);
    if (w.code !== 0) {
        const l = await cli.arca(['login', '--email', email, '--password-stdin'],
            { input: password + '\n' });
        assert.equal(l.code, 0, `login ${email}: ${l.stderr}`);
    }
    return { cli, email, password, inviteToken: m[0] };
}

/* The service token (st.<id>.<secret>.<key>) printed by `arca service-token create`. */
export function serviceTokenIn(text) {
    const m = SERVICE_TOKEN_RE.exec(text);
    assert.ok(m, `a service token st.<id>.<secret>.<key> in: ${text}`);
    return m[0];
}
/* What goes on the wire: st.<id>.<secret> (the <key> part never leaves the client). */
export function serviceTokenBearer(full) {
    return full.split('.').slice(0, 3).join('.');
}

/* Runs fn (an async function) and returns what it threw; fails if it did not throw. */
export async function thrown(fn, what) {
    try {
        await fn();
    } catch (e) {
        return e;
    }
    assert.fail(`${what}: expected an error`);
}
