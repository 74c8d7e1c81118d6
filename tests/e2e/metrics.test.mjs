// metrics.test.mjs - GET /metrics (docs/metrics.md): served only on --metrics-listen (off by
// default, never on the API address), valid Prometheus text (`promtool check metrics`,
// Debian's prometheus package, installed by tools/lib/deps.sh), counting what operators
// watch - requests by route pattern and status, latency, audit group commits, cache hits,
// logins, rate-limit refusals - and never a label holding a secret, a token, a key name, a
// project ID or the path a client sent.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';

import {
    ARCA_BIN, CHILD_TIMEOUT_MS, apiCall, bootstrapAndLogin, createProject, newCli,
    removeTempDirs, startServer,
} from './harness.mjs';

const T = { timeout: 300000 };
const servers = [];

after(async () => {
    for (const s of servers)
        await s.stop();
    await removeTempDirs();
});

function run(cmd, args, input) {
    return new Promise((resolve) => {
        const p = execFile(cmd, args, { timeout: CHILD_TIMEOUT_MS },
            (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
        if (input !== undefined)
            p.stdin.end(input);
    });
}

/* The metrics address, from the server's "metrics listening" log line. */
function metricsUrl(server) {
    const line = server.logs.map((l) => JSON.parse(l)).find((r) => r.msg === 'metrics listening');
    assert.ok(line, 'the server logs the metrics address');
    return `http://${line.listen}`;
}

async function scrape(server) {
    const res = await fetch(metricsUrl(server) + '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    return res.text();
}

/* The value of the sample with exactly these labels (names in any order), or undefined. */
function sample(text, name, labels = {}) {
    for (const line of text.split('\n')) {
        const m = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/);
        if (!m || m[1] !== name)
            continue;
        const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)]
            .map((x) => [x[1], x[2]]));
        if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort()))
            return Number(m[3]);
    }
    return undefined;
}

test('off by default; --metrics-listen serves /metrics only there', T, async () => {
    const plain = await startServer();
    servers.push(plain);
    assert.ok(!plain.logs.some((l) => l.includes('metrics listening')));
    assert.equal((await apiCall(plain, 'GET', '/metrics')).status, 404);

    const s = await startServer({ args: ['--metrics-listen', '127.0.0.1:0'] });
    servers.push(s);
    assert.equal((await apiCall(s, 'GET', '/metrics')).status, 404, 'not on the API address');
    const base = metricsUrl(s);
    assert.notEqual(base, s.url);
    assert.equal((await fetch(base + '/api/status')).status, 404);
    assert.equal((await fetch(base + '/metrics', { method: 'POST', body: 'x' })).status, 405);
    const text = await scrape(s);
    const version = (await run(ARCA_BIN, ['--version'])).stdout.split('\n')[0].split(' ')[1];
    assert.equal(sample(text, 'arca_build_info', { version, store: process.env.ARCA_TEST_PG === '1'
        ? 'postgres' : 'sqlite' }), 1, text.split('\n').filter((l) => l.includes('build')).join('\n'));

    /* a bad address stops the server at start, saying what to do */
    const bad = await run(ARCA_BIN, ['server', '--listen', '127.0.0.1:0', '--data-dir', s.dataDir + '-x',
        '--metrics-listen', 'nowhere']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid metrics address \(use HOST:PORT/);
});

test('the counters move with the traffic, promtool accepts the text, no label leaks', T,
    async () => {
        const s = await startServer({ args: ['--metrics-listen', '127.0.0.1:0',
            '--login-limit-account', '2,1'] });
        servers.push(s);
        const cli = await newCli(s);
        await bootstrapAndLogin(cli);
        const p = await createProject(cli, 'metered');
        const pid = ['--project-id', p.id];
        let r = await cli.arca(['projects', 'update', p.id, '--server-access', 'on']);
        assert.equal(r.code, 0, r.stderr);
        r = await cli.arca(['secrets', 'set', 'STRIPE_KEY_NAME_XYZ=sk_live_value_42', '--env=prod', ...pid]);
        assert.equal(r.code, 0, r.stderr);
        r = await cli.arca(['identities', 'create', 'scraper-test', ...pid, '--role', 'viewer',
            '--format', 'json']);
        assert.equal(r.code, 0, r.stderr);
        const id = JSON.parse(r.stdout);

        const before = await scrape(s);
        const login = await apiCall(s, 'POST', '/api/v1/auth/universal-auth/login',
            { body: { clientId: id.clientId, clientSecret: id.clientSecret } });
        assert.equal(login.status, 200, login.text);
        const token = login.json.accessToken;
        const q = `/api/v3/secrets/raw?workspaceId=${p.id}&environment=prod&secretPath=/app/deep`;
        for (let i = 0; i < 3; i++)
            assert.equal((await apiCall(s, 'GET', q, { token })).status, 200);
        const one = `/api/v3/secrets/raw/STRIPE_KEY_NAME_XYZ?workspaceId=${p.id}&environment=prod`;
        assert.equal((await apiCall(s, 'GET', one, { token })).status, 200);
        assert.equal((await apiCall(s, 'GET', '/api/v9/secret-path-of-a-client', { token })).status, 404);
        /* three failed logins of one client ID: two failures, then the account limit (2,1) */
        const wrong = { clientId: id.clientId, clientSecret: 'e'.repeat(64) };
        const codes = [];
        for (let i = 0; i < 3; i++)
            codes.push((await apiCall(s, 'POST', '/api/v1/auth/universal-auth/login',
                { body: wrong })).status);
        assert.deepEqual(codes, [401, 401, 429]);

        const text = await scrape(s);
        const diff = (name, labels) => (sample(text, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
        const raw = { method: 'GET', route: '/api/v3/secrets/raw' };
        assert.equal(diff('arca_http_requests_total', { ...raw, status: '200' }), 3);
        assert.equal(diff('arca_http_requests_total', { method: 'GET',
            route: '/api/v3/secrets/raw/:secretName', status: '200' }), 1);
        assert.equal(diff('arca_http_requests_total', { method: '', route: 'unmatched', status: '404' }), 1);
        assert.equal(diff('arca_http_request_duration_seconds_count', raw), 3);
        assert.equal(diff('arca_http_request_duration_seconds_bucket', { ...raw, le: '+Inf' }), 3);
        assert.ok(diff('arca_cache_requests_total', { result: 'hit' }) >= 2, 'repeated reads hit:\n' + text.split('\n').filter((l) => l.startsWith('arca_cache')).join('\n'));
        assert.ok(diff('arca_cache_requests_total', { result: 'miss' }) >= 1);
        assert.equal(diff('arca_logins_total', { kind: 'identity', outcome: 'success' }), 1);
        assert.equal(diff('arca_logins_total', { kind: 'identity', outcome: 'failure' }), 2);
        assert.equal(sample(text, 'arca_logins_total', { kind: 'user', outcome: 'success' }), 1);
        assert.equal(diff('arca_rate_limited_total', { limit: 'login' }), 1);
        assert.ok(diff('arca_audit_commit_records_count', {}) >= 1, 'audit group commits');
        assert.ok(sample(text, 'arca_audit_commit_records_sum', {}) >=
            sample(text, 'arca_audit_commit_records_count', {}));
        assert.equal(sample(text, 'arca_audit_queue_depth', {}), 0);
        assert.equal(sample(text, 'arca_store_errors_total', { op: 'epoch' }), 0);
        if (process.env.ARCA_TEST_PG !== '1') {
            /* the writes above (project, secret, identity) went through group commits */
            const commits = sample(text, 'arca_store_write_commits_total', {});
            assert.ok(commits >= 3, `arca_store_write_commits_total ${commits}`);
            assert.ok(sample(text, 'arca_store_write_calls_total', {}) >= commits);
        }

        /* nothing a client sent, no secret, token, key name or ID in any label or value */
        for (const leak of [p.id, id.clientId, id.clientSecret, token, 'STRIPE_KEY_NAME_XYZ',
            'sk_live_value_42', '/app/deep', 'secret-path-of-a-client', 'metered', 'scraper-test',
            'admin@example.com'])
            assert.ok(!text.includes(leak), `the metrics text holds ${leak}`);

        const check = await run('promtool', ['check', 'metrics'], text);
        assert.equal(check.code, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
        assert.equal(check.stdout + check.stderr, '', 'promtool has no lint complaint');
    });
