// status.test.mjs - `arca status`: asks GET /api/status without logging in (the container
// image's HEALTHCHECK runs it): exit 0 and a line naming the server when it answers 200,
// exit 6 with what to do when nothing answers.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { assertErrorOutput, closedPort, newCli, removeTempDirs, startServer } from './harness.mjs';

after(removeTempDirs);

test('arca status: 0 when the server is up, 6 when nothing answers', async () => {
    const s = await startServer();
    const cli = await newCli(s);
    let r = await cli.arca(['status']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `arca server at ${s.url} is up\n`);
    r = await cli.arca(['status', '--api-url', `http://127.0.0.1:${await closedPort()}`]);
    assertErrorOutput(r, 6);
    assert.match(r.stderr, /cannot reach the arca server/);
    await s.stop();
    r = await cli.arca(['status']);
    assertErrorOutput(r, 6);
});
