// audit_archive.test.mjs - `arca audit-logs archive`, `audit-logs verify
// --archive` and the server's retention (--audit-retention-days).
//
// Records made before a time are archived: the file is gzip of JSON lines,
// 0600, holds exactly those records (no secret value), verifies; the records
// are gone from `audit-logs export`, the rest verifies from the anchor, and
// an audit.archive record names the cut.  A second archive continues from the
// first one's anchor.  An edited, truncated or shortened archive is refused
// (exit 8).  Archiving nothing says so and writes nothing; --dry-run and a
// missing --yes change nothing; an existing --output file is not overwritten, a
// file that cannot be written removes nothing;
// the wrong root key is refused and removes nothing; there is no HTTP route
// to archive.  The store's trigger refuses to delete a record past the anchor,
// and an anchor with records removed but no audit.archive record fails verify
// (and is not archived over); neither is a log with an edited record.  An archive of more than 10,000 records leaves the
// store in transactions of 10,000, each with its audit.archive record.
// A server with --audit-retention-days 0 archives every older record at start
// into --audit-archive-dir and logs it; that archive still verifies after a
// root key rotation.  Two servers on one PostgreSQL database both running
// retention archive every record exactly once.  A record an older version
// stored with bytes that are not UTF-8 (tests/vectors/audit-raw-bytes) is
// archived as its bytes, and they are what verify checks.  Both stores
// (ARCA_TEST_PG=1).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import {
    PG_MODE, apiCall, bootstrapAndLogin, createProject, newCli, readToken, removeTempDirs,
    startFromFixture, startServer, storeArgs, storeSql, tempDir, waitFor,
} from './harness.mjs';

const T = { timeout: 300000 };
const VALUE = `archived-value-${randomBytes(12).toString('hex')}`;

let srv;
let owner;
let tool; /* a CLI context for the commands on the store */
let project;
let dir;
let first; /* the first archive: {file, header, records, trailer} */
const servers = [];

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stdout}${r.stderr}`);
    return r;
}

async function exportLog() {
    const r = await ok(owner, ['audit-logs', 'export']);
    return r.stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

async function verifyLog() {
    const r = await owner.arca(['audit-logs', 'verify', '--format', 'json']);
    return { code: r.code, ...JSON.parse(r.stdout) };
}

function readArchive(buf) {
    const lines = gunzipSync(buf).toString('utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    const all = lines.map((l) => JSON.parse(l));
    return { header: all[0], records: all.slice(1, -1), trailer: all[all.length - 1] };
}

function writeArchive(a) {
    const all = [a.header, ...a.records, ...(a.trailer ? [a.trailer] : [])];
    const lines = all.map((x) => JSON.stringify(x) + '\n');
    return gzipSync(Buffer.from(lines.join('')));
}

const archive = (args) => tool.arca(['audit-logs', 'archive', ...args, ...storeArgs(srv)]);
const verifyArchive = (file) => tool.arca(['audit-logs', 'verify', '--archive', file,
    ...storeArgs(srv)]);

/* An ISO time (whole seconds) after every record so far, once the clock passed it. */
async function cutAfterNow() {
    const cut = Math.floor(Date.now() / 1000) * 1000 + 1000;
    await waitFor(async () => Date.now() > cut + 5, { what: 'the clock to pass the cut' });
    return new Date(cut).toISOString().replace('.000Z', 'Z');
}

before(async () => {
    srv = await startServer();
    servers.push(srv);
    owner = await newCli(srv);
    await bootstrapAndLogin(owner);
    project = await createProject(owner, 'archived');
    const at = ['--project-id', project.id, '--env', 'dev'];
    await ok(owner, ['secrets', 'set', `OLD=${VALUE}`, ...at]);
    await ok(owner, ['secrets', 'get', 'OLD', ...at]);
    tool = await newCli(null);
    dir = await tempDir('arca-archives-');
});

after(async () => {
    for (const s of servers)
        await s.kill();
    await removeTempDirs();
});

test('archive before a time: the file holds them and verifies, the store keeps the rest', T, async () => {
    const cut = await cutAfterNow();
    const at = ['--project-id', project.id, '--env', 'dev'];
    await ok(owner, ['secrets', 'set', 'LATER=x', ...at]);
    const before = await exportLog();
    const old = before.filter((r) => Date.parse(r.time) < Date.parse(cut));
    assert.ok(old.length >= 3, `records before the cut: ${old.length}`);

    const file = path.join(dir, 'first.jsonl.gz');
    const dry = await archive(['--before', cut, '--output', file, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`records 1 to ${old.at(-1).seq} \\(${old.length} records\\)`));
    const asked = await archive(['--before', cut, '--output', file]);
    assert.equal(asked.code, 2, 'no terminal and no --yes: refused');
    await assert.rejects(access(file), 'the dry run and the refusal write nothing');
    assert.equal((await exportLog())[0].seq, 1, 'and remove nothing');

    const r = await archive(['--before', cut, '--output', file, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`archived ${old.length} audit records \\(1 to ${old.at(-1).seq}\\)`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const raw = await readFile(file);
    assert.ok(!gunzipSync(raw).toString().includes(VALUE), 'no secret value in the archive');
    first = { file, ...readArchive(raw) };
    assert.equal(first.header.format, 'arca-audit-archive');
    assert.equal(first.header.anchorSeq, 0);
    assert.equal(first.header.anchorHash, '0'.repeat(64));
    assert.equal(first.header.firstSeq, 1);
    assert.equal(first.header.lastSeq, old.at(-1).seq);
    assert.deepEqual(first.records.map((x) => x.seq), old.map((x) => x.seq));
    assert.deepEqual(first.records.map((x) => x.event), old.map((x) => x.event));
    assert.equal(first.trailer.end, true);
    assert.equal(first.trailer.lastHash, old.at(-1).hash);

    const v = await verifyArchive(file);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`intact: ${old.length} records`));

    const after = await exportLog();
    assert.ok(after.every((x) => x.seq > first.header.lastSeq), 'the archived records are gone');
    assert.ok(after.some((x) => x.event === 'secret.create' && x.key === 'LATER'), 'later ones stay');
    const mark = after.find((x) => x.event === 'audit.archive');
    assert.ok(mark, 'an audit.archive record names the cut');
    assert.equal(mark.metadata.lastSeq, first.header.lastSeq);
    assert.equal(mark.metadata.lastHash, first.trailer.lastHash);
    assert.equal(mark.actor.name, 'arca audit-logs archive');
    const j = await verifyLog();
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.code, 0);
    assert.equal(j.anchorSeq, first.header.lastSeq, 'checked from the anchor');
    assert.equal(j.records, (await exportLog()).length, 'every remaining record');
});

test('nothing to archive says so and writes nothing; an existing file is kept', T, async () => {
    const file = path.join(dir, 'empty.jsonl.gz');
    const r = await archive(['--before', '2000-01-01T00:00:00Z', '--output', file, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing to archive/);
    await assert.rejects(access(file));
    const again = await archive(['--before', '1s', '--output', first.file, '--yes']);
    assert.equal(again.code, 7, 'the file exists');
    assert.match(again.stderr, /exists/);
    assert.deepEqual(readArchive(await readFile(first.file)).header, first.header, 'untouched');

    /* a file that cannot be written: refused, nothing removed */
    const log = await exportLog();
    const later = new Date(Date.now() + 3600e3).toISOString();
    const bad = await archive(['--before', later, '--output', path.join(dir, 'no-such-dir', 'x.gz'),
        '--yes']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /cannot create .*nothing was removed/);
    assert.equal((await exportLog())[0].seq, log[0].seq, 'nothing removed');
});

test('an edited, truncated or shortened archive is refused', T, async () => {
    const cases = {
        edited: (a) => { a.records[1].event = 'secret.nothing'; },
        'record removed': (a) => { a.records.splice(1, 1); },
        truncated: (a) => { a.trailer = null; },
        'anchor changed': (a) => { a.header.anchorHash = 'ab'.repeat(32); },
    };
    for (const [name, change] of Object.entries(cases)) {
        const a = structuredClone(first);
        change(a);
        const file = path.join(dir, `bad-${name.replace(/ /g, '-')}.jsonl.gz`);
        await writeFile(file, writeArchive(a));
        const v = await verifyArchive(file);
        assert.equal(v.code, 8, `${name}: ${v.stdout}${v.stderr}`);
        assert.match(v.stdout, /does NOT verify/, name);
    }
    const file = path.join(dir, 'bad-gzip.jsonl.gz');
    const whole = await readFile(first.file);
    await writeFile(file, whole.subarray(0, whole.length - 20));
    const v = await verifyArchive(file);
    assert.equal(v.code, 8, `a cut gzip stream: ${v.stdout}${v.stderr}`);
});

test('only the operator archives: a wrong root key is refused, no route exists', T, async () => {
    const file = path.join(dir, 'wrong-key.jsonl.gz');
    const r = await tool.arca(['audit-logs', 'archive', '--before', '1s', '--output', file, '--yes',
        ...storeArgs(srv)], { env: { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not the one this store was made with/);
    await assert.rejects(access(file));
    const token = await readToken(owner);
    for (const route of ['/api/v1/audit-logs/archive', '/api/arca/v1/audit-logs/archive']) {
        const res = await apiCall(srv, 'POST', route, { token, body: {} });
        assert.ok(res.status === 404 || res.status === 405, `${route}: ${res.status}`);
    }
    const j = await verifyLog();
    assert.equal(j.ok, true, 'nothing was removed');
});

test('a second archive continues from the anchor; the store refuses a delete past it', T, async () => {
    const log = await exportLog();
    const cut = await cutAfterNow();
    const file = path.join(dir, 'second.jsonl.gz');
    const r = await archive(['--before', cut, '--output', file, '--yes']);
    assert.equal(r.code, 0, r.stderr);
    const second = readArchive(await readFile(file));
    assert.equal(second.header.anchorSeq, first.header.lastSeq);
    assert.equal(second.header.anchorHash, first.trailer.lastHash);
    assert.equal(second.records[0].seq, log[0].seq);
    assert.equal((await verifyArchive(file)).code, 0);
    assert.equal((await verifyArchive(first.file)).code, 0, 'the first one still verifies');
    const j = await verifyLog();
    assert.equal(j.ok, true, JSON.stringify(j));

    const rest = await exportLog();
    await assert.rejects(storeSql(srv, `DELETE FROM audit_log WHERE seq = ${rest[0].seq}`),
        /append-only/, 'a record after the anchor cannot be deleted');

    /* removing records with a forged anchor, without an archive record */
    const n = rest[0].seq;
    await storeSql(srv, 'INSERT INTO audit_archives (seq, hash, first_seq, records, file_hash, ' +
        `archived_by, archived_at) SELECT seq, hash, ${second.header.lastSeq + 1}, ` +
        `${n - second.header.lastSeq}, hash, 'nobody', 0 FROM audit_log WHERE seq = ${n}`);
    await storeSql(srv, `DELETE FROM audit_log WHERE seq <= ${n}`);
    const bad = await verifyLog();
    assert.equal(bad.code, 8, JSON.stringify(bad));
    assert.equal(bad.ok, false);
    assert.match(bad.reason, /no archive record/);
    const laundered = await archive(['--before', new Date(Date.now() + 3600e3).toISOString(),
        '--output', path.join(dir, 'after-forgery.jsonl.gz'), '--yes']);
    assert.equal(laundered.code, 8, 'no archive on top of a removal nobody archived');
    assert.match(laundered.stderr, /no audit.archive record names that anchor/);
    await assert.rejects(access(path.join(dir, 'after-forgery.jsonl.gz')));
});

test('a log that does not verify is not archived: that would throw the evidence away', T, async () => {
    const s = await startServer();
    servers.push(s);
    const c = await newCli(s);
    await bootstrapAndLogin(c);
    await createProject(c, 'edited');
    const guard = PG_MODE ? 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; '
        : 'DROP TRIGGER audit_log_no_update; ';
    await storeSql(s, `${guard}UPDATE audit_log SET event = 'auth.nothing' WHERE seq = 2`);
    const file = path.join(dir, 'edited.jsonl.gz');
    const r = await tool.arca(['audit-logs', 'archive', '--before',
        new Date(Date.now() + 3600e3).toISOString(), '--output', file, '--yes', ...storeArgs(s)]);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, /does not verify at record 2 \(the record was changed/);
    await assert.rejects(access(file));
    assert.equal((await ok(c, ['audit-logs', 'export'])).stdout.split('\n').filter((l) => l)
        .map((l) => JSON.parse(l))[0].seq, 1, 'nothing removed');
    await s.stop();
});

test('a big archive leaves the store 10,000 records a transaction, each named by its record', T, async () => {
    const s = await startServer();
    servers.push(s);
    const c = await newCli(s);
    await bootstrapAndLogin(c);
    const token = await readToken(c);
    let sent = 0;
    const reader = async () => {
        while (sent < 10050) {
            sent++;
            const res = await apiCall(s, 'GET', '/api/arca/v1/audit-logs?limit=1', { token });
            assert.equal(res.status, 200);
        }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
    const file = path.join(dir, 'big.jsonl.gz');
    const r = await tool.arca(['audit-logs', 'archive', '--before',
        new Date(Date.now() + 3600e3).toISOString(), '--output', file, '--yes', ...storeArgs(s)]);
    assert.equal(r.code, 0, r.stderr);
    const a = readArchive(await readFile(file));
    assert.ok(a.records.length > 10000, `records: ${a.records.length}`);
    const v = await tool.arca(['audit-logs', 'verify', '--archive', file, ...storeArgs(s)]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const marks = (await ok(c, ['audit-logs', 'export', '--event', 'audit.archive'])).stdout
        .split('\n').filter((l) => l).map((l) => JSON.parse(l).metadata);
    assert.deepEqual(marks.map((m) => [m.firstSeq, m.lastSeq]),
        [[1, 10000], [10001, a.header.lastSeq]], 'two transactions, each with its record');
    assert.ok(marks.every((m) => m.file === 'big.jsonl.gz'));
    const j = JSON.parse((await ok(c, ['audit-logs', 'verify', '--format', 'json'])).stdout);
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.anchorSeq, a.header.lastSeq);
    await s.stop();
});

test('a record an older version stored with bytes that are not UTF-8 is archived as its bytes', {
    ...T, skip: PG_MODE && 'the store is a SQLite dump',
}, async () => {
    /* tests/vectors/audit-raw-bytes: a store made by the version before text
     * was repaired on the way in, whose record rawSeq holds a User-Agent of
     * raw bytes (62 61 64 ff fe 2d c3 a9) */
    const { server: s, cli: c, fx, dataDir } = await startFromFixture('audit-raw-bytes');
    servers.push(s);
    const listed = (await ok(c, ['audit-logs', 'export'])).stdout.split('\n').filter((l) => l)
        .map((l) => JSON.parse(l));
    const raw = listed.find((x) => x.seq === fx.rawSeq);
    assert.equal(raw?.userAgent, 'bad\ufffd\ufffd-\u00e9', 'exported, repaired for display');

    const cut = await cutAfterNow();
    const file = path.join(dir, 'raw-bytes.jsonl.gz');
    const r = await c.arca(['audit-logs', 'archive', '--before', cut, '--output', file, '--yes',
        '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const a = readArchive(await readFile(file));
    const rec = a.records.find((x) => x.seq === fx.rawSeq);
    assert.deepEqual(rec.userAgent, { hex: '626164fffe2dc3a9' }, 'the bytes the hash covers');
    const v = await c.arca(['audit-logs', 'verify', '--archive', file, '--data-dir', dataDir]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    /* the bytes are what is checked: one byte changed is refused */
    rec.userAgent.hex = '626164fffe2dc3aa';
    await writeFile(file, writeArchive(a));
    const bad = await c.arca(['audit-logs', 'verify', '--archive', file, '--data-dir', dataDir]);
    assert.equal(bad.code, 8, bad.stdout + bad.stderr);
});

test('retention: a server keeping 0 days archives every older record at start', T, async () => {
    const s1 = await startServer();
    servers.push(s1);
    const c = await newCli(s1);
    const admin = await bootstrapAndLogin(c);
    await createProject(c, 'retained');
    const n = (await c.arca(['audit-logs', 'export'])).stdout.split('\n').filter((l) => l).length;
    assert.ok(n >= 2, `records: ${n}`);
    await s1.stop();

    const archives = path.join(await tempDir('arca-retention-'), 'archives');
    const bad = await startServer({ dataDir: s1.dataDir, args: ['--audit-retention-days', '0'] })
        .then(() => 'started', (e) => e.message);
    assert.match(bad, /needs --audit-archive-dir/);
    const s2 = await startServer({ dataDir: s1.dataDir,
        args: ['--audit-retention-days', '0', '--audit-archive-dir', archives] });
    servers.push(s2);
    const line = await waitFor(() => s2.logs.find((l) => l.includes('audit retention')),
        { what: 'the retention log line' });
    const rec = JSON.parse(line);
    assert.equal(rec.msg, 'audit retention: archived and removed the records older than the setting', line);
    assert.equal(Number(rec.records), n + 1, 'every record, the read of the export included');
    assert.equal(Number(rec.firstSeq), 1);
    const files = await readdir(archives);
    assert.equal(files.length, 1, files.join(' '));
    assert.equal(path.join(archives, files[0]), rec.file);
    const a = readArchive(await readFile(rec.file));
    assert.equal(a.records.length, n + 1);
    const v = await tool.arca(['audit-logs', 'verify', '--archive', rec.file, ...storeArgs(s2)]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const c2 = await newCli(s2);
    await ok(c2, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
    const j = JSON.parse((await ok(c2, ['audit-logs', 'verify', '--format', 'json'])).stdout);
    assert.equal(j.ok, true, JSON.stringify(j));
    const left = (await ok(c2, ['audit-logs', 'export'])).stdout.split('\n').filter((l) => l)
        .map((l) => JSON.parse(l));
    assert.ok(left.every((x) => x.seq > n + 1), 'the archived records are gone');
    assert.equal(left[0].event, 'audit.archive');
    assert.equal(left[0].actor.name, 'retention');
    await s2.stop();

    /* an archive made before a root key rotation still verifies after it */
    const rot = await tool.arca(['server', 'rotate-root-key', ...storeArgs(s2)]);
    assert.equal(rot.code, 0, rot.stderr);
    const after = await tool.arca(['audit-logs', 'verify', '--archive', rec.file, ...storeArgs(s2)]);
    assert.equal(after.code, 0, after.stdout + after.stderr);
});

test('retention on two servers of one PostgreSQL database: every record archived once', {
    ...T, skip: !PG_MODE && 'several servers share a store only on PostgreSQL',
}, async () => {
    const s1 = await startServer();
    servers.push(s1);
    const c = await newCli(s1);
    const admin = await bootstrapAndLogin(c);
    await createProject(c, 'shared');
    await s1.stop();

    const dirs = [await tempDir('arca-ret-a-'), await tempDir('arca-ret-b-')];
    const both = await Promise.all(dirs.map((d) => startServer({ dataDir: s1.dataDir,
        args: ['--audit-retention-days', '0', '--audit-archive-dir', d] })));
    servers.push(...both);
    const lines = await Promise.all(both.map((s) => waitFor(
        () => s.logs.find((l) => l.includes('audit retention')), { what: 'a retention run' })));
    await Promise.all(both.map((s) => s.stop()));

    /* each file holds records no other file holds; together a run from 1 */
    const seqs = [];
    for (const d of dirs)
        for (const f of await readdir(d)) {
            const a = readArchive(await readFile(path.join(d, f)));
            seqs.push(...a.records.map((x) => x.seq));
            const v = await tool.arca(['audit-logs', 'verify', '--archive', path.join(d, f),
                ...storeArgs(s1)]);
            assert.equal(v.code, 0, v.stdout + v.stderr);
        }
    seqs.sort((a, b) => a - b);
    assert.ok(seqs.length > 0, lines.join('\n'));
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'no record twice, none skipped');
    const s3 = await startServer({ dataDir: s1.dataDir });
    servers.push(s3);
    const c3 = await newCli(s3);
    await ok(c3, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
    const j = JSON.parse((await ok(c3, ['audit-logs', 'verify', '--format', 'json'])).stdout);
    assert.equal(j.ok, true, JSON.stringify(j));
    assert.equal(j.anchorSeq, seqs.at(-1), 'the store is cut where the files end');
    await s3.stop();
});
