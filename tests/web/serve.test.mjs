// The web app as the server serves it: embedded files, SPA fallback that never
// shadows the API, caching (ETag, 304, immutable hashed names), gzip, and the
// security headers (CSP without inline script, no framing, no referrer).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { bootstrapAndLogin, newCli, removeTempDirs, startServer, waitFor } from '../e2e/harness.mjs';

let server;

before(async () => {
    server = await startServer();
});
after(async () => {
    await server?.stop();
    await removeTempDirs();
});

const get = (p, headers = {}) => fetch(server.url + p, { headers: { 'accept-encoding': 'identity', ...headers } });

function assertSecurityHeaders(res) {
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
}

test('the first-run log names the setup page to open', async () => {
    // logged right after "listening", which is what startServer waits for
    await waitFor(() => server.logs.some((l) => l.includes('"url"')), { what: 'the setup URL in the log' });
    const rec = server.logs.map((l) => { try { return JSON.parse(l); } catch { return {}; } })
        .find((r) => r.url);
    assert.ok(rec, `a log line with the URL:\n${server.logs.join('\n')}`);
    assert.equal(rec.url, `${server.url}/setup`);
});

test('/ is the app: no inline script, hashed module, strict headers, revalidated', async () => {
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assertSecurityHeaders(res);
    const html = await res.text();
    assert.match(html, /<div id="app">/);
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const s of scripts) {
        assert.equal(s[1].trim(), '', 'no inline script');
        assert.match(s[0], /src="\/assets\/[^"]+-[A-Za-z0-9_-]{8}\.js"/);
    }
    assert.doesNotMatch(html, /<style\b/);
    assert.doesNotMatch(html, /https?:\/\//, 'no other origin named');
});

test('app routes load the app; the API is never shadowed', async () => {
    for (const p of ['/setup', '/login', '/projects', '/projects/abc/secrets']) {
        const res = await get(p);
        assert.equal(res.status, 200, p);
        assert.match(await res.text(), /<div id="app">/, p);
    }
    const api = await get('/api/arca/v1/nothing-here');
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type'), /application\/json/);
    assert.equal((await api.json()).statusCode, 404);
    assert.equal((await get('/api')).status, 404);
    assert.equal((await get('/api/status')).status, 200);
    const me = await get('/api/arca/v1/users/me');
    assert.equal(me.status, 401, 'an API route still needs its token');
    // a missing hashed file is a 404, not the app under a script's name
    assert.equal((await get('/assets/index-00000000.js')).status, 404);
    assert.equal((await get('/nothing.js')).status, 404);
    // writes are never the app's
    const post = await fetch(server.url + '/projects', { method: 'POST', body: '{}' });
    assert.equal(post.status, 404);
});

test('hashed assets: immutable, ETag and 304, gzip that unpacks to the same bytes', async () => {
    const html = await (await get('/')).text();
    const js = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
    const plain = await get(js);
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type'), /^text\/javascript/);
    assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assertSecurityHeaders(plain);
    const etag = plain.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const body = Buffer.from(await plain.arrayBuffer());

    const again = await get(js, { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);

    // undici would unpack gzip itself: ask with a raw request
    const { request } = await import('node:http');
    const raw = (ae) => new Promise((resolve, reject) => {
        request(server.url + js, { headers: { 'accept-encoding': ae } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
        }).on('error', reject).end();
    });
    const gz = await raw('gzip, br');
    for (const ae of ['br;q=1.0, gzip;q=0.5', 'GZIP', '*'])
        assert.equal((await raw(ae)).res.headers['content-encoding'], 'gzip', ae);
    for (const ae of ['gzip;q=0', 'br', 'identity', 'x-gzip-not'])
        assert.equal((await raw(ae)).res.headers['content-encoding'], undefined, ae);
    assert.equal(gz.res.headers['content-encoding'], 'gzip');
    assert.equal(gz.res.headers.vary, 'Accept-Encoding');
    assert.ok(gz.body.length < body.length);
    assert.ok(gunzipSync(gz.body).equals(body));
});

test('once an account exists, the log no longer asks for setup', async () => {
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    // a request's log line comes after any start-up line: once it is read, all are
    await get('/login');
    await waitFor(() => server.logs.some((l) => l.includes('"/login"')), { what: 'the request log line' });
    assert.ok(!server.logs.some((l) => l.includes('/setup')), server.logs.join('\n'));
});
