// abuse.test.mjs - guessing tokens is limited per address.
//
// Each refused token is an audit record (an fsync), so an address that keeps
// sending bad tokens must be slowed down: past its budget (300 a minute) the
// server answers 429 with Retry-After, without recording each one, and stays up.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { apiCall, removeTempDirs, startServer } from './harness.mjs';

const V1 = '/api/arca/v1';
let server;
after(async () => {
    await server?.kill();
    await removeTempDirs();
});

test('bad tokens from one address: 401 up to the budget, then 429 with Retry-After', async () => {
    server = await startServer();
    const statuses = [];
    let retryAfter = null;
    const started = Date.now();
    /* eight at a time: well over the refill rate (5 a second) even on a
     * loaded machine under ASan, so the budget runs out (400 requests: within
     * 20 s, faster than 300 plus the refill) */
    for (let i = 0; i < 400; i += 8) {
        const batch = await Promise.all(Array.from({ length: 8 }, (_, k) => apiCall(server, 'GET',
            `${V1}/projects`, { token: `arca_s_${'A'.repeat(40)}${String(i + k).padStart(3, '0')}` })));
        for (const r of batch) {
            statuses.push(r.status);
            if (r.status === 429) {
                retryAfter = r.headers.get('retry-after');
                assert.equal(r.json.error, 'RateLimitError');
            } else {
                assert.equal(r.status, 401, r.text);
            }
        }
    }
    const seconds = (Date.now() - started) / 1000;
    const refused = statuses.filter((s) => s === 401).length;
    assert.ok(statuses.includes(429), 'limited once the budget is spent');
    assert.ok(refused >= 300, `at least 300 plain refusals, got ${refused}`);
    /* past the budget only what the bucket refilled (300 a minute) got through */
    assert.ok(refused - 300 <= Math.ceil(seconds * 5) + 1,
        `${refused - 300} refusals past the budget in ${seconds.toFixed(1)} s`);
    assert.match(retryAfter ?? '', /^[1-9][0-9]*$/, 'Retry-After in seconds');
    const status = await apiCall(server, 'GET', '/api/status');
    assert.equal(status.status, 200, 'the server stays up');
    await server.stop();
});
