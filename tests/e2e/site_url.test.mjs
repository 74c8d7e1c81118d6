// site_url.test.mjs - `arca server --site-url URL` (ARCA_SITE_URL): the address users reach
// the server at (a proxy, a container's port mapping) is what its start line names, and
// anything but an http(s) URL stops the server at start with exit code 2.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';

import { ARCA_BIN, CHILD_TIMEOUT_MS, removeTempDirs, startServer, tempDir } from './harness.mjs';

after(removeTempDirs);

function listening(server) {
    return server.logs.map((l) => JSON.parse(l)).find((r) => r.msg === 'listening');
}

test('the start line names the site URL, from the flag or ARCA_SITE_URL', async () => {
    let s = await startServer({ args: ['--site-url', 'https://arca.example.com:8443'] });
    assert.equal(listening(s).siteUrl, 'https://arca.example.com:8443');
    await s.stop();
    s = await startServer({ env: { ARCA_SITE_URL: 'http://localhost:8200' } });
    assert.equal(listening(s).siteUrl, 'http://localhost:8200');
    await s.stop();
});

test('a site URL that is not http(s) is refused at start', async () => {
    const dir = await tempDir();
    for (const bad of ['ftp://x', 'arca.example.com', 'https://a b', `https://${'a'.repeat(600)}`]) {
        const r = await new Promise((resolve) => execFile(ARCA_BIN, ['server', '--listen',
            '127.0.0.1:0', '--data-dir', dir, '--site-url', bad], { timeout: CHILD_TIMEOUT_MS },
        (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr })));
        assert.equal(r.code, 2, bad);
        assert.match(r.stderr, /--site-url \(or ARCA_SITE_URL\) must be an http:\/\/ or https:\/\/ URL/);
    }
});
