// backup.test.mjs - `arca backup` / `arca restore`.
//
// A SQLite store with users, a project, secrets with history (a deletion
// included), a personal override, a machine identity and audit records is
// backed up while its server keeps writing: every write acknowledged before
// the backup started is in it, the file is 0600 and holds no plaintext value.
// Restored into a new data directory, a server with the same root key serves
// every secret end to end, the history and a verifiable audit chain.  A
// restore into a store that is not empty is refused and changes nothing; a
// truncated, edited, oversized or other-schema file is refused and writes
// nothing: not even a new database file, or tables in an empty PostgreSQL
// database (on both, the file is checked before the store is opened); `arca
// backup --verify` gives the same verdicts without any store.  A server on a
// restored store with another root key refuses to start.  Across stores: the SQLite backup restores into PostgreSQL (the
// migration path), a server there reads the secrets, and a backup of that
// database restores into SQLite again; each round trip keeps every row
// exactly.  The backup names every column of every table of the schema.
//
// The file starts its own PostgreSQL cluster (pg.mjs), and its SQLite
// servers get `--database-url ''` (empty: the SQLite store) so that the
// suite's PostgreSQL mode does not move them.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    bootstrapAndLogin, createProject, newCli, removeTempDirs, startServer, storeSql, tempDir,
} from './harness.mjs';
import { startPostgres } from './pg.mjs';

const T = { timeout: 300000 };
const ROOT_KEY = randomBytes(32).toString('base64');
const KEY_ENV = { ARCA_ENCRYPTION_KEY: ROOT_KEY };

let pg;
let src; /* the SQLite server that is backed up */
let tool; /* a CLI context for backup/restore (no server needed) */
let admin;
let cli;
let project;
let backupFile;
const acked = {}; /* key -> value of every write acknowledged before the backup started */
const servers = [];

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* A new, empty store: {kind, args} with the flags that name it. */
async function newStore(kind) {
    if (kind === 'postgres')
        return { kind, args: ['--database-url', pg.url(await pg.createDatabase())] };
    const dir = path.join(await tempDir('arca-restore-'), 'data');
    return { kind, dir, args: ['--data-dir', dir, '--database-url', ''] };
}

async function serverOn(store) {
    const s = await startServer({ args: store.kind === 'postgres' ? store.args : ['--database-url', ''],
        dataDir: store.dir, env: KEY_ENV });
    servers.push(s);
    return s;
}

const backup = (store, file) => tool.arca(['backup', '--output', file, ...store.args]);
const restore = (store, file) => tool.arca(['restore', '--input', file, ...store.args]);

/* Logs the administrator in on server s; returns the CLI context. */
async function loginOn(s) {
    const c = await newCli(s);
    await ok(c, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
    return c;
}

async function list(c, env = 'dev') {
    const r = await ok(c, ['secrets', 'list', '--env', env, '--project-id', project.id, '--format', 'json']);
    return Object.fromEntries(JSON.parse(r.stdout).map((x) => [`${x.key}${x.type === 'personal' ? '@me' : ''}`, x.value]));
}

async function history(c, key) {
    const r = await ok(c, ['secrets', 'history', key, '--env', 'dev', '--project-id', project.id,
        '--format', 'json']);
    const j = JSON.parse(r.stdout);
    return (Array.isArray(j) ? j : j.versions).map((v) => [v.version, v.value]);
}

/* What a server restored from the backup must show. */
async function assertRestored(s) {
    const c = await loginOn(s);
    const got = await list(c);
    for (const [k, v] of Object.entries(acked))
        assert.equal(got[k], v, `${k} was acknowledged before the backup started`);
    assert.equal(got.GONE, undefined, 'a deleted secret stays deleted');
    assert.deepEqual(await history(c, 'API_KEY'), [[3, 'three'], [2, 'two'], [1, 'one']]);
    const gone = await history(c, 'GONE');
    assert.equal(gone[0][1], null, 'the tombstone is in the history');
    const v = await ok(c, ['audit-logs', 'verify', '--format', 'json']);
    const j = JSON.parse(v.stdout);
    assert.equal(j.ok, true, v.stdout);
    assert.ok(j.records >= 10, `the restored chain has the records: ${j.records}`);
    const ids = await ok(c, ['identities', 'list', '--format', 'json']);
    assert.match(ids.stdout, /backup-bot/);
    return c;
}

/* The row lines of a backup file: everything but the header and the trailer. */
async function rowLines(file) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    return lines.slice(1, -1);
}

before(async () => {
    pg = await startPostgres();
    tool = await newCli(null);
    const store = await newStore('sqlite');
    src = await serverOn(store);
    src.store = store;
    cli = await newCli(src);
    admin = await bootstrapAndLogin(cli);
    project = await createProject(cli, 'backed-up');
    const pid = ['--project-id', project.id, '--env', 'dev'];
    for (const v of ['one', 'two', 'three'])
        await ok(cli, ['secrets', 'set', `API_KEY=${v}`, ...pid]);
    acked.API_KEY = 'three';
    await ok(cli, ['secrets', 'set', 'DB_PASSWORD=correct horse battery staple', ...pid]);
    acked.DB_PASSWORD = 'correct horse battery staple';
    await ok(cli, ['secrets', 'set', '--personal', 'API_KEY=my-own-key', ...pid]);
    acked['API_KEY@me'] = 'my-own-key';
    await ok(cli, ['secrets', 'set', 'GONE=soon', ...pid]);
    await ok(cli, ['secrets', 'delete', 'GONE', ...pid]);
    await ok(cli, ['identities', 'create', 'backup-bot', '--format', 'json']);
    backupFile = path.join(await tempDir('arca-backup-'), 'arca.backup');
});

after(async () => {
    for (const s of servers)
        await s.kill();
    await pg?.destroy();
    await removeTempDirs();
});

test('a backup taken while the server keeps writing restores into a new store', T, async () => {
    /* Writes go on through the backup; the ones acknowledged before it started must be in it. */
    let stop = false;
    let n = 0;
    const writer = (async () => {
        while (!stop) {
            const key = `LIVE_${n++}`;
            await ok(cli, ['secrets', 'set', `${key}=value-${n}`, '--project-id', project.id, '--env', 'dev']);
            if (!stop)
                acked[key] = `value-${n}`;
        }
    })();
    while (n < 3)
        await new Promise((r) => setTimeout(r, 50));
    const before = { ...acked };
    const b = await backup(src.store, backupFile);
    stop = true;
    await writer;
    assert.equal(b.code, 0, b.stderr);
    for (const k of Object.keys(acked))
        if (!(k in before))
            delete acked[k]; /* written during the backup: in it or not */

    const st = await stat(backupFile);
    assert.equal(st.mode & 0o777, 0o600, 'the backup is readable by its owner only');
    const text = await readFile(backupFile, 'utf8');
    const header = JSON.parse(text.slice(0, text.indexOf('\n')));
    assert.equal(header.format, 'arca-backup');
    assert.equal(header.store, 'sqlite');
    assert.equal(typeof header.schema, 'number');
    for (const v of ['correct horse battery staple', 'my-own-key', 'three', ROOT_KEY])
        assert.ok(!text.includes(v), 'no plaintext value and no root key in the backup');

    const dst = await newStore('sqlite');
    const r = await restore(dst, backupFile);
    assert.equal(r.code, 0, r.stderr);
    await assertRestored(await serverOn(dst));
});

test('the backup names every column of every table', T, async () => {
    const text = await readFile(backupFile, 'utf8');
    const cols = Object.fromEntries(text.split('\n').filter((l) => l.includes('"c":'))
        .map((l) => JSON.parse(l)).map((l) => [l.t, l.c.join(',')]));
    /* shares are left out on purpose: short-lived, viewed a limited number of times */
    const tables = (await storeSql(src, "SELECT name FROM sqlite_master WHERE type = 'table' AND " +
        "name NOT IN ('schema_migrations', 'sqlite_sequence', 'shares') ORDER BY name")).trim()
        .split('\n');
    assert.deepEqual(Object.keys(cols).sort(), tables);
    for (const t of tables) {
        const have = (await storeSql(src, `SELECT group_concat(name, ',') FROM pragma_table_info('${t}')`)).trim();
        assert.deepEqual(cols[t].split(',').sort(), have.split(',').sort(), `columns of ${t}`);
    }
});

test('a restore into a store that is not empty is refused and changes nothing', T, async () => {
    const count = () => storeSql(src, 'SELECT count(*) FROM secret_versions');
    const n = await count();
    const r = await restore(src.store, backupFile);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /not empty \(table '\w+' has rows\): restore only into a new, empty store \(nothing was written\)/);
    assert.doesNotMatch(r.stderr, /not empty.*not empty|nothing was written.*nothing was written/,
        'each part of the reason once');
    assert.equal(await count(), n);
    assert.equal((await list(cli)).API_KEY, 'three');
});

test('a truncated, edited, oversized or other-schema backup is refused and writes nothing', T, async () => {
    const text = await readFile(backupFile, 'utf8');
    const lines = text.split('\n');
    const dir = path.dirname(backupFile);
    const row = lines.findIndex((l) => l.startsWith('{"t":"secret_versions","r":'));
    assert.ok(row > 0);
    const edited = [...lines];
    edited[row] = edited[row].replace(/,([0-9])/, (m, d) => `,${d === '9' ? '8' : '9'}`);
    assert.notEqual(edited[row], lines[row]);
    const other = [...lines];
    other[0] = other[0].replace(/"schema":[0-9]+/, '"schema":1');
    const cases = {
        'no trailer': [lines.slice(0, -2).join('\n') + '\n', 8, /trailer is missing/],
        'cut in a line': [text.slice(0, Math.floor(text.length / 2)), 8, /truncated|JSON/],
        'a changed value': [edited.join('\n'), 8, /BLAKE2b/],
        'a line over 4 MiB': [lines[0] + '\n' + `{"t":"users","c":["${'x'.repeat(5 << 20)}"]}\n`, 8, /limit/],
        'another schema': [other.join('\n'), 5, /schema version 1.*then upgrade/],
        'not a backup': ['hello\n', 8, /not a JSON object/],
        'a NUL byte': [text.replace('"format"', '"form\u0000at"'), 8, /not a JSON object/],
    };
    const dst = await newStore('sqlite');
    const onPg = await newStore('postgres');
    const pgTables = async () => Number((await pg.psql(onPg.args[1].split('/').pop(),
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).trim());
    for (const [what, [content, code, re]] of Object.entries(cases)) {
        const f = path.join(dir, 'bad.backup');
        await writeFile(f, content);
        for (const target of [dst, onPg]) {
            const r = await restore(target, f);
            assert.equal(r.code, code, `${what} into ${target.kind}: ${r.stderr}`);
            assert.match(r.stderr, re, what);
            assert.match(r.stderr, /nothing was written/, what);
            assert.ok(!r.stderr.includes('correct horse'), 'no value in the message');
        }
        const v = await tool.arca(['backup', '--verify', f]);
        assert.equal(v.code, code, `--verify, ${what}: ${v.stderr}`);
        assert.match(v.stderr, re, `--verify, ${what}`);
        /* nothing at all: no database file, no schema */
        assert.equal(await access(dst.dir).then(() => 'there', () => 'absent'), 'absent',
            `${what}: the SQLite target was not created`);
        assert.equal(await pgTables(), 0, `${what}: no table in the PostgreSQL target`);
    }
    const v = await tool.arca(['backup', '--verify', backupFile]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /is intact: [0-9]+ rows of schema version [0-9]+, restorable by this arca/);
    /* The good file still restores into those stores. */
    for (const target of [dst, onPg]) {
        const r = await restore(target, backupFile);
        assert.equal(r.code, 0, r.stderr);
    }

    /* a restored store keeps its root key check: another key is refused */
    const wrongKey = await tool.arca(['server', '--listen', '127.0.0.1:0', ...dst.args],
        { env: { ARCA_ENCRYPTION_KEY: randomBytes(32).toString('base64') }, timeoutMs: 30000 });
    assert.equal(wrongKey.code, 1, wrongKey.stderr);
    assert.match(wrongKey.stderr, /not the one this store was made with/);
});

test('SQLite restores into PostgreSQL and back, every row kept', T, async () => {
    const dir = path.dirname(backupFile);
    const onPg = await newStore('postgres');
    let r = await restore(onPg, backupFile);
    assert.equal(r.code, 0, r.stderr);
    const again = path.join(dir, 'from-postgres.backup');
    r = await backup(onPg, again);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse((await readFile(again, 'utf8')).split('\n')[0]).store, 'postgres');
    const rows = await rowLines(backupFile);
    assert.ok(rows.filter((l) => l.includes('"r":')).length > 40, `rows in the backup: ${rows.length}`);
    assert.deepEqual(await rowLines(again), rows, 'SQLite -> PostgreSQL keeps every row');

    const pgServer = await serverOn(onPg);
    const c = await assertRestored(pgServer);
    await ok(c, ['secrets', 'set', 'ON_POSTGRES=yes', '--project-id', project.id, '--env', 'dev']);

    /* Back to SQLite, from a backup taken while that server runs. */
    const live = path.join(dir, 'live-postgres.backup');
    r = await backup(onPg, live);
    assert.equal(r.code, 0, r.stderr);
    const onSqlite = await newStore('sqlite');
    r = await restore(onSqlite, live);
    assert.equal(r.code, 0, r.stderr);
    const third = path.join(dir, 'from-sqlite.backup');
    r = await backup(onSqlite, third);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await rowLines(third), await rowLines(live), 'PostgreSQL -> SQLite keeps every row');
    const c2 = await assertRestored(await serverOn(onSqlite));
    assert.equal((await list(c2)).ON_POSTGRES, 'yes');
});

test('backup and restore refuse bad flags', T, async () => {
    let r = await tool.arca(['backup', ...src.store.args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--output FILE is required/);
    r = await tool.arca(['restore', '--input', backupFile, '--database-url', 'mysql://x/y']);
    assert.equal(r.code, 2, r.stderr);
    r = await tool.arca(['restore', '--input', path.join(path.dirname(backupFile), 'missing'),
        '--data-dir', (await newStore('sqlite')).dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot open/);
    /* a data directory with no store (a typo, the default ./arca-data run from the wrong
     * directory): not a backup of a new, empty store made on the spot */
    const missing = (await newStore('sqlite')).dir;
    const file = path.join(path.dirname(missing), 'empty.backup');
    r = await tool.arca(['backup', '--output', file, '--data-dir', missing, '--database-url', '']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`no arca store in '${missing}' \\(it has no arca.db\\)`));
    assert.match(r.stderr, /hint: give the data directory of the server/);
    await assert.rejects(access(missing), 'no store was created');
    await assert.rejects(access(file), 'no backup was written');
});
