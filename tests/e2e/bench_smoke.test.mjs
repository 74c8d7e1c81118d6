// bench_smoke.test.mjs - the benchmark harness cannot rot silently: `node
// bench/run.mjs --quick` against the binary under test (ARCA_BIN, so no release
// build) prints its whole table with a number in every cell that has one, and
// writes the same rows as JSON, each goal marked met or missed; `node
// bench/profile.mjs --seconds 1 --no-pg` (about 30 s) prints every workload's
// CPU per request, the floors, a perf breakdown (or why there is none: perf
// missing or not allowed) and a line per goal.  No timing is
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

/* Runs `node bench/<script> args --results <dir>` against ARCA_BIN; resolves
 * to {code, stdout, stderr, results: the dir}. */
async function bench(script, args) {
    const results = await tempDir('arca-bench-results-');
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bench', script), ...args,
            '--results', results], { cwd: REPO_ROOT, env: { ...process.env, ARCA_BIN },
            stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60 * 1000);
        child.on('error', reject);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, results });
        });
    });
}

test('bench --quick prints every figure with numbers, against arca and its peers', async () => {
    const r = await bench('run.mjs', ['--quick']);
    const { results } = r;
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

/* bench/profile.mjs, short: every workload's row with numbers for arca (and
 * nginx where it serves the same bytes), the floors, a CPU breakdown per
 * workload (or the reason there is none), and one line per goal, ✓ or ✗. */
test('bench/profile.mjs prints CPU per request, the floors and a line per goal', async () => {
    const r = await bench('profile.mjs', ['--seconds', '1', '--no-pg']);
    assert.equal(r.code, 0, `profile exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    const lines = r.stdout.split('\n');
    const table = (head) => {
        const i = lines.indexOf(head);
        assert.ok(i >= 0, `the header ${head} is printed:\n${r.stdout}`);
        const end = lines.findIndex((l, j) => j > i && !l.startsWith('|'));
        return lines.slice(i + 2, end).map((l) => l.slice(2, -2).split(' | '));
    };
    const NUM = /^-?[\d,]+(\.\d+)?$/;
    const runs = table('| workload | server | req/s | p99 ms | server µs/req | postgres µs/req | ' +
        'wrk µs/req | server cores | wrk cores | others cores | audit commits/s | ' +
        'records/commit | fdatasync/s | fdatasync ms |');
    /* a build without the web app has no static file to serve: the output says so */
    const noWeb = /_no floor row for static files/.test(r.stdout);
    for (const [w, peer] of [['w1 ', true], ['w2 ', true], ['w3 ', true], ['w4 ', false],
        ['w5 ', false], ...(noWeb ? [] : [['floor: static ', true]]),
        ['floor: w1 with --audit-async', false]]) {
        const mine = runs.filter(([label]) => label.startsWith(w));
        assert.deepEqual(mine.map((row) => row[1]), peer ? ['arca', 'nginx'] : ['arca'],
            `${w}: arca's row${peer ? ' and nginx\'s' : ''}`);
        for (const row of mine)
            for (const i of [2, 3, 4, 6, 7, 8, 9])
                assert.match(row[i], NUM, `${w} ${row[1]}: column ${i} is a number: ${row[i]}`);
    }
    const floors = table('| figure | arca | peer | ratio |');
    assert.equal(floors.length, noWeb ? 3 : 5, 'the static file (req/s, µs/req) and the w1 floors');
    for (const row of floors)
        for (const cell of row.slice(1))
            assert.match(cell, NUM, `${row[0]}: ${cell}`);
    /* perf profiles each workload, or the output says why not */
    const profiled = lines.filter((l) => l.startsWith('### ')).length;
    assert.ok(profiled === (noWeb ? 6 : 7) || /_no CPU breakdown/.test(r.stdout),
        `a breakdown for each workload, or why not (${profiled})`);
    if (profiled)
        assert.ok(lines.some((l) => /^\| audit: insert \(sql_audit_insert\) \| [\d.]+% \| [\d.]+ \|/
            .test(l)), 'the audit insert is a bucket with a share and µs/req');
    for (const w of ['w1', 'w2', 'w3', 'w4', 'w5'])
        assert.ok(lines.some((l) => new RegExp(`^- \\*\\*${w} .*\\*\\* (✓|✗): [\\d,]+ req/s .*` +
            'CPU-bound that is [\\d,]+ req/s').test(l)), `the goal line of ${w}`);
    const files = await readdir(r.results);
    assert.equal(files.length, 1, 'one JSON file of raw numbers');
    const json = JSON.parse(await readFile(path.join(r.results, files[0]), 'utf8'));
    assert.ok(json.runs.w1.arca.requests > 0 && json.runs.w1.nginx.requests > 0, 'the raw runs');
    await removeTempDirs();
});
