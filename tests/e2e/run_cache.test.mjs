// run_cache.test.mjs - `arca run` and `arca export` keep working from the local
// encrypted cache when the server is down, and only then.
//
// One server: a user and two service tokens run once while it is up (each
// writes its cache entry); a revoked token's next run is refused and its entry
// deleted; then the server stops and the same runs give the child the same
// environment from the cache, with a notice on stderr that names no value.
// --no-cache / ARCA_NO_CACHE turn it off; a tampered, truncated or foreign
// entry is refused; the files are 0600 in a 0700 directory and hold no value
// in plain text.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, newCli, bootstrapAndLogin, createProject, removeTempDirs,
    serviceTokenIn } from './harness.mjs';

after(removeTempDirs);

const VALUES = { DB_PASSWORD: 'pw-7f3a9c1e-offline-check', API_KEY: 'key-5b2d8e40-offline-check' };
/* the child prints what it got; a reference is expanded (the cache serves that fetch too) */
const SHOW = ['sh', '-c', 'printf "%s|%s|%s" "$DB_PASSWORD" "$API_KEY" "$URL"'];
const EXPECTED = `${VALUES.DB_PASSWORD}|${VALUES.API_KEY}|https://u:${VALUES.DB_PASSWORD}@db`;
const NOTICE = /^arca: server unreachable \(connection refused\); using secrets cached at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(age \d+s\)$/m;

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
    return r;
}

function assertNoValue(text, what) {
    for (const v of Object.values(VALUES))
        assert.ok(!text.includes(v), `${what} shows a secret value`);
}

test('arca run falls back to the encrypted cache only when the server is down', async () => {
    const server = await startServer();
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'offline');
    const pid = ['--project-id', p.id];
    await ok(cli, ['secrets', 'set', `DB_PASSWORD=${VALUES.DB_PASSWORD}`,
        `API_KEY=${VALUES.API_KEY}`, 'URL=https://u:${DB_PASSWORD}@db', '--env=prod', ...pid]);
    await ok(cli, ['secrets', 'set', 'ONLY=staging', '--env=staging', ...pid]);
    const cacheDir = path.join(cli.home, '.cache', 'arca');
    const entries = async () => (await readdir(cacheDir)).sort();
    const token = async (name) => serviceTokenIn((await ok(cli, ['service-token', 'create',
        '--name', name, '--env=prod', ...pid, '--format', 'json'])).stdout);

    /* online: the server answers, nothing is said about a cache, the entry is written */
    let r = await ok(cli, ['run', '--env=prod', ...pid, '--', ...SHOW]);
    assert.equal(r.stdout, EXPECTED);
    assert.equal(r.stderr, '');
    const userEntries = await entries();
    assert.equal(userEntries.length, 1, 'one entry for the user');
    r = await ok(cli, ['run', '--env=staging', ...pid, '--no-cache', '--', 'true']);
    assert.deepEqual(await entries(), userEntries, '--no-cache writes nothing');
    r = await ok(cli, ['run', '--env=staging', ...pid, '--', 'true'], { env: { ARCA_NO_CACHE: '1' } });
    assert.deepEqual(await entries(), userEntries, 'ARCA_NO_CACHE=1 writes nothing');

    /* the entry's project key spares a round trip; after a key rotation it no
     * longer opens the records, and the run asks the server for the new one */
    await ok(cli, ['projects', 'rotate-key', '--yes', ...pid]);
    r = await ok(cli, ['run', '--env=prod', ...pid, '--', ...SHOW]);
    assert.equal(r.stdout, EXPECTED, 'the run after a key rotation');
    assert.equal(r.stderr, '');
    assert.deepEqual(await entries(), userEntries, 'the same entry, rewritten');

    /* a service token has its own entry, sealed under its key part */
    const st = await token('ci');
    r = await ok(cli, ['run', '--env=prod', '--', ...SHOW], { env: { ARCA_TOKEN: st } });
    assert.equal(r.stdout, EXPECTED);
    const withToken = await entries();
    assert.equal(withToken.length, 2);

    /* revoked: the server says 401, the run fails, and the entry is deleted */
    const st2 = await token('revoked-soon');
    await ok(cli, ['run', '--env=prod', '--', 'true'], { env: { ARCA_TOKEN: st2 } });
    const withSecond = await entries();
    assert.equal(withSecond.length, 3);
    const secondEntry = withSecond.find((e) => !withToken.includes(e));
    const list = JSON.parse((await ok(cli, ['service-token', 'list', ...pid, '--format', 'json']))
        .stdout);
    const id = list.find((t) => t.name === 'revoked-soon').id;
    await ok(cli, ['service-token', 'revoke', id, ...pid]);
    r = await cli.arca(['run', '--env=prod', '--', ...SHOW], { env: { ARCA_TOKEN: st2 } });
    assert.equal(r.code, 3, `a revoked token is refused: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.ok(!(await entries()).includes(secondEntry), 'the revoked token\'s entry is deleted');
    assert.deepEqual(await entries(), withToken);

    /* the files: 0700 directory, 0600 entries, no value in plain text */
    assert.equal((await stat(cacheDir)).mode & 0o777, 0o700);
    for (const e of await entries()) {
        const file = path.join(cacheDir, e);
        assert.equal((await stat(file)).mode & 0o777, 0o600, `${e} is 0600`);
        const bytes = await readFile(file);
        assertNoValue(bytes.toString('latin1'), `cache entry ${e}`);
        assert.ok(!bytes.includes('DB_PASSWORD'), 'even the names are sealed');
    }

    await server.stop();

    /* server down: the same environment from the cache, and the notice */
    r = await ok(cli, ['run', '--env=prod', ...pid, '--', ...SHOW]);
    assert.equal(r.stdout, EXPECTED);
    assert.match(r.stderr, NOTICE);
    assertNoValue(r.stderr, 'the notice');
    r = await ok(cli, ['export', '--env=prod', ...pid, '--format', 'json']);
    assert.equal(JSON.parse(r.stdout).API_KEY, VALUES.API_KEY, 'export reads the same entry');
    assert.match(r.stderr, NOTICE);
    r = await ok(cli, ['run', '--env=prod', '--', ...SHOW], { env: { ARCA_TOKEN: st } });
    assert.equal(r.stdout, EXPECTED, 'a service token works offline too');
    assert.match(r.stderr, NOTICE);
    r = await cli.arca(['run', '--env=prod', '--', 'true'], { env: { ARCA_TOKEN: st2 } });
    assert.equal(r.code, 6, 'the revoked token has no entry left');

    /* off, or nothing cached for that scope: the usual unreachable error */
    for (const [args, env] of [[['--no-cache'], {}], [[], { ARCA_NO_CACHE: '1' }],
        [['--env=staging'], {}], [['--no-overrides'], {}]]) {
        r = await cli.arca(['run', '--env=prod', ...pid, ...args, '--', ...SHOW], { env });
        assert.equal(r.code, 6, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
        assert.match(r.stderr, /cannot reach the arca server/);
        assert.doesNotMatch(r.stderr, /cached/);
        assert.equal(r.stdout, '');
    }

    /* tampered, truncated or foreign: refused, never used */
    const userFile = path.join(cacheDir, userEntries[0]);
    const tokenFile = path.join(cacheDir, withToken.find((e) => e !== userEntries[0]));
    const good = await readFile(userFile);
    const flipped = Buffer.from(good);
    flipped[good.length - 20] ^= 0x01;
    const foreign = path.join(cacheDir, 'foreign');
    await copyFile(tokenFile, foreign);
    for (const [what, write] of [
        ['one flipped bit', () => writeFile(userFile, flipped)],
        ['truncated', () => writeFile(userFile, good.subarray(0, good.length - 100))],
        ['empty', () => writeFile(userFile, '')],
        ['another principal\'s entry', () => rename(foreign, userFile)],
    ]) {
        await write();
        r = await cli.arca(['run', '--env=prod', ...pid, '--', ...SHOW]);
        assert.notEqual(r.code, 0, `${what}: refused`);
        assert.equal(r.stdout, '', `${what}: the child never ran`);
        assert.match(r.stderr, /failed authentication: it is damaged, truncated or not yours/,
            what);
        assertNoValue(r.stderr, what);
    }
    await writeFile(userFile, good, { mode: 0o600 });
    r = await ok(cli, ['run', '--env=prod', ...pid, '--', ...SHOW]);
    assert.equal(r.stdout, EXPECTED, 'the intact entry works again');
});
