// imports.test.mjs - folders and secret imports through the CLI, end to end
// encrypted: `arca folders list|create|delete`, `arca imports list|add|remove`,
// and `arca run`, `arca export`, `arca secrets list` with what a folder imports
// (its own secrets win; the import added last wins over earlier ones), nested
// imports, a cycle, recursive listing, and a member whose role cannot read an
// import's source.  Own server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { bootstrapAndLogin, createProject, inviteAndSignup, newCli, removeTempDirs,
    startServer } from './harness.mjs';

let server;
let cli;
let pid;

async function ok(args, c = cli) {
    const r = await c.arca(args);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

const set = (env, path, kv) => ok(['secrets', 'set', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`),
    '--env', env, '--path', path, ...pid]);
const exportJson = async (env, path = '/', extra = [], c = cli) =>
    JSON.parse((await ok(['export', '--env', env, '--path', path, '--format', 'json', ...pid, ...extra], c)).stdout);
const importsOf = async (env, path = '/') =>
    JSON.parse((await ok(['imports', 'list', '--env', env, '--path', path, '--format', 'json', ...pid])).stdout);
const addImport = async (env, path, from, c = cli) =>
    (await ok(['imports', 'add', '--from', from, '--env', env, '--path', path, ...pid], c)).stdout.trim();

before(async () => {
    server = await startServer();
    cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'imports');
    pid = ['--project-id', p.id];
});

after(async () => {
    await server?.stop();
    await removeTempDirs();
});

test('folders: create (with parents), list, recursive list, delete tombstones with history kept', async () => {
    let r = await ok(['folders', 'create', 'api', '--env', 'dev', '--path', '/svc/backend', ...pid]);
    assert.equal(r.stdout, '/svc/backend/api\n');
    await set('dev', '/svc/backend', { DB: 'postgres://x' });
    await set('dev', '/web', { CDN: 'https://cdn' });

    r = await ok(['folders', 'list', '--env', 'dev', ...pid]);
    assert.deepEqual(r.stdout.trim().split('\n'), ['/svc', '/web']);
    r = await ok(['folders', 'list', '--env', 'dev', '--recursive', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout).map((f) => f.path), ['/svc', '/svc/backend', '/svc/backend/api', '/web']);

    r = await cli.arca(['folders', 'create', '../x', '--env', 'dev', ...pid]);
    assert.notEqual(r.code, 0);

    await ok(['folders', 'delete', '/svc', '--env', 'dev', '--yes', ...pid]);
    r = await ok(['folders', 'list', '--env', 'dev', '--recursive', ...pid]);
    assert.deepEqual(r.stdout.trim().split('\n'), ['/web']);
    assert.deepEqual(await exportJson('dev', '/svc/backend'), {});
    const h = JSON.parse((await ok(['secrets', 'history', 'DB', '--env', 'dev', '--path', '/svc/backend',
        '--format', 'json', '--show-values', ...pid])).stdout);
    const versions = Array.isArray(h) ? h : h.versions;
    assert.equal(versions.length, 2, 'the value and its deletion');
    assert.equal(versions[0].value, null);
    assert.equal(versions[1].value, 'postgres://x');
});

test('imports: own value wins, the last import wins, --no-imports, nested, remove', async () => {
    await set('staging', '/', { SHARED: 'from-staging', ONLY_STAGING: 's' });
    await set('dev', '/common', { SHARED: 'from-common', ONLY_COMMON: 'c', NESTED_SRC: 'n' });
    await set('prod', '/', { OWN: 'prod', SHARED_OWN: 'prod-own' });
    await set('staging', '/', { SHARED_OWN: 'staging' });

    const first = await addImport('prod', '/', 'dev:/common');
    const second = await addImport('prod', '/', 'staging:/');
    let list = await importsOf('prod');
    assert.deepEqual(list.map((i) => [i.environment, i.path, i.position]), [['dev', '/common', 1], ['staging', '/', 2]]);
    assert.deepEqual(list.map((i) => i.id), [first, second]);

    let env = await exportJson('prod');
    assert.deepEqual(env, { OWN: 'prod', SHARED_OWN: 'prod-own', SHARED: 'from-staging', ONLY_STAGING: 's',
        ONLY_COMMON: 'c', NESTED_SRC: 'n' });
    assert.deepEqual(await exportJson('prod', '/', ['--no-imports']), { OWN: 'prod', SHARED_OWN: 'prod-own' });

    let r = await ok(['run', '--env', 'prod', ...pid, '--', 'sh', '-c', 'printf "%s|%s|%s" "$SHARED" "$SHARED_OWN" "$ONLY_COMMON"']);
    assert.equal(r.stdout, 'from-staging|prod-own|c');
    r = await ok(['secrets', 'list', '--env', 'prod', '--format', 'json', ...pid]);
    const shared = JSON.parse(r.stdout).find((s) => s.key === 'SHARED');
    assert.deepEqual([shared.environment, shared.path], ['staging', '/']);

    /* nested: staging:/ imports dev:/deep, seen through prod's import of staging */
    await set('dev', '/deep', { DEEP: 'deep', ONLY_STAGING: 'hidden by staging' });
    await addImport('staging', '/', 'dev:/deep');
    env = await exportJson('prod');
    assert.equal(env.DEEP, 'deep');
    assert.equal(env.ONLY_STAGING, 's', "the imported folder's own secret wins over its import");

    r = await cli.arca(['imports', 'add', '--from', 'staging:/', '--env', 'prod', ...pid]);
    assert.notEqual(r.code, 0, 'the same import twice is refused');

    await ok(['imports', 'remove', second, ...pid]);
    list = await importsOf('prod');
    assert.deepEqual(list.map((i) => [i.id, i.position]), [[first, 1]]);
    assert.equal((await exportJson('prod')).SHARED, 'from-common');
});

test('a cycle of imports terminates; recursive list shows sub-folders with their paths', async () => {
    await set('dev', '/a', { A: 'a' });
    await set('dev', '/b', { B: 'b' });
    await addImport('dev', '/a', 'dev:/b');
    await addImport('dev', '/b', 'dev:/a');
    assert.deepEqual(await exportJson('dev', '/a'), { A: 'a', B: 'b' });
    assert.deepEqual(await exportJson('dev', '/b'), { A: 'a', B: 'b' });

    await set('dev', '/a/x/y', { Y: 'y' });
    const r = await ok(['secrets', 'list', '--env', 'dev', '--path', '/a', '--recursive', '--no-imports',
        '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout).map((s) => [s.key, s.path, s.value]), [['A', '/a', 'a'], ['Y', '/a/x/y', 'y']]);
});

test('a member whose role cannot read the source gets no imported secrets and cannot add the import', async () => {
    await ok(['roles', 'create', 'prod-only', ...pid, '--allow', 'secrets:read,create,edit,delete:prod:/**',
        '--allow', 'folders:*:prod:/**']);
    const bob = await inviteAndSignup(cli, server, 'bob@example.com');
    await ok(['members', 'add', 'bob@example.com', '--role', 'prod-only', ...pid]);

    const env = await exportJson('prod', '/', [], bob.cli);
    assert.deepEqual(env, { OWN: 'prod', SHARED_OWN: 'prod-own' }, 'dev:/common stays out');
    const r = await bob.cli.arca(['imports', 'add', '--from', 'dev:/', '--env', 'prod', '--path', '/x', ...pid]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /permission|not allowed|denied/i);
    assert.deepEqual(await importsOf('prod', '/x'), []);
});
