// tls.test.mjs - arca over HTTPS.  A throwaway CA and a server certificate for
// 127.0.0.1 are made with the openssl CLI; the server serves them with
// --tls-cert/--tls-key and the CLI trusts the CA through ARCA_CA_CERT or
// --ca-cert.  The refusals: no trusted CA, plain http to the TLS port, TLS 1.1,
// and the server's startup errors (one file only, a key others can read, a
// non-PEM file, a key that does not match the certificate).  And the warning
// for plain http to another machine.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
    apiCall, ARCA_BIN, assertErrorOutput, bootstrapAndLogin, CHILD_TIMEOUT_MS, createProject,
    makeTlsFiles, newCli, NODE, rawRequest, removeTempDirs, startServer, tempDir, thrown,
} from './harness.mjs';

const run = promisify(execFile);
const T = { timeout: 180000 };

let dir; /* the certificates */
let tls; /* {cert, key, ca} */
let srv; /* serving tls */

before(async () => {
    dir = await tempDir('arca-tls-');
    tls = await makeTlsFiles(dir);
    await makeTlsFiles(dir, { name: 'other', ca: 'other-ca' });
    srv = await startServer({ tls });
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

/* `arca server` with args that must stop it before it listens: {code, stderr}. */
async function serverFails(args, env = {}) {
    const data = await tempDir('arca-data-');
    try {
        await run(ARCA_BIN, ['server', '--listen', '127.0.0.1:0', '--data-dir', data, ...args],
            { env: { PATH: process.env.PATH, HOME: data, ...env }, timeout: CHILD_TIMEOUT_MS });
    } catch (e) {
        assert.equal(e.killed, false, `arca server ${args.join(' ')} should stop by itself`);
        return { code: e.code, stderr: e.stderr };
    }
    assert.fail(`arca server ${args.join(' ')} started`);
}

function errorLine(stderr) {
    const lines = stderr.split('\n').filter(Boolean).map((l) => {
        try {
            return JSON.parse(l);
        } catch {
            return { msg: l };
        }
    });
    const e = lines.find((l) => l.level === 'error');
    assert.ok(e, `an error log line in:\n${stderr}`);
    return e;
}

test('TLS: the server says it serves TLS and answers the API over https', T, async () => {
    const line = srv.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'listening');
    assert.equal(line.tls, 'true');
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await apiCall(srv, 'GET', '/api/status');
    assert.equal(r.status, 200);
    assert.equal(r.json.message, 'Ok');
    assert.equal(r.headers.get('cache-control'), 'no-store');

    const plain = await startServer();
    try {
        const l = plain.logs.map((x) => JSON.parse(x)).find((x) => x.msg === 'listening');
        assert.equal(l.tls, 'false');
    } finally {
        await plain.stop();
    }
});

test('TLS: the CLI trusting the CA bootstraps, logs in, sets secrets and runs over https', T, async () => {
    const cli = await newCli(srv); /* ARCA_CA_CERT = the CA */
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'tls');
    let r = await cli.arca(['init', '--project-id', p.id]);
    assert.equal(r.code, 0, r.stderr);
    r = await cli.arca(['secrets', 'set', 'DB_PASSWORD=over-tls', '--env', 'prod']);
    assert.equal(r.code, 0, r.stderr);
    r = await cli.arca(['run', '--env', 'prod', '--', NODE, '-e',
        'process.stdout.write(process.env.DB_PASSWORD)']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'over-tls');
    assert.equal(r.stderr, '', 'no warning for https');

    /* --ca-cert does the same as ARCA_CA_CERT */
    r = await cli.arca(['secrets', 'get', 'DB_PASSWORD', '--env', 'prod', '--plain',
        '--ca-cert', tls.ca], { env: { ARCA_CA_CERT: null } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'over-tls');
});

test('TLS: without the CA, or with another CA, the CLI refuses the server (exit 6)', T, async () => {
    const cli = await newCli(srv);
    for (const env of [{ ARCA_CA_CERT: null }, { ARCA_CA_CERT: path.join(dir, 'other-ca.pem') }]) {
        const r = await cli.arca(['login', '--email', 'admin@example.com', '--password-stdin'],
            { input: 'whatever\n', env });
        assertErrorOutput(r, 6, { hint: /certificate of the arca server at https:\/\/127\.0\.0\.1:\d+ is not trusted/ });
        assert.match(r.stderr, /ARCA_CA_CERT or --ca-cert/);
    }
    /* an unreadable CA file is named */
    const missing = path.join(dir, 'missing-ca.pem');
    let r = await cli.arca(['login', '--email', 'a@example.com', '--password-stdin'],
        { input: 'x\n', env: { ARCA_CA_CERT: missing } });
    assertErrorOutput(r, 4, { hint: /missing-ca\.pem/ });
    r = await cli.arca(['login', '--email', 'a@example.com', '--password-stdin', '--ca-cert', missing],
        { input: 'x\n', env: { ARCA_CA_CERT: null } });
    assertErrorOutput(r, 4, { hint: /missing-ca\.pem/ });
});

test('TLS: plain http to the TLS port gets no HTTP answer', T, async () => {
    const httpUrl = srv.url.replace(/^https:/, 'http:');
    const e = await thrown(() => rawRequest(httpUrl + '/api/status', { method: 'GET' }), 'plain http');
    assert.match(e.message, /no HTTP response/);

    const cli = await newCli(srv, { apiUrl: httpUrl });
    const r = await cli.arca(['login', '--email', 'a@example.com', '--password-stdin'],
        { input: 'x\n' });
    assertErrorOutput(r, 1, { hint: /closed the connection without answering.*https:\/\//s });

    /* and an https client to a plain server fails the handshake */
    const plain = await startServer();
    try {
        const c2 = await newCli(plain, { apiUrl: plain.url.replace(/^http:/, 'https:') });
        const r2 = await c2.arca(['login', '--email', 'a@example.com', '--password-stdin'],
            { input: 'x\n', env: { ARCA_CA_CERT: tls.ca } });
        assertErrorOutput(r2, 6, { hint: /cannot set up TLS/ });
    } finally {
        await plain.stop();
    }
    assert.ok(srv.running, 'the TLS server is still up');
});

test('TLS: TLS 1.1 is refused, TLS 1.2 and 1.3 are accepted', T, async () => {
    const port = srv.listen.split(':')[1];
    const handshake = async (...flags) => {
        /* SECLEVEL=0 lets this client offer TLS 1.1 at all: the refusal is the server's */
        const p = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`,
            '-CAfile', tls.ca, '-cipher', 'DEFAULT:@SECLEVEL=0', ...flags],
        { timeout: CHILD_TIMEOUT_MS });
        p.child.stdin.end(); /* s_client quits at the end of its input */
        const r = await p.catch((e) => e);
        assert.ok(!r.killed, 'openssl s_client ended by itself');
        const m = /(?:New|Reused), (\S+), Cipher is (\S+)/.exec(r.stdout ?? '');
        return m ? { version: m[1], cipher: m[2] } : { version: null, cipher: '(NONE)' };
    };
    const old = await handshake('-tls1_1');
    assert.equal(old.cipher, '(NONE)', 'no TLS 1.1 session');
    const v12 = await handshake('-tls1_2');
    assert.equal(v12.version, 'TLSv1.2');
    assert.notEqual(v12.cipher, '(NONE)');
    const v13 = await handshake('-tls1_3');
    assert.equal(v13.version, 'TLSv1.3');
});

test('TLS: startup refuses a lone flag, a readable key, non-PEM files and a mismatched key', T, async () => {
    /* both or neither: a usage error before anything starts */
    let r = await serverFails(['--tls-cert', tls.cert]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /arca: error: TLS needs both --tls-cert and --tls-key/);
    r = await serverFails([], { ARCA_TLS_KEY: tls.key });
    assert.equal(r.code, 2);

    /* a key file others can read: refused, named */
    const open = path.join(dir, 'open.key');
    await copyFile(tls.key, open);
    await chmod(open, 0o644);
    r = await serverFails(['--tls-cert', tls.cert, '--tls-key', open]);
    assert.equal(r.code, 1);
    let e = errorLine(r.stderr);
    assert.match(e.msg, /TLS private key file is accessible by other users: chmod 600/);
    assert.equal(e.file, open);
    /* group access is allowed (Debian's ssl-cert group) */
    await chmod(open, 0o640);

    /* not PEM; swapped files; missing file */
    const garbage = path.join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key\n', { mode: 0o600 });
    r = await serverFails(['--tls-cert', tls.cert, '--tls-key', garbage]);
    e = errorLine(r.stderr);
    assert.match(e.msg, /the TLS private key file is not in PEM format/);
    assert.equal(e.file, garbage);
    r = await serverFails(['--tls-cert', tls.key, '--tls-key', tls.cert]);
    e = errorLine(r.stderr);
    assert.match(e.msg, /the TLS certificate file is not in PEM format/);
    r = await serverFails(['--tls-cert', path.join(dir, 'nope.pem'), '--tls-key', tls.key]);
    e = errorLine(r.stderr);
    assert.match(e.msg, /cannot read the TLS certificate file/);
    assert.match(e.error, /No such file/);

    /* a key of another certificate: GnuTLS's reason */
    r = await serverFails(['--tls-cert', tls.cert, '--tls-key', path.join(dir, 'other.key')]);
    e = errorLine(r.stderr);
    assert.match(e.msg, /cannot start the HTTPS server/);
    assert.match(r.stderr, /do not match/);
    assert.ok(!r.stderr.includes('PRIVATE KEY'), 'no key material in the log');

    /* the 0640 key and the environment variables work */
    const s = await startServer({ env: { ARCA_TLS_CERT: tls.cert, ARCA_TLS_KEY: open } });
    try {
        const l = s.logs.map((x) => JSON.parse(x)).find((x) => x.msg === 'listening');
        assert.equal(l.tls, 'true');
        const st = await apiCall({ url: `https://${s.listen}`, caFile: tls.ca }, 'GET', '/api/status');
        assert.equal(st.status, 200);
    } finally {
        await s.stop();
    }
});

test('TLS: plain http to another machine warns, to this one does not', T, async () => {
    const plain = await startServer();
    try {
        const cli = await newCli(plain);
        const local = await cli.arca(['login', '--email', 'a@example.com', '--password-stdin'],
            { input: 'x\n' });
        assert.doesNotMatch(local.stderr, /warning/);

        /* one of this machine's own non-loopback addresses: nothing listens there */
        const own = Object.values(os.networkInterfaces()).flat()
            .find((i) => i && i.family === 'IPv4' && !i.internal);
        if (!own)
            return;
        const r = await cli.arca(['login', '--email', 'a@example.com', '--password-stdin',
            '--api-url', `http://${own.address}:1`], { input: 'x\n' });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr.split('\n')[0],
            /^arca: warning: http:\/\/.* is plain http to another machine: tokens and keys cross the network unencrypted/);
    } finally {
        await plain.stop();
    }
});
