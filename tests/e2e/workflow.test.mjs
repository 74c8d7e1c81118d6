// workflow.test.mjs - the documented workflow end to end, in the order a user
// follows it: bootstrap, login, projects create, init, secrets set/get/list/
// delete, run, export (every format, parsed back), import, folders, versions.
// Real `arca server`, real `arca` CLI, real crypto; one server for this file.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import dotenv from 'dotenv';

import {
    NODE, bootstrapAndLogin, newCli, removeTempDirs, startServer, tempDir,
} from './harness.mjs';

const T = { timeout: 180000 };
const execFileP = promisify(execFile);

let srv;
let cli;
let project;
let admin;

const PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' }).trimEnd();
const CA_CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ+fake/cert=\n' +
    'ZmFrZS1jZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----';

/* What prod must hold; updated as the tests write. */
const prod = {
    DATABASE_URL: 'postgres://u:p@db/prod',
    STRIPE_SECRET_KEY: 'sk_live_x',
    JWT_SECRET: 'super-secret-jwt-key',
    TLS_KEY: PEM,
    CA_CERT,
    SPECIAL: 'p@ss w0rd!$HOME "quoted" #not-a-comment =eq \\back\\slash ~&|;<>*?()[]{}`x`',
    APOSTROPHE: "it's 100% fine",
    UNICODE: 'héllo wörld ✓ 日本',
};

/* A child that prints the named environment variables as JSON (null if unset). */
const PRINT_ENV = 'const o = {}; for (const k of process.argv.slice(1)) o[k] = process.env[k] ?? null;' +
    ' process.stdout.write(JSON.stringify(o));';

function lines(text) {
    return text.replace(/\n$/, '').split('\n');
}

async function ok(args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')} exit code; stderr: ${r.stderr}`);
    return r;
}

async function listJson(env, extra = []) {
    const r = await ok(['secrets', 'list', '--env', env, ...extra, '--format', 'json']);
    const arr = JSON.parse(r.stdout);
    assert.ok(Array.isArray(arr), 'list --format json prints an array');
    for (const s of arr) {
        assert.equal(typeof s.key, 'string');
        assert.equal(typeof s.value, 'string');
        assert.equal(typeof s.version, 'number');
        assert.equal(typeof s.updatedAt, 'string');
    }
    return arr;
}

function asObject(arr) {
    return Object.fromEntries(arr.map((s) => [s.key, s.value]));
}

function sorted(obj) {
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

/* RFC 4180: quoted fields with "" escapes and embedded line breaks; CRLF or LF. */
function parseCsv(text) {
    const rows = [];
    let row = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') {
                field += '"';
                i++;
            } else if (c === '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c === '"' && field === '') {
            quoted = true;
        } else if (c === ',') {
            row.push(field);
            field = '';
        } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
            if (c === '\r')
                i++;
            row.push(field);
            rows.push(row);
            row = [];
            field = '';
        } else {
            field += c;
        }
    }
    assert.ok(!quoted, 'csv: unterminated quoted field');
    if (field !== '' || row.length) {
        row.push(field);
        rows.push(row);
    }
    return rows;
}

/* Sources a dotenv file with sh (`set -a; . ./file`) and returns the named variables. */
async function readWithSh(file, keys) {
    const { stdout } = await execFileP('/bin/sh', ['-c',
        'set -a; . "$ARCA_T_FILE"; exec "$ARCA_T_NODE" -e "$ARCA_T_SCRIPT" "$@"', 'sh', ...keys],
    { env: { PATH: process.env.PATH, ARCA_T_FILE: file, ARCA_T_NODE: NODE, ARCA_T_SCRIPT: PRINT_ENV },
        timeout: 30000 });
    return JSON.parse(stdout);
}

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test('bootstrap creates the first administrator and login saves a session', T, async () => {
    admin = await bootstrapAndLogin(cli);
    const w = await ok(['whoami']);
    assert.match(w.stdout, /admin@example\.com/);
});

test('the session is saved in credentials.json, mode 0600, in a 0700 config dir', T, async () => {
    const dirMode = (await stat(cli.configDir)).mode & 0o777;
    assert.equal(dirMode, 0o700, `config dir mode ${dirMode.toString(8)}`);
    const f = path.join(cli.configDir, 'credentials.json');
    const st = await stat(f);
    assert.equal(st.mode & 0o777, 0o600, `credentials.json mode ${(st.mode & 0o777).toString(8)}`);
    const text = await readFile(f, 'utf8');
    assert.ok(!text.includes(admin.password), 'the password is not saved');
    JSON.parse(text);
});

test('projects create --format json prints the project with dev, staging and prod', T, async () => {
    const r = await ok(['projects', 'create', 'shop', '--format', 'json']);
    project = JSON.parse(r.stdout);
    assert.equal(typeof project.id, 'string');
    assert.ok(project.id.length > 0);
    assert.equal(project.name, 'shop');
    assert.equal(project.slug, 'shop');
    assert.equal(typeof project.organizationId, 'string');
    assert.equal(typeof project.createdAt, 'string');
    assert.deepEqual(project.environments.map((e) => e.slug).sort(), ['dev', 'prod', 'staging']);

    const l = await ok(['projects', 'list', '--format', 'json']);
    assert.ok(l.stdout.includes(project.id), 'projects list shows the new project');
});

test('init writes .arca.json; later commands find it, also from a subdirectory', T, async () => {
    await ok(['init', '--project-id', project.id]);
    const cfg = JSON.parse(await readFile(path.join(cli.cwd, '.arca.json'), 'utf8'));
    assert.equal(cfg.projectId, project.id);
    const sub = path.join(cli.cwd, 'sub', 'dir');
    await mkdir(sub, { recursive: true });
    const r = await ok(['secrets', 'list', '--env', 'prod', '--format', 'json'], { cwd: sub });
    assert.deepEqual(JSON.parse(r.stdout), []);
});

test('secrets set KEY=VALUE KEY=VALUE --env=prod creates both at version 1', T, async () => {
    const r = await ok(['secrets', 'set', 'DATABASE_URL=postgres://u:p@db/prod',
        'STRIPE_SECRET_KEY=sk_live_x', '--env=prod']);
    assert.deepEqual(lines(r.stdout).sort(),
        ['DATABASE_URL: created (version 1)', 'STRIPE_SECRET_KEY: created (version 1)']);
    assert.ok(!r.stdout.includes('sk_live_x') && !r.stderr.includes('sk_live_x'), 'values never printed');
});

test('secrets set KEY VALUE (two-argument form)', T, async () => {
    const r = await ok(['secrets', 'set', 'JWT_SECRET', 'super-secret-jwt-key', '--env=prod']);
    assert.deepEqual(lines(r.stdout), ['JWT_SECRET: created (version 1)']);
});

test('secrets set takes special characters, a multi-line PEM, and KEY=@file', T, async () => {
    await ok(['secrets', 'set', `TLS_KEY=${PEM}`, `SPECIAL=${prod.SPECIAL}`, '--env', 'prod']);
    await ok(['secrets', 'set', 'APOSTROPHE', prod.APOSTROPHE, '--env', 'prod']);
    await ok(['secrets', 'set', `UNICODE=${prod.UNICODE}`, '--env', 'prod']);
    const f = path.join(cli.cwd, 'ca.pem');
    await writeFile(f, CA_CERT);
    const r = await ok(['secrets', 'set', 'CA_CERT=@ca.pem', '--env', 'prod']);
    assert.deepEqual(lines(r.stdout), ['CA_CERT: created (version 1)']);
});

test('secrets get --plain prints exactly the value', T, async () => {
    let r = await ok(['secrets', 'get', 'DATABASE_URL', '--env=prod', '--plain']);
    assert.equal(r.stdout, 'postgres://u:p@db/prod\n');
    r = await ok(['secrets', 'get', 'TLS_KEY', '--env=prod', '--plain']);
    assert.equal(r.stdout, PEM + '\n');
    r = await ok(['secrets', 'get', 'SPECIAL', '--env=prod', '--plain']);
    assert.equal(r.stdout, prod.SPECIAL + '\n');
    r = await ok(['secrets', 'get', 'CA_CERT', '--env=prod', '--plain']);
    assert.equal(r.stdout, CA_CERT + '\n');
    r = await ok(['secrets', 'get', 'JWT_SECRET', 'UNICODE', 'DATABASE_URL', '--env=prod', '--plain']);
    assert.equal(r.stdout, `${prod.JWT_SECRET}\n${prod.UNICODE}\n${prod.DATABASE_URL}\n`,
        'one value per line, in the order asked');
});

test('secrets get prints KEY=value lines that dotenv reads back', T, async () => {
    const keys = ['SPECIAL', 'TLS_KEY', 'APOSTROPHE', 'UNICODE', 'DATABASE_URL'];
    const r = await ok(['secrets', 'get', ...keys, '--env=prod']);
    assert.deepEqual(dotenv.parse(r.stdout), Object.fromEntries(keys.map((k) => [k, prod[k]])));
});

test('secrets get --format json', T, async () => {
    const r = await ok(['secrets', 'get', 'TLS_KEY', 'JWT_SECRET', '--env=prod', '--format', 'json']);
    const arr = JSON.parse(r.stdout);
    assert.deepEqual(arr.map((s) => [s.key, s.value, s.version]),
        [['TLS_KEY', PEM, 1], ['JWT_SECRET', prod.JWT_SECRET, 1]]);
    for (const s of arr)
        assert.ok(!Number.isNaN(Date.parse(s.updatedAt)), `updatedAt is a date: ${s.updatedAt}`);
});

test('secrets list --format json returns every key with its value, sorted by key', T, async () => {
    const arr = await listJson('prod');
    assert.deepEqual(arr.map((s) => s.key), Object.keys(prod).sort());
    assert.deepEqual(asObject(arr), prod);
    for (const s of arr)
        assert.equal(s.version, 1);
});

test('secrets list (table) shows keys and hides values unless --show-values', T, async () => {
    const r = await ok(['secrets', 'list', '--env', 'prod']);
    for (const k of Object.keys(prod))
        assert.ok(r.stdout.includes(k), `table lists ${k}`);
    for (const v of [prod.DATABASE_URL, prod.JWT_SECRET, prod.STRIPE_SECRET_KEY, prod.UNICODE])
        assert.ok(!r.stdout.includes(v), 'a value is hidden in the table');
    const s = await ok(['secrets', 'list', '--env', 'prod', '--show-values']);
    assert.ok(s.stdout.includes(prod.JWT_SECRET), '--show-values shows values');
});

test('version numbers increase with every write; an unchanged write makes none', T, async () => {
    let r = await ok(['secrets', 'set', 'VERSIONED=one', '--env', 'staging']);
    assert.deepEqual(lines(r.stdout), ['VERSIONED: created (version 1)']);
    r = await ok(['secrets', 'set', 'VERSIONED=two', '--env', 'staging']);
    assert.deepEqual(lines(r.stdout), ['VERSIONED: updated (version 2)']);
    r = await ok(['secrets', 'set', 'VERSIONED=two', '--env', 'staging']);
    assert.deepEqual(lines(r.stdout), ['VERSIONED: unchanged (version 2)']);
    let v = (await listJson('staging')).find((s) => s.key === 'VERSIONED');
    assert.equal(v.version, 2);
    assert.equal(v.value, 'two');

    r = await ok(['secrets', 'set', 'VERSIONED=three', 'OTHER=x', '--env', 'staging', '--format', 'json']);
    const res = JSON.parse(r.stdout);
    assert.deepEqual(res.map((x) => [x.key, x.action, x.version]).sort(),
        [['OTHER', 'created', 1], ['VERSIONED', 'updated', 3]]);

    await ok(['secrets', 'delete', 'VERSIONED', '--env', 'staging']);
    await ok(['secrets', 'set', 'VERSIONED=four', '--env', 'staging']);
    v = (await listJson('staging')).find((s) => s.key === 'VERSIONED');
    assert.equal(v.value, 'four');
    assert.ok(v.version > 3, `a write after delete has a higher version (got ${v.version})`);
});

test('secrets delete removes a key', T, async () => {
    await ok(['secrets', 'delete', 'STRIPE_SECRET_KEY', '--env=prod']);
    delete prod.STRIPE_SECRET_KEY;
    const arr = await listJson('prod');
    assert.deepEqual(asObject(arr), prod);
    const g = await cli.arca(['secrets', 'get', 'STRIPE_SECRET_KEY', '--env=prod', '--plain']);
    assert.equal(g.code, 4);
    assert.equal(g.stdout, '');
});

test('run gives the child the secrets as environment variables, overriding inherited ones', T,
    async () => {
        const keys = Object.keys(prod);
        const r = await ok(['run', '--env=prod', '--', NODE, '-e', PRINT_ENV, ...keys,
            'STRIPE_SECRET_KEY', 'KEEP_ME'],
        { env: { DATABASE_URL: 'from-the-parent', KEEP_ME: 'kept' } });
        assert.deepEqual(JSON.parse(r.stdout), { ...prod, STRIPE_SECRET_KEY: null, KEEP_ME: 'kept' });
    });

test('run finds the project by --project-id and ARCA_PROJECT_ID without .arca.json', T, async () => {
    const elsewhere = await tempDir('arca-noinit-');
    let r = await ok(['run', '--env', 'prod', '--project-id', project.id, '--', NODE, '-e', PRINT_ENV,
        'JWT_SECRET'], { cwd: elsewhere });
    assert.deepEqual(JSON.parse(r.stdout), { JWT_SECRET: prod.JWT_SECRET });
    r = await ok(['run', '--env', 'prod', '--', NODE, '-e', PRINT_ENV, 'JWT_SECRET'],
        { cwd: elsewhere, env: { ARCA_PROJECT_ID: project.id } });
    assert.deepEqual(JSON.parse(r.stdout), { JWT_SECRET: prod.JWT_SECRET });
});

test('run passes the child exit status through', T, async () => {
    let r = await cli.arca(['run', '--env=prod', '--', 'sh', '-c', 'exit 42']);
    assert.equal(r.code, 42);
    r = await cli.arca(['run', '--env=prod', '--', 'sh', '-c', 'exit 0']);
    assert.equal(r.code, 0);
    r = await cli.arca(['run', '--env=prod', '--', 'sh', '-c', 'exit 1']);
    assert.equal(r.code, 1);
    r = await cli.arca(['run', '--env=prod', '--', 'sh', '-c', 'kill -KILL $$']);
    assert.equal(r.code, 137, 'killed by SIGKILL → 128+9');
    assert.equal(r.signal, null);
});

test('run: command not found → 127, not executable → 126', T, async () => {
    let r = await cli.arca(['run', '--env=prod', '--', 'arca-no-such-command-xyz']);
    assert.equal(r.code, 127, `stderr: ${r.stderr}`);
    const f = path.join(cli.cwd, 'not-executable.sh');
    await writeFile(f, '#!/bin/sh\necho hi\n');
    await chmod(f, 0o644);
    r = await cli.arca(['run', '--env=prod', '--', f]);
    assert.equal(r.code, 126, `stderr: ${r.stderr}`);
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']) {
    test(`run forwards ${sig} to the child`, T, async () => {
        const script = 'const s = process.argv[1];' +
            ' process.on(s, () => process.stdout.write("got " + s + "\\n", () => process.exit(7)));' +
            ' process.stdout.write("ready\\n"); setInterval(() => {}, 1000);';
        const child = cli.spawn(['run', '--env=prod', '--', NODE, '-e', script, sig]);
        await child.waitForStdout(/ready\n/);
        child.proc.kill(sig);
        const r = await child.done;
        assert.equal(r.stdout, `ready\ngot ${sig}\n`, `stderr: ${r.stderr}`);
        assert.equal(r.code, 7, 'the child exit status after handling the signal');
    });
}

for (const [sig, num] of [['SIGTERM', 15], ['SIGINT', 2]]) {
    test(`run: a child killed by a forwarded ${sig} → arca exits ${128 + num}`, T, async () => {
        const script = 'process.stdout.write("ready\\n"); setInterval(() => {}, 1000);';
        const child = cli.spawn(['run', '--env=prod', '--', NODE, '-e', script]);
        await child.waitForStdout(/ready\n/);
        child.proc.kill(sig);
        const r = await child.done;
        assert.equal(r.signal, null, 'arca itself exits, it is not killed');
        assert.equal(r.code, 128 + num, `stderr: ${r.stderr}`);
    });
}

test('export --format=dotenv is read back by the dotenv package and by sh', T, async () => {
    const r = await ok(['export', '--env=prod', '--format=dotenv']);
    assert.deepEqual(dotenv.parse(r.stdout), prod);
    const f = path.join(await tempDir(), 'prod.env');
    await writeFile(f, r.stdout);
    assert.deepEqual(await readWithSh(f, Object.keys(prod)), prod);
    const keys = lines(r.stdout).map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
        .filter((k) => k in prod);
    assert.deepEqual(keys, Object.keys(prod).sort(), 'sorted by key');
});

test('export --format=dotenv-export is read back by the dotenv package and by sh', T, async () => {
    const r = await ok(['export', '--env=prod', '--format=dotenv-export']);
    for (const k of Object.keys(prod))
        assert.match(r.stdout, new RegExp(`^export ${k}=`, 'm'), `${k} has the export prefix`);
    assert.deepEqual(dotenv.parse(r.stdout), prod);
    const f = path.join(await tempDir(), 'prod-export.env');
    await writeFile(f, r.stdout);
    assert.deepEqual(await readWithSh(f, Object.keys(prod)), prod);
});

test('export --format=json is an object sorted by key', T, async () => {
    const r = await ok(['export', '--env=prod', '--format=json']);
    const obj = JSON.parse(r.stdout);
    assert.deepEqual(obj, prod);
    assert.deepEqual(Object.keys(obj), Object.keys(prod).sort());
});

test('export --format=yaml is KEY: "json-escaped value" lines sorted by key', T, async () => {
    const r = await ok(['export', '--env=prod', '--format=yaml']);
    const got = [];
    for (const l of lines(r.stdout)) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*): (".*")$/.exec(l);
        assert.ok(m, `yaml line is KEY: "value": ${JSON.stringify(l)}`);
        got.push([m[1], JSON.parse(m[2])]);
    }
    assert.deepEqual(got, Object.entries(sorted(prod)));
});

test('export --format=csv is a key,value header then RFC 4180 rows', T, async () => {
    const r = await ok(['export', '--env=prod', '--format=csv']);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], ['key', 'value']);
    assert.deepEqual(rows.slice(1), Object.entries(sorted(prod)));
});

test('export --output-file writes a 0600 file atomically, replacing an existing one', T, async () => {
    const dir = await tempDir('arca-out-');
    const expected = (await ok(['export', '--env=prod', '--format=json'])).stdout;

    let r = await ok(['export', '--env=prod', '--format=json', '--output-file', 'out.json',
        '--project-id', project.id], { cwd: dir });
    for (const v of Object.values(prod))
        assert.ok(!r.stdout.includes(v), 'no value on stdout with --output-file');
    let st = await stat(path.join(dir, 'out.json'));
    assert.equal(st.mode & 0o777, 0o600, `mode ${(st.mode & 0o777).toString(8)}`);
    assert.equal(await readFile(path.join(dir, 'out.json'), 'utf8'), expected);

    const old = path.join(dir, 'old.env');
    await writeFile(old, 'STALE=1\n', { mode: 0o644 });
    await chmod(old, 0o644);
    r = await ok(['export', '--env=prod', '--format=dotenv', `--output-file=${old}`]);
    st = await stat(old);
    assert.equal(st.mode & 0o777, 0o600, `replaced file mode ${(st.mode & 0o777).toString(8)}`);
    assert.deepEqual(dotenv.parse(await readFile(old, 'utf8')), prod);
    assert.deepEqual((await readdir(dir)).sort(), ['old.env', 'out.json'], 'no temporary file left');
});

const DOTENV_FILE = `# an existing .env
export EXPORTED_KEY=from-export-prefix
PLAIN=plain value   # trailing comment
SINGLE_QUOTED='single $NOT_EXPANDED "inner" # not a comment'
DOUBLE_QUOTED="double with \\n newline escape"
BACKTICK=\`it's "both"\`
  SPACES_AROUND =   padded
URL=https://example.com/path?a=1&b=2
MULTI_LINE="-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIUQ
ZmFrZS1jZXJ0aWZpY2F0ZQ==
-----END CERTIFICATE-----"
`;

test('import .env moves an existing .env into dev, read back as dotenv parses it', T, async () => {
    const expected = dotenv.parse(DOTENV_FILE);
    const n = Object.keys(expected).length;
    assert.equal(n, 8);
    await writeFile(path.join(cli.cwd, '.env'), DOTENV_FILE);
    const r = await ok(['import', '.env', '--env=dev']);
    assert.equal(r.stdout, `imported ${n} secrets (${n} created, 0 updated, 0 unchanged)\n`);
    const e = await ok(['export', '--env=dev', '--format=json']);
    assert.deepEqual(JSON.parse(e.stdout), sorted(expected));
});

test('import again: unchanged keys make no new version; a changed key is updated', T, async () => {
    let r = await ok(['import', '.env', '--env=dev']);
    assert.equal(r.stdout, 'imported 8 secrets (0 created, 0 updated, 8 unchanged)\n');
    const changed = DOTENV_FILE.replace('PLAIN=plain value', 'PLAIN=new plain value') + 'ADDED=1\n';
    await writeFile(path.join(cli.cwd, 'changed.env'), changed);
    r = await ok(['import', 'changed.env', '--env=dev']);
    assert.equal(r.stdout, 'imported 9 secrets (1 created, 1 updated, 7 unchanged)\n');
    const arr = await listJson('dev');
    const byKey = Object.fromEntries(arr.map((s) => [s.key, s]));
    assert.equal(byKey.PLAIN.value, 'new plain value');
    assert.equal(byKey.PLAIN.version, 2);
    assert.equal(byKey.URL.version, 1);
    assert.deepEqual(asObject(arr), dotenv.parse(changed));
});

test('values with spaces, tabs, "=", unicode and a trailing newline round-trip exactly', T,
    async () => {
        const edge = {
            EDGE_PADDED: '  padded value  ',
            EDGE_TAB: 'a\tb',
            EDGE_EQUALS: 'a=b=c==',
            EDGE_EMOJI: 'naïve 🙂 ✓',
            EDGE_TRAILING_NL: 'line one\nline two\n',
            EDGE_DASH: '--not-a-flag',
        };
        await ok(['secrets', 'set', ...Object.entries(edge).map(([k, v]) => `${k}=${v}`), '--env',
            'staging']);
        const g = await ok(['secrets', 'get', ...Object.keys(edge), '--env', 'staging', '--format', 'json']);
        assert.deepEqual(asObject(JSON.parse(g.stdout)), edge);
        const r = await ok(['run', '--env', 'staging', '--', NODE, '-e', PRINT_ENV, ...Object.keys(edge)]);
        assert.deepEqual(JSON.parse(r.stdout), edge);
    });

test('an empty value (KEY= and an empty line in .env) round-trips', T, async () => {
    await ok(['secrets', 'set', 'EMPTY_SET=', '--env', 'staging']);
    await writeFile(path.join(cli.cwd, 'empty.env'), 'EMPTY_IMPORTED=\n');
    await ok(['import', 'empty.env', '--env', 'staging']);
    const g = await ok(['secrets', 'get', 'EMPTY_SET', 'EMPTY_IMPORTED', '--env', 'staging', '--format',
        'json']);
    assert.deepEqual(asObject(JSON.parse(g.stdout)), { EMPTY_SET: '', EMPTY_IMPORTED: '' });
});

test('--path /folder selects a folder for set, get, list, delete, run, export and import', T,
    async () => {
        let r = await ok(['secrets', 'set', 'API_TOKEN=folder-value', '--env=prod', '--path', '/backend']);
        assert.deepEqual(lines(r.stdout), ['API_TOKEN: created (version 1)']);
        await ok(['secrets', 'set', 'API_TOKEN=nested-value', '--env=prod', '--path=/backend/api']);

        r = await ok(['secrets', 'get', 'API_TOKEN', '--env=prod', '--path', '/backend', '--plain']);
        assert.equal(r.stdout, 'folder-value\n');
        r = await ok(['secrets', 'get', 'API_TOKEN', '--env=prod', '--path', '/backend/api', '--plain']);
        assert.equal(r.stdout, 'nested-value\n');
        r = await cli.arca(['secrets', 'get', 'API_TOKEN', '--env=prod', '--plain']);
        assert.equal(r.code, 4, 'the folder key is not at the root');

        assert.deepEqual(asObject(await listJson('prod', ['--path', '/backend'])),
            { API_TOKEN: 'folder-value' });
        assert.deepEqual(asObject(await listJson('prod')), prod, 'the root is unchanged');

        r = await ok(['run', '--env=prod', '--path', '/backend', '--', NODE, '-e', PRINT_ENV, 'API_TOKEN',
            'DATABASE_URL']);
        assert.deepEqual(JSON.parse(r.stdout), { API_TOKEN: 'folder-value', DATABASE_URL: null });

        r = await ok(['export', '--env=prod', '--path', '/backend/api', '--format=json']);
        assert.deepEqual(JSON.parse(r.stdout), { API_TOKEN: 'nested-value' });

        await writeFile(path.join(cli.cwd, 'folder.env'), 'FOLDER_A=1\nFOLDER_B="two words"\n');
        r = await ok(['import', 'folder.env', '--env=prod', '--path', '/imported']);
        assert.equal(r.stdout, 'imported 2 secrets (2 created, 0 updated, 0 unchanged)\n');
        assert.deepEqual(asObject(await listJson('prod', ['--path', '/imported'])),
            { FOLDER_A: '1', FOLDER_B: 'two words' });

        await ok(['secrets', 'delete', 'API_TOKEN', '--env=prod', '--path', '/backend/api']);
        assert.deepEqual(await listJson('prod', ['--path', '/backend/api']), []);
        assert.deepEqual(asObject(await listJson('prod', ['--path', '/backend'])),
            { API_TOKEN: 'folder-value' });
    });

test('the server stops gracefully on SIGTERM (exit code 0)', T, async () => {
    await srv.stop();
});
