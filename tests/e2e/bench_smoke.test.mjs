// bench_smoke.test.mjs - the benchmark harness cannot rot silently: `node
// bench/run.mjs --quick` against the binary under test (ARCA_BIN, so no release
// build) prints its whole table with a number in every cell that has one, and
// writes the same rows as JSON, each goal marked met or missed.  No timing is
// asserted: the bench prints, the tests check behaviour.  Needs wrk and nginx
// (tools/test installs them, see tools/lib/bench-deps.sh), bench/node_modules
// (npm ci in bench/) and PostgreSQL's binaries (tools/lib/deps.sh; without
// them the PostgreSQL rows say n/a).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ARCA_BIN, REPO_ROOT, removeTempDirs, tempDir } from './harness.mjs';

const NUMBER = /^-?\d+(\.\d+)?$/;

test('bench --quick prints every figure with numbers, against arca and its peers', async () => {
    const results = await tempDir('arca-bench-results-');
    const r = await new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', 'run.mjs'), '--quick',
            '--results', results], { cwd: REPO_ROOT, env: { ...process.env, ARCA_BIN },
            stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60 * 1000);
        child.on('error', reject);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
    assert.equal(r.code, 0, `bench exited ${r.code}:\n${r.stderr.slice(-3000)}`);

    const lines = r.stdout.split('\n');
    const head = lines.indexOf('| figure | arca | peer | ratio | goal |');
    assert.ok(head >= 0, `the table header is printed:\n${r.stdout}`);
    const rows = lines.slice(head + 2).filter((l) => l.startsWith('| '))
        .map((l) => l.slice(2, -2).split(' | '));
    for (const w of ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8', 'w9'])
        assert.ok(rows.some(([figure]) => figure.startsWith(w + ' ')), `a row for ${w}`);
    for (const [figure, arca, peer, ratio, goal] of rows) {
        /* every goal is marked met or missed; a figure without one says so */
        assert.match(goal, /^no goal$|( ✓| ✗| \(not measured\))$/, `${figure}: goal ${goal}`);
        /* a figure that cannot be measured says why, in the arca cell */
        if (arca.startsWith('n/a ('))
            continue;
        assert.match(arca, NUMBER, `${figure}: arca is a number`);
        assert.ok(peer === '—' || NUMBER.test(peer), `${figure}: peer is a number or —: ${peer}`);
        assert.equal(ratio === '—', peer === '—', `${figure}: a ratio exactly when there is a peer`);
        if (ratio !== '—')
            assert.match(ratio, NUMBER, `${figure}: ratio`);
    }
    /* what the goals ask for has a row */
    for (const re of [/^w1 .*req\/s$/, /^w1 .*p99 ms$/, /^w2 .*req\/s$/, /^w3 .*req\/s$/,
        /^w4 .*updates\/s/, /^w5 UA login\/s$/, /^w6 arca run .*dotenvx/, /^w6 .*overhead/,
        /^w6 .*server stopped/, /^w7 start-up/, /^w7 RSS idle/, /^w7 RSS after load/,
        /^w8 list 50 /, /^w8 get by name /, /^w8 list [\d,]+ \(one environment/,
        /^w8 list [\d,]+ .*req\/s \(peer: nginx with access_log on/,
        /^w1 .*req\/s \(peer: nginx with access_log on/, /^w1 .*--audit-async/,
        /^disk: 512-byte append \+ fdatasync .*median ms/, /^disk: .*p99 ms$/, /^disk: ceiling/,
        /^w1 .*\(peer: the fdatasync ceiling\)$/, /^w4 .*\(peer: the fdatasync ceiling\)$/,
        /^pg w1 list 50 req\/s on PostgreSQL/, /^pg w4 durable .* on PostgreSQL/,
        /^audit bytes per record on disk, SQLite/, /^audit bytes per record on disk, PostgreSQL/])
        assert.ok(rows.some(([figure]) => re.test(figure)), `a row matching ${re}`);

    const files = await readdir(results);
    assert.equal(files.length, 1, 'one JSON file of raw numbers');
    const json = JSON.parse(await readFile(path.join(results, files[0]), 'utf8'));
    assert.equal(json.rows.length, rows.length, 'the JSON has the rows of the table');
    assert.ok(json.seeded > 0 && json.raw.w1.a.length > 0, 'and the raw runs');
    await removeTempDirs();
});
