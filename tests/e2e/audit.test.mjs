// audit.test.mjs - the audit log: every read (list and get) and write is one
// record with the right event, actor and key and never a value or a token;
// denials and failed logins are recorded; `audit-logs verify` passes on the
// real chain and fails (exit 8, naming the record) after a record is changed or
// a middle one removed with the sqlite3 tool (psql on PostgreSQL); and the log
// fails closed: with its data directory on a full tmpfs the server refuses
// reads (503, CLI exit 1, no value printed), and serves them again once there
// is space.  Every stored column is covered by the chain (each changed in turn
// fails verify, naming the record); a store written in the old chain format
// (tests/vectors/audit-v1) still verifies; the project versions route is
// audited and fails closed (an insert trigger makes the log unwritable);
// refusals are recorded (no token, a non-member, another project's token, an
// identity token from 127.0.0.2 outside its trusted 127.0.0.1/32, cached or
// not, non-admins on client secrets), at most a budget per address.
//
// The fail-closed test mounts a tmpfs, so it needs root (as in CI); it fails,
// rather than skips, when not run as root.  On PostgreSQL (ARCA_TEST_PG=1) it
// is skipped: the audit store is the database, not the data directory, and
// postgres.test.mjs takes the database away instead.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import {
    NODE, PG_MODE, apiCall, assertErrorOutput, bootstrapAndLogin, createProject, inviteAndSignup,
    newCli, randomPassword, readCredentialMatching, readToken, removeTempDirs, serviceTokenBearer,
    serviceTokenIn, startFromFixture, startServer, storeSql, tempDir,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
const execFileP = promisify(execFile);

let srv;
let owner; /* CLI of the organization admin; cwd without .arca.json */
let ownerId;
let project;
let pid;
let viewer;
let viewerId;
const servers = [];
let mounted = null;

const CANARY = `canary-${randomBytes(20).toString('hex')}`;
const CANARY2 = `canary2-${randomBytes(20).toString('hex')}`;
const secretsSeen = {}; /* name -> a string that must never be in the log */

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* A value's giveaways: raw, base64 (standard and URL-safe) at each alignment, hex. */
function needlesFor(value) {
    const buf = Buffer.from(value, 'utf8');
    const out = [value, buf.toString('hex')];
    for (const shift of [0, 1, 2]) {
        const b64 = Buffer.concat([Buffer.alloc(shift), buf]).toString('base64');
        const inner = b64.slice(shift === 0 ? 0 : 4, b64.length - 4);
        out.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'));
    }
    return out;
}

/* `audit-logs export` as parsed records (every line one JSON object). */
async function exportLog(c, args = []) {
    const r = await ok(c, ['audit-logs', 'export', ...args]);
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    return { text: r.stdout, records: lines.map((l) => JSON.parse(l)) };
}

/* `audit-logs list --format json` as records. */
async function listLog(c, args) {
    const r = await ok(c, ['audit-logs', 'list', ...args, '--format', 'json']);
    const j = JSON.parse(r.stdout);
    const arr = Array.isArray(j) ? j : j.auditLogs;
    assert.ok(Array.isArray(arr), r.stdout);
    return arr;
}

/* listLog with another CLI. */
async function listLogOf(c, args) {
    const r = await ok(c, ['audit-logs', 'list', ...args, '--format', 'json']);
    const j = JSON.parse(r.stdout);
    return Array.isArray(j) ? j : j.auditLogs;
}

async function userId(c) {
    const r = await apiCall(srv, 'GET', `${V1}/users/me`, { token: await readToken(c) });
    assert.equal(r.status, 200);
    return r.json.user.id;
}

async function sql(text) {
    return (await storeSql(srv, text)).trim();
}

/* SQL that lets the next statements through one of the append-only triggers. */
function dropGuard(trigger) {
    return PG_MODE ? `ALTER TABLE audit_log DISABLE TRIGGER ${trigger}; `
        : `DROP TRIGGER IF EXISTS ${trigger}; `;
}

/* Stops the server, runs sql on its database, starts it again on the same data
 * directory (and root key); the CLIs follow it. */
async function restartWith(text) {
    await srv.stop();
    const out = text ? await sql(text) : '';
    srv = await startServer({ dataDir: srv.dataDir });
    servers.push(srv);
    /* a saved login belongs to the server it came from (its URL): log in again */
    for (const [c, email, pw] of [[owner, 'admin@example.com', secretsSeen['owner password']],
        [viewer.cli, viewer.email, viewer.password]]) {
        c.apiUrl = srv.url;
        await ok(c, ['login', '--email', email, '--password-stdin'], { input: pw + '\n' });
    }
    return out;
}

async function verify() {
    const r = await owner.arca(['audit-logs', 'verify', '--format', 'json']);
    return { r, j: r.stdout ? JSON.parse(r.stdout) : null };
}

before(async () => {
    srv = await startServer();
    servers.push(srv);
    owner = await newCli(srv);
    const admin = await bootstrapAndLogin(owner);
    secretsSeen['owner password'] = admin.password;
    ownerId = await userId(owner);
    project = await createProject(owner, 'audited');
    pid = ['--project-id', project.id];
    viewer = await inviteAndSignup(owner, srv, 'viewer@example.com');
    viewerId = await userId(viewer.cli);
    secretsSeen['viewer password'] = viewer.password;
    secretsSeen['invite token'] = viewer.inviteToken;
    await ok(owner, ['members', 'add', 'viewer@example.com', '--role', 'viewer', ...pid]);
});

after(async () => {
    for (const s of servers)
        await s.kill();
    if (mounted) {
        await execFileP('umount', [mounted]).catch(() => execFileP('umount', ['-l', mounted]).catch(() => {}));
        mounted = null;
    }
    await removeTempDirs();
});

test('every read and write is one record with its event, actor, place and key', T, async () => {
    const start = (await listLog(owner, [...pid, '--limit', '1000'])).length;
    const steps = [
        [['secrets', 'set', `CANARY_KEY=${CANARY}`, '--env', 'prod'], 'secret.create'],
        [['secrets', 'set', `CANARY_KEY=${CANARY2}`, '--env', 'prod'], 'secret.update'],
        [['secrets', 'get', 'CANARY_KEY', '--env', 'prod'], 'secret.read'],
        [['secrets', 'list', '--env', 'prod'], 'secret.list'],
        [['secrets', 'history', 'CANARY_KEY', '--env', 'prod'], 'secret.versions'],
        [['secrets', 'rollback', 'CANARY_KEY', '--version', '1', '--env', 'prod'], 'secret.rollback'],
        [['secrets', 'delete', 'CANARY_KEY', '--env', 'prod'], 'secret.delete'],
    ];
    for (const [args] of steps)
        await ok(owner, [...args, ...pid]);
    const { records } = await exportLog(owner, pid);
    assert.ok(records.length > start, 'new records');
    const mine = records.filter((x) => x.event.startsWith('secret.') && x.actor?.id === ownerId);
    const events = mine.map((x) => x.event);
    /* in this order (a set may first read the current values to skip unchanged ones) */
    let at = 0;
    for (const [args, ev] of steps) {
        const i = events.indexOf(ev, at);
        assert.ok(i >= 0, `arca ${args.join(' ')} left a ${ev} record after #${at}: ${events.join(' ')}`);
        const rec = mine[i];
        assert.equal(rec.projectId, project.id);
        assert.equal(rec.environment, 'prod');
        assert.equal(rec.path, '/');
        if (ev !== 'secret.list')
            assert.equal(rec.key, 'CANARY_KEY', `${ev} names the key`);
        assert.equal(rec.outcome, 'success');
        assert.equal(rec.actor.type, 'user');
        assert.equal(rec.actor.name, 'admin@example.com');
        assert.equal(typeof rec.seq, 'number');
        assert.ok(!Number.isNaN(Date.parse(rec.time)), `time: ${rec.time}`);
        assert.equal(typeof rec.hash, 'string');
        at = i + 1;
    }
    /* seq strictly increasing */
    for (let i = 1; i < records.length; i++)
        assert.ok(records[i].seq > records[i - 1].seq, 'export is in seq order');

    /* the viewer's reads are theirs */
    await ok(viewer.cli, ['secrets', 'list', '--env', 'prod', ...pid]);
    const vr = await listLog(owner, [...pid, '--actor', 'viewer@example.com']);
    assert.ok(vr.length > 0 && vr.every((x) => x.actor.id === viewerId), 'filter --actor');
    assert.ok(vr.some((x) => x.event === 'secret.list'));

    /* filters */
    const reads = await listLog(owner, [...pid, '--event', 'secret.read']);
    assert.ok(reads.length >= 1 && reads.every((x) => x.event === 'secret.read'), '--event exact');
    const prefix = await listLog(owner, [...pid, '--event', 'secret.']);
    assert.ok(prefix.every((x) => x.event.startsWith('secret.')), '--event prefix');
    assert.ok(new Set(prefix.map((x) => x.event)).size >= 7);
    assert.deepEqual(await listLog(owner, [...pid, '--since', '2999-01-01T00:00:00Z']), []);
    assert.deepEqual(await listLog(owner, [...pid, '--until', '2000-01-01T00:00:00Z']), []);
    /* the project's log holds only the project's records */
    assert.ok(records.every((x) => x.projectId === project.id));
});

/* One GET with a User-Agent of raw bytes (not UTF-8), over a socket: fetch
 * would refuse to send such a header.  Resolves to the status line. */
function rawGet(server, urlPath, token, userAgent) {
    const { port } = new URL(server.url);
    const head = Buffer.concat([Buffer.from(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: Bearer ${token}\r\nConnection: close\r\nUser-Agent: `), userAgent,
    Buffer.from('\r\n\r\n')]);
    return new Promise((resolve, reject) => {
        /* write, not end: libmicrohttpd may drop a request whose sender has
         * half-closed before the reply (Connection: close ends it after) */
        const s = net.connect(Number(port), '127.0.0.1', () => s.write(head));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('error', reject);
        s.on('close', () => resolve(got.split('\r\n')[0]));
    });
}

test('a client\'s bytes that are not UTF-8 are recorded repaired: listed, exported, verified', T,
    async () => {
        const ua = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2d, 0xc3, 0xa9, 0x2d, 0xe2, 0x82]);
        assert.match(await rawGet(srv, `${V1}/users/me`, await readToken(owner), ua), / 200 /);
        const { records } = await exportLog(owner);
        const rec = records.filter((x) => x.event === 'user.read' || x.userAgent?.startsWith('bad'))
            .find((x) => x.userAgent?.startsWith('bad'));
        assert.ok(rec, 'the read is in the export');
        assert.equal(rec.userAgent, 'bad\ufffd\ufffd-\u00e9-\ufffd\ufffd', 'bad bytes replaced, é kept');
        const listed = await listLog(owner, ['--limit', '20']);
        assert.ok(listed.some((x) => x.userAgent === rec.userAgent), 'and listed');
        const { r, j } = await verify();
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(j.ok, true);
    });

test('denied attempts are recorded with outcome denied', T, async () => {
    const r = await viewer.cli.arca(['secrets', 'set', 'NOT_ALLOWED=1', '--env', 'prod', ...pid]);
    assertErrorOutput(r, 3);
    const denied = (await listLog(owner, [...pid, '--event', 'permission.denied']))
        .filter((x) => x.actor.id === viewerId);
    assert.ok(denied.length >= 1, 'a permission.denied record for the viewer');
    const d = denied[denied.length - 1];
    assert.equal(d.outcome, 'denied');
    assert.equal(d.environment, 'prod');
    assert.equal(d.projectId, project.id);
    assert.match(JSON.stringify(d.metadata), /create|secret\.create/, 'metadata names the attempted action');
});

test('logins are recorded, failed ones too', T, async () => {
    const bad = await newCli(srv);
    let r = await bad.arca(['login', '--email', 'admin@example.com', '--password-stdin'],
        { input: randomPassword() + '\n' });
    assertErrorOutput(r, 3);
    r = await bad.arca(['login', '--email', 'nobody@example.com', '--password-stdin'],
        { input: randomPassword() + '\n' });
    assertErrorOutput(r, 3);
    const failed = await listLog(owner, ['--event', 'auth.login.failed']);
    const names = failed.map((x) => `${x.actor?.name} ${x.actor?.id} ${JSON.stringify(x.metadata)}`);
    assert.ok(failed.some((x) => x.actor?.id === ownerId || x.actor?.name === 'admin@example.com'),
        `a failed login for the admin: ${names}`);
    assert.ok(failed.length >= 2, `both failed logins are recorded: ${names}`);
    assert.ok(failed.every((x) => x.outcome !== 'success'));
    const okLogins = await listLog(owner, ['--event', 'auth.login']);
    assert.ok(okLogins.some((x) => x.actor.id === ownerId && x.outcome === 'success'));
});

test('no value and no token is ever in the log', T, async () => {
    /* a service token, a machine identity and a run with each, to have them all in the log */
    const st = await ok(owner, ['service-token', 'create', '--name', 'ci', '--env=prod', ...pid,
        '--access', 'read-write']);
    const full = serviceTokenIn(st.stdout);
    const [, , secretPart, keyPart] = full.split('.');
    Object.assign(secretsSeen, { 'service token': full, 'service token bearer': serviceTokenBearer(full),
        'service token secret': secretPart, 'service token key': keyPart });
    const m = await newCli(srv);
    await ok(m, ['secrets', 'set', `FROM_CI=${CANARY}`, '--env', 'prod'], { env: { ARCA_TOKEN: full } });
    await ok(m, ['run', '--env=prod', '--', NODE, '-e', ''], { env: { ARCA_TOKEN: full } });
    const idr = await ok(owner, ['identities', 'create', 'auditor-bot', ...pid, '--role', 'viewer',
        '--format', 'json']);
    const ident = JSON.parse(idr.stdout);
    secretsSeen['client secret'] = ident.clientSecret;
    const ic = await newCli(srv);
    await ok(ic, ['login', '--method=universal-auth', '--client-id', ident.clientId, '--client-secret',
        ident.clientSecret]);
    secretsSeen['identity access token'] = await readCredentialMatching(ic, /^arca_i_/);
    await ok(ic, ['secrets', 'get', 'FROM_CI', '--env', 'prod', ...pid]);
    secretsSeen['owner session'] = await readToken(owner);
    secretsSeen['viewer session'] = await readToken(viewer.cli);

    const projectLog = await exportLog(owner, pid);
    const orgLog = await exportLog(owner, []);
    assert.ok(orgLog.records.length >= projectLog.records.length);
    const events = new Set(orgLog.records.map((x) => x.event));
    for (const ev of ['auth.login', 'auth.signup', 'auth.identity.login', 'invite.create', 'project.create',
        'member.add', 'identity.create', 'service-token.create', 'secret.create', 'secret.read'])
        assert.ok(events.has(ev), `the log has ${ev}: ${[...events].join(' ')}`);
    assert.ok(orgLog.records.some((x) => x.actor.type === 'service' && x.event === 'secret.create'),
        'the service token write is attributed to the token');
    const text = projectLog.text + orgLog.text;
    const needles = { canary: CANARY, canary2: CANARY2, ...secretsSeen };
    for (const [name, v] of Object.entries(needles))
        for (const n of name.startsWith('canary') ? needlesFor(v) : [v])
            assert.ok(!text.includes(n), `the audit log holds the ${name}`);
});

test('verify passes; a changed record fails it (exit 8, named); so does a removed one', T, async () => {
    let { r, j } = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(j.ok, true);
    assert.ok(j.records >= 5, `records: ${j.records}`);
    assert.equal(typeof j.headSeq, 'number');
    assert.equal(typeof j.headHash, 'string');
    const text = await ok(owner, ['audit-logs', 'verify']);
    assert.match(text.stdout, /intact/);

    /* change the outcome of a secret record in the middle */
    const victim = Number(await sql(
        `SELECT min(seq) FROM audit_log WHERE event LIKE 'secret.%' AND outcome = 'success'`));
    assert.ok(victim < j.headSeq);
    const was = await sql(`SELECT outcome FROM audit_log WHERE seq = ${victim}`);
    await restartWith(dropGuard('audit_log_no_update') +
        `UPDATE audit_log SET outcome = 'denied' WHERE seq = ${victim};`);
    assert.equal(was, 'success');
    ({ r, j } = await verify());
    assert.equal(r.code, 8, `verify after a change: exit 8 (stderr ${r.stderr})`);
    assert.equal(j.ok, false);
    assert.equal(j.firstBadSeq, victim, 'names the changed record');
    assert.equal(typeof j.reason, 'string');
    const t2 = await owner.arca(['audit-logs', 'verify']);
    assert.equal(t2.code, 8);
    assert.match(t2.stdout + t2.stderr, new RegExp(`\\b${victim}\\b`), 'the text names the record');

    /* change the key instead (and back), then put the outcome back: intact again */
    await restartWith(`UPDATE audit_log SET outcome = 'success' WHERE seq = ${victim};`);
    ({ r, j } = await verify());
    assert.equal(r.code, 0, `restored: ${r.stdout} ${r.stderr}`);
    const [keyRec, keyWas] = (await sql(`SELECT seq, key FROM audit_log ` +
        `WHERE key IS NOT NULL AND key <> '' AND seq > ${victim} ORDER BY seq LIMIT 1`)).split('|');
    assert.ok(Number(keyRec) > victim, 'a record that names a key');
    await restartWith(`UPDATE audit_log SET key = 'OTHER_KEY' WHERE seq = ${keyRec};`);
    ({ r, j } = await verify());
    assert.equal(r.code, 8, 'verify after a changed key');
    assert.equal(j.firstBadSeq, Number(keyRec));
    await restartWith(`UPDATE audit_log SET key = '${keyWas}' WHERE seq = ${keyRec};`);
    ({ r, j } = await verify());
    assert.equal(r.code, 0);

    /* remove a record in the middle */
    const middle = Math.floor((victim + j.headSeq) / 2);
    await restartWith(dropGuard('audit_log_no_delete') + `DELETE FROM audit_log WHERE seq = ${middle};`);
    ({ r, j } = await verify());
    assert.equal(r.code, 8, `verify after a deletion: exit 8 (stdout ${r.stdout})`);
    assert.equal(j.ok, false);
    assert.ok(j.firstBadSeq === middle || j.firstBadSeq === middle + 1,
        `names the gap at ${middle}: ${JSON.stringify(j)}`);
    /* a non-admin may not verify */
    assertErrorOutput(await viewer.cli.arca(['audit-logs', 'verify']), 3);
});

/* SQL that makes every audit append fail while the rest of the store works,
 * and its undo. */
const REFUSE_AUDIT = PG_MODE
    ? `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log FOR EACH ROW ` +
      `EXECUTE FUNCTION arca_refuse('test: the audit log cannot be written');`
    : `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log ` +
      `BEGIN SELECT RAISE(ABORT, 'test: the audit log cannot be written'); END;`;
const ALLOW_AUDIT = PG_MODE ? 'DROP TRIGGER audit_log_refuse ON audit_log;' : 'DROP TRIGGER audit_log_refuse;';

/* A server of its own with a few records: bootstrap, a project, a write, a
 * read and a list. */
async function smallServer(name) {
    const s = await startServer();
    servers.push(s);
    const c = await newCli(s);
    await bootstrapAndLogin(c);
    const p = await createProject(c, name);
    for (const args of [['secrets', 'set', 'COL_KEY=col-value', '--env', 'prod'],
        ['secrets', 'get', 'COL_KEY', '--env', 'prod'], ['secrets', 'list', '--env', 'prod']])
        await ok(c, [...args, '--project-id', p.id]);
    const run = (text) => storeSql(s, (PG_MODE ? '' : 'PRAGMA busy_timeout = 10000; ') + text);
    const one = async (text) => (await storeSql(s, text)).trim().split('\n').pop();
    const check = async () => {
        const r = await c.arca(['audit-logs', 'verify', '--format', 'json']);
        return { r, j: r.stdout ? JSON.parse(r.stdout) : null };
    };
    return { s, c, p, run, one, check };
}

test('every stored column is covered by the hash: changing any one fails verify, naming the record', T,
    async () => {
        const { run, one, check } = await smallServer('columns');
        let { r, j } = await check();
        assert.equal(r.code, 0, r.stderr);
        const victim = Number(await one(`SELECT min(seq) FROM audit_log WHERE event = 'secret.read'`));
        const head = Number(await one('SELECT max(seq) FROM audit_log'));
        assert.ok(victim > 1 && victim < head, `a record in the middle: ${victim} of ${head}`);
        /* a record whose key is '' (a list names no key): '' and NULL must differ */
        const listRec = Number(await one(`SELECT max(seq) FROM audit_log WHERE event = 'secret.list'`));
        assert.equal(await one(`SELECT count(*) FROM audit_log WHERE seq = ${listRec} AND key = ''`), '1');
        await run(dropGuard('audit_log_no_update') +
            `CREATE TABLE audit_snap AS SELECT * FROM audit_log;`);
        const other = '00000000-0000-4000-8000-000000000000';
        const blob = (b) => (PG_MODE ? `decode('${b.repeat(32)}', 'hex')` : `X'${b.repeat(32)}'`);
        const cases = [
            ['time', 'time + 1'], ['actor_type', `'service'`], ['actor_id', `'${other}'`],
            ['actor_name', `'mallory@example.com'`], ['event', `'secret.list'`], ['org_id', `'${other}'`],
            ['project_id', `'${other}'`], ['environment', `'dev'`], ['path', `'/other'`],
            ['key', `'OTHER_KEY'`], ['ip', `'10.9.8.7'`], ['user_agent', `'curl/8.0'`],
            ['outcome', `'denied'`], ['metadata', `'{"count":2}'`], ['prev_hash', blob('00')],
            ['hash', blob('11')], ['key', 'NULL', listRec],
            ['seq', `${head + 1000}`, head, head + 1000],
        ];
        for (const [col, value, rec = victim, named = rec] of cases) {
            await run(`UPDATE audit_log SET ${col} = ${value} WHERE seq = ${rec};`);
            ({ r, j } = await check());
            assert.equal(r.code, 8, `verify after changing ${col} of #${rec}: exit 8 (${r.stdout} ${r.stderr})`);
            assert.equal(j.ok, false);
            assert.equal(j.firstBadSeq, named, `changing ${col} names record ${named}: ${JSON.stringify(j)}`);
            await run(`UPDATE audit_log SET ${col} = (SELECT ${col} FROM audit_snap WHERE seq = ${rec}) ` +
                `WHERE seq = ${named};`);
            ({ r, j } = await check());
            assert.equal(r.code, 0, `${col} put back: intact again (${r.stdout} ${r.stderr})`);
        }
    });

test('a store written in the old chain format (v1) still verifies; records after it are v2', {
    ...T, skip: PG_MODE && 'the v1 store is a SQLite dump',
}, async () => {
    const { server: s, cli: c, fx } = await startFromFixture('audit-v1');
    servers.push(s);
    const v1 = Number((await storeSql(s, 'SELECT count(*) FROM audit_log WHERE seq <= 7')).trim());
    assert.equal(v1, 7, 'the dump holds 7 records written by the v1 chain');
    await ok(c, ['secrets', 'get', 'OLD_KEY', '--env', 'prod', '--project-id', fx.projectId]);
    let r = await ok(c, ['audit-logs', 'verify', '--format', 'json']);
    assert.equal(JSON.parse(r.stdout).ok, true, r.stdout);
    const j = (await apiCall(s, 'GET', `${V1}/audit-logs/verify`, { token: await readToken(c) })).json;
    assert.equal(j.legacyRecords, 7, `the old records verify in the old format: ${JSON.stringify(j)}`);
    assert.ok(j.records > 7, 'and the new ones after them');
    /* a changed old record is still caught (its fields were always hashed) */
    const sqlite = (text) => storeSql(s, 'PRAGMA busy_timeout = 10000; ' + text);
    await sqlite(dropGuard('audit_log_no_update') + `UPDATE audit_log SET key = 'NOT_OLD' WHERE seq = 6;`);
    r = await c.arca(['audit-logs', 'verify', '--format', 'json']);
    assert.equal(r.code, 8);
    assert.equal(JSON.parse(r.stdout).firstBadSeq, 6);
    await sqlite(`UPDATE audit_log SET key = 'OLD_KEY' WHERE seq = 6;`);
    /* the newest record is v2: its seq is covered */
    const head = Number((await storeSql(s, 'SELECT max(seq) FROM audit_log')).trim());
    await sqlite(`UPDATE audit_log SET seq = ${head + 50} WHERE seq = ${head};`);
    r = await c.arca(['audit-logs', 'verify', '--format', 'json']);
    assert.equal(r.code, 8, `a changed seq of a v2 record: ${r.stdout}`);
    assert.equal(JSON.parse(r.stdout).firstBadSeq, head + 50);
});

test('the project versions route (every ciphertext) is audited and fails closed', T, async () => {
    const { s, c, p, run } = await smallServer('versions');
    const token = await readToken(c);
    const route = `${V1}/projects/${p.id}/versions`;
    let h = await apiCall(s, 'GET', route, { token });
    assert.equal(h.status, 200, h.text);
    assert.ok(h.json.versions.length >= 1 && h.json.versions[0].value, 'ciphertext is served');
    const recs = (await listLogOf(c, ['--project-id', p.id, '--event', 'project.versions']));
    assert.equal(recs.length, 1, 'one project.versions record');
    assert.equal(recs[0].outcome, 'success');
    assert.equal(recs[0].metadata.versions, h.json.versions.length);

    await run(REFUSE_AUDIT);
    for (const [what, url] of [['versions', route], ['project (its wrapped key)', `${V1}/projects/${p.id}`],
        ['secrets list', `${V1}/projects/${p.id}/secrets?environment=prod&secretPath=/`]]) {
        h = await apiCall(s, 'GET', url, { token });
        assert.equal(h.status, 503, `${what} with an unwritable audit log: ${h.text}`);
        assert.ok(!/"value"|encryptedProjectKey/.test(h.text), `${what}: nothing served`);
    }
    await run(ALLOW_AUDIT);
    h = await apiCall(s, 'GET', route, { token });
    assert.equal(h.status, 200, h.text);
});

test('denials are recorded: no token, a non-member, another project\'s token, an untrusted address, ' +
    'a non-admin on client secrets; at most a budget per address', T, async () => {
    const { s, c, p } = await smallServer('denials');
    const other = await inviteAndSignup(c, s, 'other@example.com');
    const otherToken = await readToken(other.cli);
    const otherProject = await createProject(other.cli, 'theirs');
    const st = serviceTokenBearer(serviceTokenIn((await ok(other.cli, ['service-token', 'create', '--name',
        'theirs', '--env=prod', '--project-id', otherProject.id])).stdout));
    /* an identity trusted from 127.0.0.1 only */
    const idr = JSON.parse((await ok(c, ['identities', 'create', 'pinned', '--project-id', p.id,
        '--role', 'viewer', '--trusted-ips', '127.0.0.1/32', '--format', 'json'])).stdout);
    const ic = await newCli(s);
    await ok(ic, ['login', '--method=universal-auth', '--client-id', idr.clientId, '--client-secret',
        idr.clientSecret]);
    const idToken = await readCredentialMatching(ic, /^arca_i_/);
    const P = `${V1}/projects/${p.id}`;

    const before = Number((await storeSql(s, 'SELECT max(seq) FROM audit_log')).trim());
    const calls = [
        ['no Authorization', 'GET', P, null, 401, 'auth.token.missing'],
        ['a non-member', 'GET', P, otherToken, 404, 'permission.denied'],
        ['a non-member, no such project', 'GET', `${V1}/projects/00000000-0000-4000-8000-000000000000`,
            otherToken, 404, 'permission.denied'],
        ['another project\'s service token', 'GET', `${P}/secrets?environment=prod&secretPath=/`, st, 404,
            'permission.denied'],
        ['an identity from an untrusted address', 'GET', P, idToken, 403, 'auth.ip.denied', '127.0.0.2'],
        ['a non-admin listing client secrets', 'GET', `${V1}/identities/${idr.identityId}/client-secrets`,
            otherToken, 403, 'permission.denied'],
        ['a non-admin making a client secret', 'POST', `${V1}/identities/${idr.identityId}/client-secrets`,
            otherToken, 403, 'permission.denied', undefined, {}],
    ];
    for (const [what, method, url, token, status, event, from, body] of calls) {
        const n0 = Number((await storeSql(s, 'SELECT max(seq) FROM audit_log')).trim());
        const h = await apiCall(s, method, url, { token, localAddress: from, body });
        assert.equal(h.status, status, `${what}: ${h.text}`);
        const rows = (await storeSql(s, `SELECT event, outcome, ip, actor_type FROM audit_log WHERE seq > ${n0}`))
            .trim().split('\n').filter(Boolean);
        assert.equal(rows.length, 1, `${what}: one record (${rows.join('; ')})`);
        const [ev, outcome, ip] = rows[0].split('|');
        assert.equal(ev, event, what);
        assert.notEqual(outcome, 'success', what);
        assert.equal(ip, from ?? '127.0.0.1', what);
    }
    assert.ok(before > 0);
    /* the identity's token from 127.0.0.2: refused when its principal is not
     * cached (after a write) and when it is (right after a served call) */
    for (let i = 0; i < 2; i++) {
        await ok(c, ['secrets', 'set', `BUMP=${i}`, '--env', 'dev', '--project-id', p.id]);
        let h = await apiCall(s, 'GET', P, { token: idToken, localAddress: '127.0.0.2' });
        assert.equal(h.status, 403, `uncached, from 127.0.0.2: ${h.text}`);
        h = await apiCall(s, 'GET', P, { token: idToken });
        assert.equal(h.status, 200, `from 127.0.0.1: ${h.text}`);
        h = await apiCall(s, 'GET', P, { token: idToken, localAddress: '127.0.0.2' });
        assert.equal(h.status, 403, `cached, from 127.0.0.2: ${h.text}`);
    }

    /* the budget: 600 refusals from one address are all refused, at most 300
     * (plus what refilled meanwhile, 5 a second) recorded */
    const n0 = Number((await storeSql(s, 'SELECT max(seq) FROM audit_log')).trim());
    const t0 = Date.now();
    const statuses = [];
    for (let i = 0; i < 600; i += 50)
        statuses.push(...(await Promise.all(Array.from({ length: 50 }, () =>
            apiCall(s, 'GET', P, { localAddress: '127.0.0.3' })))).map((x) => x.status));
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(statuses.every((x) => x === 401), 'every one refused with 401');
    const recorded = Number((await storeSql(s,
        `SELECT count(*) FROM audit_log WHERE seq > ${n0} AND ip = '127.0.0.3'`)).trim());
    assert.ok(recorded >= 300, `the first 300 are recorded: ${recorded}`);
    assert.ok(recorded <= 300 + Math.ceil(seconds * 5) + 1 && recorded < 600,
        `the rest are not: ${recorded} in ${seconds} s`);
    /* another address still has its budget */
    const h = await apiCall(s, 'GET', P, { localAddress: '127.0.0.4' });
    assert.equal(h.status, 401);
    assert.equal((await storeSql(s, `SELECT count(*) FROM audit_log WHERE ip = '127.0.0.4'`)).trim(), '1');
});

test('fail closed: with the audit store full, reads are refused and print nothing; then work again',
    { ...T, skip: PG_MODE && 'on PostgreSQL the audit store is not in the data directory' },
    async (t) => {
        assert.equal(process.getuid(), 0, 'this test mounts a tmpfs and must run as root (as in CI)');
        const mnt = await tempDir('arca-tmpfs-');
        await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
        mounted = mnt;
        const dataDir = path.join(mnt, 'data');
        await mkdir(dataDir, { mode: 0o700 });
        const fs = await startServer({ dataDir });
        servers.push(fs);
        const c = await newCli(fs);
        await bootstrapAndLogin(c);
        const p = await createProject(c, 'full-disk');
        const fp = ['--project-id', p.id];
        const value = `full-disk-${randomBytes(16).toString('hex')}`;
        await ok(c, ['secrets', 'set', `DB_PASSWORD=${value}`, '--env', 'prod', ...fp]);
        assert.equal((await ok(c, ['secrets', 'get', 'DB_PASSWORD', '--env', 'prod', '--plain', ...fp])).stdout,
            value + '\n');

        /* fill the filesystem: big blocks, then crumbs */
        for (const [i, bs] of ['1M', '4k', '512'].entries()) {
            const e = await execFileP('dd', ['if=/dev/zero', `of=${path.join(mnt, `filler-${i}`)}`,
                `bs=${bs}`], { timeout: 60000 }).then(() => null, (err) => err);
            assert.ok(e, 'dd stops at ENOSPC');
            assert.match(e.stderr ?? '', /No space left/, `dd: ${e.stderr}`);
        }

        /* reads until one is refused: a read may only be served while its record
         * can still be written (SQLite may reuse WAL space it already holds) */
        let served = 0;
        let refused = null;
        for (let i = 0; i < 500 && !refused; i++) {
            const r = await c.arca(['secrets', 'get', 'DB_PASSWORD', '--env', 'prod', '--plain', ...fp]);
            if (r.code === 0)
                served++;
            else
                refused = r;
        }
        t.diagnostic(`reads served on the full disk before the first refusal: ${served}`);
        assert.ok(refused, 'a read is refused once the audit record cannot be written');
        assertErrorOutput(refused, 6); /* the server's 503: "the database is unavailable" */
        assert.match(refused.stderr, /the arca server answered 503: the database is unavailable/);
        assert.equal(refused.stdout, '', 'no value printed');
        assert.ok(!refused.stderr.includes(value));

        /* and it stays refused: get, list, export, run, and over HTTP 503 */
        for (const args of [['secrets', 'get', 'DB_PASSWORD', '--env', 'prod', '--plain', ...fp],
            ['secrets', 'list', '--env', 'prod', '--format', 'json', ...fp], ['export', '--env', 'prod', ...fp],
            ['run', '--env', 'prod', ...fp, '--', NODE, '-e', 'process.stdout.write(process.env.DB_PASSWORD)']]) {
            const r = await c.arca(args);
            assertErrorOutput(r, 6);
            assert.equal(r.stdout, '', `arca ${args[0]} ${args[1]}: nothing printed`);
            assert.ok(!r.stderr.includes(value));
        }
        const token = await readToken(c);
        const h = await apiCall(fs, 'GET', `${V1}/projects/${p.id}/secrets?environment=prod&secretPath=/`,
            { token });
        assert.equal(h.status, 503, h.text);
        assert.equal(h.json?.error, 'ServiceUnavailable');
        assert.ok(!h.text.includes('"value"'), 'no ciphertext either');
        const notReady = await apiCall(fs, 'GET', '/api/ready');
        assert.equal(notReady.status, 503, 'readiness says so');
        assert.equal(notReady.json.auditLog, 'failing');

        /* free the space: reads work again, the chain is intact, each served read was recorded */
        for (let i = 0; i < 3; i++)
            await rm(path.join(mnt, `filler-${i}`), { force: true });
        assert.ok((await stat(mnt)).isDirectory());
        assert.equal((await apiCall(fs, 'GET', '/api/ready')).status, 200, 'ready again');
        assert.equal((await ok(c, ['secrets', 'get', 'DB_PASSWORD', '--env', 'prod', '--plain', ...fp])).stdout,
            value + '\n');
        const v = await ok(c, ['audit-logs', 'verify', '--format', 'json']);
        assert.equal(JSON.parse(v.stdout).ok, true);
        const recs = (await listLog(c, [...fp, '--event', 'secret.', '--limit', '1000'])).reverse(); /* oldest first */
        const created = recs.findLastIndex((x) => x.event === 'secret.create');
        assert.ok(created >= 0, 'the write is recorded');
        const reads = recs.slice(created + 1).filter((x) => x.event === 'secret.read' || x.event === 'secret.list');
        /* one before the fill, the served ones, one after (whichever route the CLI reads with) */
        assert.equal(reads.length, served + 2, 'every served read has its record, no refused one has');

        await fs.stop();
        await execFileP('umount', [mnt]);
        mounted = null;
    });
