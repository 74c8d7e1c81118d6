// cli_safety.test.mjs - nothing destroys data by surprise (issue 14): every
// command that deletes or replaces several secrets (secrets rollback --to,
// folders delete, environments remove, import over existing values, projects
// rotate-key) shows its plan, asks on a terminal, needs --yes otherwise, and
// changes nothing with --dry-run; a rollback time in the future is refused and
// a relative one is said in words; `arca backup` of a store that does not exist
// fails without creating one; `arca run` keeps the child's PATH, HOME, LD_* ...

import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    ARCA_BIN, REPO_ROOT, assertErrorOutput, bootstrapAndLogin, createProject, newCli,
    readToken, removeTempDirs, serviceTokenIn, startServer, tempDir,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let pid;

async function ok(args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function values(env, p = '/') {
    const r = await ok(['secrets', 'list', '--env', env, '--path', p, ...pid, '--format', 'json']);
    return Object.fromEntries(JSON.parse(r.stdout).map((s) => [s.key, s.value]));
}

const isoSeconds = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

let beforeProd; /* a time before prod held any secret */

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    await bootstrapAndLogin(cli);
    pid = ['--project-id', (await createProject(cli, 'safety')).id];
    beforeProd = isoSeconds(Date.now() - 5000);
    await ok(['secrets', 'set', 'DB=postgres://db', 'API_KEY=k1', 'MODE=live', '--env', 'prod', ...pid]);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

const PROD = { DB: 'postgres://db', API_KEY: 'k1', MODE: 'live' };

test('rollback --to before the secrets existed: refused without a terminal or --yes', T, async () => {
    const r = await cli.arca(['secrets', 'rollback', '--to', beforeProd, '--env', 'prod', ...pid]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /deleted\s+API_KEY/, 'the plan names what would be deleted');
    assert.match(r.stderr, /delete 3 secrets/);
    assert.match(r.stderr, /arca: hint: pass --yes/);
    assert.deepEqual(await values('prod'), PROD, 'nothing was deleted');
});

test('rollback --dry-run prints the plan on stdout and changes nothing', T, async () => {
    const r = await ok(['secrets', 'rollback', '--to', beforeProd, '--env', 'prod', '--dry-run', ...pid]);
    assert.match(r.stdout, /deleted\s+DB \(now version 1\)/);
    assert.match(r.stderr, /dry run: nothing was changed/);
    const j = await ok(['secrets', 'rollback', '--to', beforeProd, '--env', 'prod', '--dry-run',
        '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(j.stdout).map((x) => [x.key, x.action]).sort(),
        [['API_KEY', 'deleted'], ['DB', 'deleted'], ['MODE', 'deleted']]);
    assert.deepEqual(await values('prod'), PROD);
});

test('rollback on a terminal asks; anything but y cancels', T, async () => {
    const no = await cli.pty(['secrets', 'rollback', '--to', beforeProd, '--env', 'prod', ...pid],
        { input: 'n\n' });
    assert.equal(no.code, 1, no.stdout);
    assert.match(no.stdout, /Roll back\? \[y\/N\]/);
    assert.match(no.stdout, /cancelled: nothing was changed/);
    assert.deepEqual(await values('prod'), PROD);
});

test('a rollback time in the future is refused; a relative one is said in words', T, async () => {
    const future = isoSeconds(Date.now() + 3600 * 1000);
    const r = await cli.arca(['secrets', 'rollback', '--to', future, '--env', 'prod', '--yes', ...pid]);
    assertErrorOutput(r, 2, { hint: /past time/ });
    assert.match(r.stderr, /is in the future/);
    assert.deepEqual(await values('prod'), PROD);
    const rel = await ok(['secrets', 'rollback', '--to', '1m', '--env', 'prod', '--dry-run', ...pid]);
    assert.match(rel.stderr, /--to 1m: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(1 minute ago\)/);
    const bad = await cli.arca(['secrets', 'rollback', '--to', 'yesterday', '--env', 'prod', ...pid]);
    assertErrorOutput(bad, 2, { hint: /duration ago/ });
});

test('the server refuses a future rollback time too', T, async () => {
    const token = await readToken(cli);
    const res = await fetch(`${srv.url}/api/arca/v1/projects/${pid[1]}/secrets/rollback`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ environment: 'prod', secretPath: '/',
            to: isoSeconds(Date.now() + 3600 * 1000) }) });
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /in the future/);
});

test('the README rollback example cannot destroy data when pasted', T, async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n').filter((l) => /^arca secrets rollback .*--to/.test(l));
    assert.ok(lines.length > 0, 'the README shows a rollback --to');
    for (const line of lines) {
        const args = line.replace(/#.*/, '').trim().split(/\s+/).slice(1)
            .map((a) => (/^--to=/.test(a) ? `--to=${beforeProd}` : a));
        const i = args.indexOf('--to');
        if (i >= 0)
            args[i + 1] = beforeProd;
        await cli.arca([...args, ...pid]);
        assert.deepEqual(await values('prod'), PROD, `README: ${line}`);
    }
});

test('rollback --yes, and on a terminal with y, goes ahead', T, async () => {
    await ok(['secrets', 'set', 'TMP1=a', 'TMP2=b', '--env', 'staging', ...pid]);
    const t = isoSeconds(Date.now() - 1000);
    await new Promise((r) => setTimeout(r, 1100));
    await ok(['secrets', 'set', 'TMP3=c', 'TMP4=d', '--env', 'staging', ...pid]);
    const y = await cli.pty(['secrets', 'rollback', '--to', t, '--env', 'staging', ...pid],
        { input: 'y\n' });
    assert.equal(y.code, 0, y.stdout);
    assert.deepEqual(Object.keys(await values('staging')).sort(), []);
    await ok(['secrets', 'set', 'TMP5=e', 'TMP6=f', '--env', 'dev', ...pid]);
    const r = await ok(['secrets', 'rollback', '--to', beforeProd, '--env', 'dev', '--yes', ...pid]);
    assert.match(r.stdout, /TMP5: deleted/);
    assert.deepEqual(await values('dev'), {});
});

test('folders delete shows what it deletes and needs --yes', T, async () => {
    await ok(['secrets', 'set', 'A=1', 'B=2', '--env', 'dev', '--path', '/app/api', ...pid]);
    const r = await cli.arca(['folders', 'delete', '/app', '--env', 'dev', ...pid]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /delete \/app\/api\/A/);
    assert.match(r.stderr, /deletes 2 secrets/);
    const d = await ok(['folders', 'delete', '/app', '--env', 'dev', '--dry-run', ...pid]);
    assert.match(d.stdout, /delete \/app\/api\/B/);
    assert.deepEqual(await values('dev', '/app/api'), { A: '1', B: '2' });
    await ok(['folders', 'delete', '/app', '--env', 'dev', '--yes', ...pid]);
    assert.deepEqual(await values('dev', '/app/api'), {});
});

test('environments remove needs --yes', T, async () => {
    await ok(['environments', 'add', 'scratch', ...pid]);
    const r = await cli.arca(['environments', 'remove', 'scratch', ...pid]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /removing environment 'scratch'/);
    assert.match(r.stderr, /arca: hint: pass --yes/);
    await ok(['environments', 'remove', 'scratch', '--dry-run', ...pid]);
    const l = await ok(['environments', 'list', ...pid, '--format', 'json']);
    assert.ok(JSON.parse(l.stdout).some((e) => e.slug === 'scratch'));
    await ok(['environments', 'remove', 'scratch', '--yes', ...pid]);
});

test('projects rotate-key names the service tokens it revokes and needs --yes', T, async () => {
    const t = await ok(['service-token', 'create', '--name', 'ci', '--env', 'prod', ...pid]);
    const token = serviceTokenIn(t.stdout);
    const r = await cli.arca(['projects', 'rotate-key', ...pid]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /revoke service token \S+ \(ci\)/);
    const still = await cli.arca(['secrets', 'get', 'DB', '--env', 'prod', '--plain'],
        { env: { ARCA_TOKEN: token } });
    assert.equal(still.code, 0, 'the service token still works: nothing was rotated');
    await ok(['projects', 'rotate-key', '--yes', ...pid]);
    const revoked = await cli.arca(['secrets', 'get', 'DB', '--env', 'prod', '--plain'],
        { env: { ARCA_TOKEN: token } });
    assert.equal(revoked.code, 3);
});

test('import that replaces several existing values asks; new keys do not', T, async () => {
    await ok(['secrets', 'set', 'I1=old', 'I2=old', '--env', 'dev', '--path', '/imp', ...pid]);
    await writeFile(path.join(cli.cwd, 'new.env'), 'I3=x\nI4=y\n');
    await ok(['import', 'new.env', '--env', 'dev', '--path', '/imp', ...pid]);
    await writeFile(path.join(cli.cwd, 'over.env'), 'I1=new\nI2=new\n');
    const r = await cli.arca(['import', 'over.env', '--env', 'dev', '--path', '/imp', ...pid]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /replace I1/);
    assert.equal((await values('dev', '/imp')).I1, 'old');
    const d = await ok(['import', 'over.env', '--env', 'dev', '--path', '/imp', '--dry-run', ...pid]);
    assert.match(d.stdout, /replaces the value of 2/);
    await ok(['import', 'over.env', '--env', 'dev', '--path', '/imp', '--yes', ...pid]);
    assert.equal((await values('dev', '/imp')).I2, 'new');
});

test('backup of a store that does not exist fails and creates nothing', T, async () => {
    const dir = await tempDir('arca-nostore-');
    const r = await cli.arca(['backup', '--output', path.join(dir, 'b.jsonl')], { cwd: dir });
    assertErrorOutput(r, 4, { hint: /--data-dir/ });
    assert.match(r.stderr, /no arca store in '\.\/arca-data'/);
    await assert.rejects(access(path.join(dir, 'arca-data')), 'no ./arca-data was created');
    await assert.rejects(access(path.join(dir, 'b.jsonl')));
    const k = await cli.arca(['server', 'rotate-root-key'], { cwd: dir });
    assertErrorOutput(k, 4, { hint: /--data-dir/ });
    assert.match(k.stderr, /no arca store in/);
    await assert.rejects(access(path.join(dir, 'arca-data')), 'rotate-root-key made no store either');
});

test('arca run keeps PATH, HOME and LD_PRELOAD of the child, with a warning', T, async () => {
    await ok(['secrets', 'set', 'PATH=/nowhere', 'HOME=/nohome', 'LD_PRELOAD=/evil.so', 'OK_VAR=1',
        '--env', 'dev', '--path', '/run', ...pid]);
    const r = await ok(['run', '--env', 'dev', '--path', '/run', ...pid, '--', 'sh', '-c',
        'echo "$PATH|$HOME|${LD_PRELOAD-unset}|$OK_VAR"']);
    assert.equal(r.stdout, `${process.env.PATH}|${cli.home}|unset|1\n`);
    for (const k of ['PATH', 'HOME', 'LD_PRELOAD'])
        assert.match(r.stderr, new RegExp(`warning: secret '${k}' left out`));
    assert.ok(ARCA_BIN);
});

test('projects delete shows what goes, asks for the slug on a terminal, needs --yes elsewhere', T, async () => {
    const p = await createProject(cli, 'doomed');
    await ok(['secrets', 'set', 'GONE=1', '--env', 'prod', '--project-id', p.id]);
    const r = await cli.arca(['projects', 'delete', p.slug]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /deleting project 'doomed'.*deletes, for good/);
    assert.match(r.stderr, /environment prod with every secret and its history/);
    const dry = await ok(['projects', 'delete', p.slug, '--dry-run']);
    assert.match(dry.stdout, /environment dev/);
    const y = await cli.pty(['projects', 'delete', p.slug], { input: 'y\n' });
    assert.equal(y.code, 1, 'a plain y is not the slug');
    assert.match(y.stdout, /Type 'doomed' to go ahead/);
    let l = JSON.parse((await ok(['projects', 'list', '--format', 'json'])).stdout);
    assert.ok(l.some((x) => x.id === p.id), 'still there');
    const typed = await cli.pty(['projects', 'delete', p.slug], { input: `${p.slug}\n` });
    assert.equal(typed.code, 0, typed.stdout);
    l = JSON.parse((await ok(['projects', 'list', '--format', 'json'])).stdout);
    assert.ok(!l.some((x) => x.id === p.id), 'deleted');
    assert.equal((await cli.arca(['secrets', 'list', '--env', 'prod', '--project-id', p.id])).code, 4);
    const other = await createProject(cli, 'doomed-too');
    await ok(['projects', 'delete', other.id, '--yes']);
    const a = JSON.parse((await ok(['audit-logs', 'list', '--event', 'project.delete', '--format', 'json']))
        .stdout);
    assert.equal(a.length, 2);
});
