// canary.test.mjs - secret values never reach the disk or the logs in clear.
//
// Random canary values go in through every write path (set, the two-argument
// form, a folder, import, an update that leaves the old value in history, a
// deleted secret) and are read back through every read path.  Then every file
// of the data directory (arca.db, -wal, -shm, key files), while the server runs
// and again after a graceful stop, and the server's log are searched for the
// canaries, raw and base64 at every alignment (on PostgreSQL, ARCA_TEST_PG=1,
// also the database's files and the write-ahead log); the logs and the data directory
// also for the session token and the password.  The CLI side (config dir,
// HOME, TMPDIR, working directory) is searched too: `arca run` and friends
// never write a value to disk.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    NODE, PG_MODE, bootstrapAndLogin, createProject, listFiles, newCli, readToken, removeTempDirs,
    startServer, storeFiles, tempDir,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let admin;
let token;
let dataParent;

const canary = (tag) => `canary-${tag}-${randomBytes(24).toString('hex')}`;
const C = {
    set: canary('set'),
    twoArg: canary('twoarg'),
    folder: canary('folder'),
    imported: canary('import'),
    multiLine: `-----BEGIN CANARY-----\n${canary('pem1')}\n${canary('pem2')}\n-----END CANARY-----`,
    oldVersion: canary('old'),
    newVersion: canary('new'),
    deleted: canary('deleted'),
};

/* The byte strings that would give a value away: the value, and its base64
 * (standard and URL-safe) at each of the three alignments inside a longer blob. */
function needlesFor(value) {
    const buf = Buffer.from(value, 'utf8');
    const out = [buf];
    for (const shift of [0, 1, 2]) {
        const b64 = Buffer.concat([Buffer.alloc(shift), buf]).toString('base64');
        const inner = b64.slice(shift === 0 ? 0 : 4, b64.length - 4);
        out.push(Buffer.from(inner), Buffer.from(inner.replace(/\+/g, '-').replace(/\//g, '_')));
    }
    out.push(Buffer.from(buf.toString('hex')));
    return out;
}

function allNeedles() {
    const values = [];
    for (const [name, v] of Object.entries(C)) {
        values.push([name, v]);
        if (v.includes('\n'))
            for (const [i, l] of v.split('\n').entries())
                if (l.startsWith('canary-'))
                    values.push([`${name}[line ${i}]`, l]);
    }
    return values.flatMap(([name, v]) => needlesFor(v).map((n) => [name, n]));
}

async function findIn(files, needles) {
    const hits = [];
    for (const f of files) {
        const data = await readFile(f);
        for (const [name, n] of needles)
            if (data.indexOf(n) !== -1)
                hits.push(`${path.basename(f)} contains ${name}`);
    }
    return hits;
}

async function ok(args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    for (const [name, n] of allNeedles())
        if (!args.includes('--plain') && !args.includes('--format') && args[0] !== 'run' &&
            args[0] !== 'export' && !args.includes('--show-values'))
            assert.equal(r.stdout.indexOf(n.toString()), -1, `arca ${args[0]} printed ${name}`);
    return r;
}

before(async () => {
    dataParent = await tempDir('arca-canary-');
    srv = await startServer({ dataDir: path.join(dataParent, 'data') });
    cli = await newCli(srv);
    admin = await bootstrapAndLogin(cli);
    token = await readToken(cli);
    const p = await createProject(cli, 'canary');
    await ok(['init', '--project-id', p.id]);
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test('canary values go in through every write path and come back intact', T, async () => {
    await ok(['secrets', 'set', `CANARY_SET=${C.set}`, `CANARY_PEM=${C.multiLine}`, '--env', 'prod']);
    await ok(['secrets', 'set', 'CANARY_TWO_ARG', C.twoArg, '--env', 'prod']);
    await ok(['secrets', 'set', `CANARY_FOLDER=${C.folder}`, '--env', 'prod', '--path', '/deep/er']);
    const importDir = await tempDir('arca-import-');
    await writeFile(path.join(importDir, 'in.env'), `CANARY_IMPORTED="${C.imported}"\n`);
    await ok(['import', path.join(importDir, 'in.env'), '--env', 'prod']);
    await ok(['secrets', 'set', `CANARY_UPDATED=${C.oldVersion}`, '--env', 'prod']);
    await ok(['secrets', 'set', `CANARY_UPDATED=${C.newVersion}`, '--env', 'prod']);
    await ok(['secrets', 'set', `CANARY_DELETED=${C.deleted}`, '--env', 'prod']);
    await ok(['secrets', 'delete', 'CANARY_DELETED', '--env', 'prod']);

    const expected = { CANARY_SET: C.set, CANARY_PEM: C.multiLine, CANARY_TWO_ARG: C.twoArg,
        CANARY_IMPORTED: C.imported, CANARY_UPDATED: C.newVersion };
    const e = await ok(['export', '--env', 'prod', '--format', 'json']);
    assert.deepEqual(JSON.parse(e.stdout), expected);
    const g = await ok(['secrets', 'get', 'CANARY_FOLDER', '--env', 'prod', '--path', '/deep/er', '--plain']);
    assert.equal(g.stdout, C.folder + '\n');
    await ok(['secrets', 'list', '--env', 'prod']);
    await ok(['secrets', 'list', '--env', 'prod', '--show-values']);
    const r = await ok(['run', '--env', 'prod', '--', NODE, '-e',
        'process.stdout.write(process.env.CANARY_SET)']);
    assert.equal(r.stdout, C.set);
});

test('no file of the data directory holds a value, the token or the password (server running)', T,
    async () => {
        const files = await storeFiles(srv);
        const db = PG_MODE ? /^[0-9]+$/ : /^arca\.db$/;
        assert.ok(files.some((f) => db.test(path.basename(f))), `the database in ${files.join(', ')}`);
        /* Positive control: key names are stored in clear, so the scan does see the data. */
        assert.ok((await findIn(files, [['a key name', Buffer.from('CANARY_TWO_ARG')]])).length > 0,
            'the scan finds a key name, so it reads the real data');
        const hits = await findIn(files, [...allNeedles(), ['the session token', Buffer.from(token)],
            ['the password', Buffer.from(admin.password)]]);
        assert.deepEqual(hits, []);
    });

test('no file of the data directory holds a value after a graceful stop', T, async () => {
    await srv.stop();
    const files = await storeFiles(srv);
    const hits = await findIn(files, [...allNeedles(), ['the session token', Buffer.from(token)],
        ['the password', Buffer.from(admin.password)]]);
    assert.deepEqual(hits, []);
});

test('the server log holds no value, no session token and no password', T, async () => {
    const text = Buffer.from([...srv.logs, ...srv.stdoutLines].join('\n'));
    assert.ok(srv.logs.length > 0, 'the server logged something');
    const hits = [];
    for (const [name, n] of [...allNeedles(), ['the session token', Buffer.from(token)],
        ['the password', Buffer.from(admin.password)]])
        if (text.indexOf(n) !== -1)
            hits.push(name);
    assert.deepEqual(hits, []);
});

test('the CLI writes no value to disk (config dir, HOME, TMPDIR, working directory)', T, async () => {
    const files = [];
    for (const d of [cli.configDir, cli.home, cli.tmp, cli.cwd])
        files.push(...(await listFiles(d)));
    assert.deepEqual(await findIn(files, [...allNeedles(), ['the password', Buffer.from(admin.password)]]),
        []);
});

test('the data directory is private: created 0700, key files 0600', T, async () => {
    const dirMode = (await stat(srv.dataDir)).mode & 0o777;
    assert.equal(dirMode & 0o077, 0, `data dir mode ${dirMode.toString(8)}`);
    for (const f of await listFiles(srv.dataDir))
        if (/key/i.test(path.basename(f))) {
            const m = (await stat(f)).mode & 0o777;
            assert.equal(m, 0o600, `${path.basename(f)} mode ${m.toString(8)}`);
        }
});
