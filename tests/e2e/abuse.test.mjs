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
    for (let i = 0; i < 320; i++) {
        const r = await apiCall(server, 'GET', `${V1}/projects`,
            { token: `arca_s_${'A'.repeat(40)}${String(i).padStart(3, '0')}` });
        statuses.push(r.status);
        if (r.status === 429) {
            retryAfter = r.headers.get('retry-after');
            assert.equal(r.json.error, 'RateLimitError');
        } else {
            assert.equal(r.status, 401, r.text);
        }
    }
    const first429 = statuses.indexOf(429);
    assert.ok(first429 >= 300, `at least 300 refusals before limiting, got ${first429}`);
    assert.ok(statuses.slice(first429).every((s) => s === 429), 'limited from then on');
    assert.match(retryAfter ?? '', /^[1-9][0-9]*$/, 'Retry-After in seconds');
    const status = await apiCall(server, 'GET', '/api/status');
    assert.equal(status.status, 200, 'the server stays up');
    await server.stop();
});
