// errors.test.mjs - the refusal paths.  The CLI: one error line (plus a hint),
// the documented exit code, nothing half-written.  The HTTP API: every bad
// request gets a 4xx JSON error {statusCode, error, message, reqId} and the
// server stays up.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { access, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    assertApiError, assertErrorOutput, bootstrapAndLogin, closedPort, createProject, newCli,
    randomPassword, rawRequest, readToken, removeTempDirs, startServer, tempDir,
} from './harness.mjs';

const T = { timeout: 180000 };
const MiB = 1024 * 1024;

let srv;
let cli; /* logged in, cwd has .arca.json */
let anon; /* never logged in */
let admin;
let project;
let token;

async function exists(p) {
    try {
        await access(p);
        return true;
    } catch {
        return false;
    }
}

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

async function keysIn(env, p = '/') {
    const r = await ok(cli, ['secrets', 'list', '--env', env, '--path', p, '--format', 'json']);
    return JSON.parse(r.stdout).map((s) => s.key);
}

async function api(method, route, { auth = true, body, headers = {} } = {}) {
    const h = { ...headers };
    if (auth === true)
        h.Authorization = `Bearer ${token}`;
    else if (typeof auth === 'string')
        h.Authorization = auth;
    let payload;
    if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        h['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(srv.url + route, { method, headers: h, body: payload,
        signal: AbortSignal.timeout(60000) });
    return { status: res.status, headers: res.headers, text: await res.text() };
}

function expectError(res, status, error) {
    assert.match(res.headers.get?.('content-type') ?? res.headers['content-type'] ?? '',
        /^application\/json/, 'errors are JSON');
    return assertApiError(res, status, error, res.text);
}

const secretsRoute = (query) => `/api/arca/v1/projects/${project.id}/secrets?${query}`;
const batchRoute = () => `/api/arca/v1/projects/${project.id}/secrets/batch`;
const fakeCiphertext = (n = 64) => randomBytes(n).toString('base64');

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    anon = await newCli(srv);
    admin = await bootstrapAndLogin(cli);
    project = await createProject(cli, 'errors');
    await ok(cli, ['init', '--project-id', project.id]);
    await ok(cli, ['secrets', 'set', 'EXISTING=1', '--env', 'dev']);
    token = await readToken(cli);
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

/* ---- the CLI ----------------------------------------------------------- */

test('wrong password: exit 3, one error line, no session saved', T, async () => {
    const c = await newCli(srv);
    const r = await c.arca(['login', '--email', admin.email, '--password-stdin'],
        { input: admin.password + 'x\n' });
    assertErrorOutput(r, 3);
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes(admin.password), 'the password is not echoed');
    assert.ok(!(await exists(path.join(c.configDir, 'credentials.json'))), 'no credentials written');

    const u = await c.arca(['login', '--email', 'nobody@example.com', '--password-stdin'],
        { input: admin.password + '\n' });
    assertErrorOutput(u, 3);
    assert.equal(u.stderr, r.stderr, 'unknown e-mail and wrong password look the same');
});

test('bootstrap a second time: exit 7, the first administrator still logs in', T, async () => {
    const c = await newCli(srv);
    const r = await c.arca(['bootstrap', '--email', 'other@example.com', '--password-stdin',
        '--organization', 'evil'], { input: randomPassword() + '\n' });
    assertErrorOutput(r, 7);
    await ok(c, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
});

test('unknown project id: exit 4', T, async () => {
    const id = randomUUID();
    for (const args of [['secrets', 'list'], ['secrets', 'set', 'A=1'], ['export'], ['run']]) {
        const r = await cli.arca([...args, '--project-id', id, ...(args[0] === 'run' ? ['--', 'true'] : [])]);
        assertErrorOutput(r, 4);
        assert.equal(r.stdout, '');
    }
});

test('unknown environment: exit 4, nothing written', T, async () => {
    for (const args of [['secrets', 'list'], ['secrets', 'get', 'EXISTING'], ['secrets', 'set', 'A=1'],
        ['secrets', 'delete', 'EXISTING'], ['export'], ['run']]) {
        const r = await cli.arca([...args, '--env', 'qa', ...(args[0] === 'run' ? ['--', 'true'] : [])]);
        assertErrorOutput(r, 4);
        assert.equal(r.stdout, '');
    }
    assert.deepEqual(await keysIn('dev'), ['EXISTING']);
});

test('missing .arca.json: exit 4 with a hint to run arca init', T, async () => {
    const dir = await tempDir('arca-noproject-');
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d))
        assert.ok(!(await exists(path.join(d, '.arca.json'))), `precondition: no ${d}/.arca.json`);
    for (const args of [['secrets', 'list'], ['secrets', 'set', 'A=1'], ['export'], ['run', '--', 'true'],
        ['import', '.env']]) {
        await writeFile(path.join(dir, '.env'), 'A=1\n');
        const r = await cli.arca(args, { cwd: dir });
        assertErrorOutput(r, 4, { hint: /arca init/ });
    }
});

test('invalid key names: exit 5 and nothing written', T, async () => {
    for (const args of [['1BAD=x'], ['BAD-KEY=x'], ['GOOD_ONE=1', 'BAD-KEY=2'], ['1BAD', 'value'],
        [`${'K'.repeat(256)}=x`]]) {
        const r = await cli.arca(['secrets', 'set', ...args, '--env', 'dev']);
        assertErrorOutput(r, 5);
    }
    for (const k of ['1BAD', 'BAD-KEY']) {
        const r = await cli.arca(['secrets', 'get', k, '--env', 'dev']);
        assertErrorOutput(r, 5);
    }
    assert.deepEqual(await keysIn('dev'), ['EXISTING'], 'no key was written');
    await ok(cli, ['secrets', 'set', `${'K'.repeat(255)}=x`, '--env', 'staging']);
    assert.deepEqual(await keysIn('staging'), ['K'.repeat(255)], 'a 255-byte key is valid');
});

test('import with an invalid key aborts before anything is written (exit 5)', T, async () => {
    await writeFile(path.join(cli.cwd, 'bad.env'), 'GOOD_IMPORT=1\nBAD-KEY=2\nALSO_GOOD=3\n');
    const r = await cli.arca(['import', 'bad.env', '--env', 'dev']);
    assertErrorOutput(r, 5);
    assert.deepEqual(await keysIn('dev'), ['EXISTING']);
    const m = await cli.arca(['import', 'no-such-file.env', '--env', 'dev']);
    assert.notEqual(m.code, 0);
    assertErrorOutput(m, m.code);
});

test('a value over 64 KiB: exit 5, nothing written; exactly 64 KiB is accepted', T, async () => {
    await ok(cli, ['secrets', 'set', `MAX_VALUE=${'v'.repeat(65536)}`, '--env', 'dev']);
    await writeFile(path.join(cli.cwd, 'big.txt'), 'v'.repeat(65537));
    let r = await cli.arca(['secrets', 'set', 'TOO_BIG=@big.txt', 'SMALL=1', '--env', 'dev']);
    assertErrorOutput(r, 5);
    r = await cli.arca(['secrets', 'set', `TOO_BIG=${'v'.repeat(65537)}`, '--env', 'dev']);
    assertErrorOutput(r, 5);
    assert.deepEqual(await keysIn('dev'), ['EXISTING', 'MAX_VALUE']);
    const g = await ok(cli, ['secrets', 'get', 'MAX_VALUE', '--env', 'dev', '--plain']);
    assert.equal(g.stdout, 'v'.repeat(65536) + '\n');
    await ok(cli, ['secrets', 'delete', 'MAX_VALUE', '--env', 'dev']);
});

test('an import whose request would exceed the 2 MiB body limit: one error line, nothing written', T,
    async () => {
        const lines = Array.from({ length: 40 }, (_, i) => `BULK_${i}=${'b'.repeat(60 * 1024)}`);
        await writeFile(path.join(cli.cwd, 'bulk.env'), lines.join('\n') + '\n');
        const r = await cli.arca(['import', 'bulk.env', '--env', 'dev']);
        assert.notEqual(r.code, 0, 'the import fails');
        assertErrorOutput(r, r.code);
        assert.deepEqual(await keysIn('dev'), ['EXISTING'], 'nothing was written');
    });

test('an invalid --path: exit 5', T, async () => {
    const deep = '/' + Array.from({ length: 33 }, (_, i) => `s${i}`).join('/');
    for (const p of ['/a/../b', '/..', '../x', '/a b', deep]) {
        const r = await cli.arca(['secrets', 'set', 'A=1', '--env', 'dev', '--path', p]);
        assertErrorOutput(r, 5);
    }
    const r = await cli.arca(['secrets', 'list', '--env', 'dev', '--path', '/../etc']);
    assertErrorOutput(r, 5);
});

test('a missing secret: get and delete exit 4, nothing printed', T, async () => {
    let r = await cli.arca(['secrets', 'get', 'NOPE', '--env', 'dev', '--plain']);
    assertErrorOutput(r, 4);
    assert.equal(r.stdout, '');
    r = await cli.arca(['secrets', 'get', 'EXISTING', 'NOPE', '--env', 'dev', '--plain']);
    assertErrorOutput(r, 4);
    assert.equal(r.stdout, '', 'nothing printed, not even the key that exists');
    r = await cli.arca(['secrets', 'delete', 'EXISTING', 'NOPE', '--env', 'dev']);
    assertErrorOutput(r, 4);
    assert.deepEqual(await keysIn('dev'), ['EXISTING'], 'a failed delete deletes nothing');
});

test('export --output-file that fails writes no file', T, async () => {
    const dir = await tempDir('arca-out-');
    const r = await cli.arca(['export', '--env', 'qa', '--output-file', path.join(dir, 'out.env')]);
    assertErrorOutput(r, 4);
    assert.deepEqual(await readdir(dir), []);
});

test('not logged in: exit 3 with a hint to log in', T, async () => {
    for (const args of [['secrets', 'list', '--project-id', project.id], ['whoami'],
        ['projects', 'create', 'x'], ['run', '--project-id', project.id, '--', 'true']]) {
        const r = await anon.arca(args);
        assertErrorOutput(r, 3, { hint: /arca login/ });
        assert.equal(r.stdout, '');
    }
});

test('a saved session for another URL: the message names both URLs', T, async () => {
    const other = srv.url.replace('127.0.0.1', 'localhost');
    const r = await cli.arca(['whoami', '--api-url', other]);
    assertErrorOutput(r, 3, { hint: /arca login --email EMAIL' replaces the saved session/ });
    assert.ok(r.stderr.startsWith(`arca: error: not logged in to ${other} (the saved session is for ${srv.url})\n`),
        r.stderr);
});

test('logout forgets the session and revokes the token', T, async () => {
    const c = await newCli(srv);
    await ok(c, ['login', '--email', admin.email, '--password-stdin'], { input: admin.password + '\n' });
    const old = await readToken(c);
    let res = await api('GET', '/api/arca/v1/users/me', { auth: `Bearer ${old}` });
    assert.equal(res.status, 200);
    await ok(c, ['logout']);
    assert.ok(!(await exists(path.join(c.configDir, 'credentials.json'))), 'credentials.json removed');
    assertErrorOutput(await c.arca(['whoami']), 3);
    res = await api('GET', '/api/arca/v1/users/me', { auth: `Bearer ${old}` });
    expectError(res, 401, 'UnauthorizedError');
});

test('usage errors: exit 2', T, async () => {
    for (const args of [['frobnicate'], ['secrets', 'frobnicate'], ['secrets', 'set'], ['secrets', 'get'],
        ['secrets', 'delete'], ['secrets', 'list', '--no-such-flag'], ['run', '--env', 'dev'],
        ['init'], ['login', '--email'], ['projects', 'create'], ['import'],
        ['secrets', 'list', '--env'], ['server', '--threads', '0'], ['server', '--threads', '9x']]) {
        const r = await cli.arca(args);
        assertErrorOutput(r, 2);
        assert.equal(r.stdout, '', `arca ${args.join(' ')}`);
    }
});

test('--help on every command exits 0 and prints usage', T, async () => {
    for (const cmd of [[], ['server'], ['bootstrap'], ['login'], ['logout'], ['whoami'], ['projects'],
        ['projects', 'create'], ['projects', 'list'], ['init'], ['secrets'], ['secrets', 'set'],
        ['secrets', 'get'], ['secrets', 'list'], ['secrets', 'delete'], ['run'], ['export'],
        ['import'], ['version']]) {
        const r = await anon.arca([...cmd, '--help']);
        assert.equal(r.code, 0, `arca ${cmd.join(' ')} --help: ${r.stderr}`);
        assert.match(r.stdout, /arca/, `arca ${cmd.join(' ')} --help prints usage`);
    }
});

test('server down: exit 6, the message says the server cannot be reached', T, async (t) => {
    const down = await startServer();
    t.after(() => down.kill());
    const c = await newCli(down);
    await bootstrapAndLogin(c);
    const p = await createProject(c, 'gone');
    await ok(c, ['init', '--project-id', p.id]);
    await down.stop();

    for (const args of [['secrets', 'list'], ['secrets', 'set', 'A=1'], ['run', '--', 'true']]) {
        const r = await c.arca(args);
        assertErrorOutput(r, 6, { hint: /reach|connect/i });
        assert.equal(r.stdout, '');
    }
    const port = await closedPort();
    const r = await anon.arca(['login', '--email', 'a@example.com', '--password-stdin', '--api-url',
        `http://127.0.0.1:${port}`], { input: 'whatever\n' });
    assertErrorOutput(r, 6, { hint: /reach|connect/i });
    assert.ok(!(await exists(path.join(anon.configDir, 'credentials.json'))));
});

/* ---- the HTTP API ------------------------------------------------------ */

test('HTTP: unknown routes answer 404 with the JSON error shape', T, async () => {
    for (const route of ['/api/nope', '/api/arca/v1/nope', '/api/arca/v1/projects/x/y/z/w']) {
        expectError(await api('GET', route), 404, 'NotFound');
        expectError(await api('GET', route, { auth: false }), 404, 'NotFound');
    }
    expectError(await api('GET', `/api/arca/v1/projects/${randomUUID()}`), 404, 'NotFound');
    expectError(await api('GET', secretsRoute('environment=qa&secretPath=/')), 404, 'NotFound');
});

test('HTTP: malformed JSON and missing fields answer 400', T, async () => {
    expectError(await api('POST', '/api/arca/v1/auth/login', { auth: false, body: '{"email": ' }),
        400, 'BadRequest');
    expectError(await api('POST', '/api/arca/v1/auth/params', { auth: false, body: 'not json' }),
        400, 'BadRequest');
    expectError(await api('POST', '/api/arca/v1/auth/login', { auth: false, body: '[]' }), 400,
        'BadRequest');
    expectError(await api('POST', '/api/arca/v1/auth/login', { auth: false, body: {} }), 400,
        'BadRequest');
    expectError(await api('POST', '/api/arca/v1/projects', { body: '[1, 2' }), 400, 'BadRequest');
    expectError(await api('POST', batchRoute(), { body: '{"environment": "dev", ' }), 400,
        'BadRequest');
    expectError(await api('POST', batchRoute(), { body: { environment: 'dev', secretPath: '/',
        secrets: 'nope' } }), 400, 'BadRequest');
});

test('HTTP: a body over 2 MiB answers 413', T, async () => {
    const body = Buffer.from(`{"email": "${'a'.repeat(2 * MiB)}"}`);
    for (const chunked of [false, true]) {
        const res = await rawRequest(srv.url + '/api/arca/v1/auth/login',
            { headers: { 'Content-Type': 'application/json' }, body, chunked });
        expectError(res, 413, 'PayloadTooLarge');
    }
    const res = await rawRequest(srv.url + batchRoute(), { body, headers: {
        'Content-Type': 'application/json', Authorization: `Bearer ${token}` } });
    expectError(res, 413, 'PayloadTooLarge');
});

test('HTTP: a chunked body far over the limit is cut off while it is read', T, async () => {
    /* a chunked body has no length to refuse up front: the server reads at most
     * twice --max-body (2 MiB) and closes the connection, it does not drain 16 MiB */
    const body = Buffer.alloc(16 * MiB, 'a');
    await assert.rejects(rawRequest(srv.url + '/api/arca/v1/auth/login',
        { headers: { 'Content-Type': 'application/json' }, body, chunked: true }),
    /no HTTP response, the server closed the connection/);
    const res = await fetch(srv.url + '/api/status', { signal: AbortSignal.timeout(10000) });
    assert.equal(res.status, 200, 'the server is still up');
});

test('HTTP: a NUL byte (%00) in a path, name or parameter answers 400', T, async () => {
    const secret = (key, query) => `/api/arca/v1/projects/${project.id}/secrets/${key}?${query}`;
    for (const route of [secretsRoute('environment=dev&secretPath=/a%00b'),
        secretsRoute('environment=dev&secretPath=%00'), secretsRoute('environment=de%00v&secretPath=/'),
        secretsRoute('environment=dev&secretPath=/&x%00=1'),
        secret('EXISTING%00X', 'environment=dev&secretPath=/'),
        secret('EXISTING', 'environment=dev&secretPath=/%00/'),
        `/api/arca/v1/projects/${project.id}%00/secrets?environment=dev&secretPath=/`,
        '/api/status%00', `/api/v3/secrets/raw/EXISTING%00?workspaceId=${project.id}&environment=dev`]) {
        const res = await api('GET', route);
        expectError(res, 400, 'BadRequest');
        assert.match(JSON.parse(res.text).message, /NUL/, route);
    }
    /* the same name without the NUL is found: the refusal is about the byte */
    assert.equal((await api('GET', secret('EXISTING', 'environment=dev&secretPath=/'))).status, 200);
    /* JSON strings: \u0000 anywhere is a malformed body */
    for (const body of [{ environment: 'dev', secretPath: '/a\u0000b', secrets: [] },
        { environment: 'dev', secretPath: '/', secrets: [{ key: 'K\u0000EY', value: fakeCiphertext() }] }]) {
        const text = JSON.stringify(body);
        assert.match(text, /\\u0000/);
        expectError(await api('POST', batchRoute(), { body: text }), 400, 'BadRequest');
    }
    assert.deepEqual(await keysIn('dev'), ['EXISTING']);
});

test('HTTP: a field of the wrong JSON type or a malformed query flag answers 400', T, async () => {
    const sa = JSON.parse((await ok(cli, ['projects', 'create', 'typed', '--server-access',
        '--format', 'json'])).stdout);
    await ok(cli, ['secrets', 'set', 'TYPED=1', '--env', 'dev', '--project-id', sa.id]);
    const expect400 = async (what, res, field) => {
        const body = expectError(res, 400, 'BadRequest');
        assert.match(body.message, new RegExp(field), `${what}: ${body.message}`);
    };
    /* a number, an object or an array is never taken for "absent" (secretPath 5 was "/") */
    for (const bad of [5, { p: '/' }, ['/'], true]) {
        const raw = { workspaceId: sa.id, environment: 'dev', secretPath: bad };
        await expect400('v3 create', await api('POST', '/api/v3/secrets/raw/NEW_ONE',
            { body: { ...raw, secretValue: 'v' } }), 'secretPath');
        await expect400('v3 update', await api('PATCH', '/api/v3/secrets/raw/TYPED',
            { body: { ...raw, secretValue: 'v' } }), 'secretPath');
        await expect400('v3 delete', await api('DELETE', '/api/v3/secrets/raw/TYPED',
            { body: raw }), 'secretPath');
        await expect400('v4 create', await api('POST', '/api/v4/secrets/NEW_ONE',
            { body: { projectId: sa.id, environment: 'dev', secretPath: bad, secretValue: 'v' } }),
        'secretPath');
        await expect400('v3 batch', await api('POST', '/api/v3/secrets/batch/raw',
            { body: { ...raw, secrets: [{ secretKey: 'NEW_ONE', secretValue: 'v' }] } }),
        'secretPath');
        await expect400('arca batch', await api('POST', batchRoute(), { body: { environment: 'dev',
            secretPath: bad, secrets: [{ key: 'NEW_ONE', value: fakeCiphertext() }] } }), 'secretPath');
        await expect400('folder create', await api('POST', '/api/v1/folders',
            { body: { workspaceId: sa.id, environment: 'dev', path: bad, name: 'sub' } }), 'path');
        await expect400('v3 create type', await api('POST', '/api/v3/secrets/raw/NEW_ONE',
            { body: { workspaceId: sa.id, environment: 'dev', secretValue: 'v', type: bad } }), 'type');
        await expect400('v3 create environment', await api('POST', '/api/v3/secrets/raw/NEW_ONE',
            { body: { workspaceId: sa.id, environment: bad, secretValue: 'v' } }), 'environment');
        await expect400('v3 update value', await api('PATCH', '/api/v3/secrets/raw/TYPED',
            { body: { workspaceId: sa.id, environment: 'dev', secretValue: bad } }), 'secretValue');
    }
    /* a rotation's version record of another type is refused, not taken for a deletion */
    await expect400('rotate-key value', await api('POST', `/api/arca/v1/projects/${sa.id}/rotate-key`,
        { body: { members: [], versions: [{ secretId: sa.id, version: 1, value: 5 }] } }),
    "'value' must be base64");
    /* a value over the limit on an update is refused, not taken for "keep the old one" */
    await expect400('v3 update, long value', await api('PATCH', '/api/v3/secrets/raw/TYPED',
        { body: { workspaceId: sa.id, environment: 'dev', secretValue: 'x'.repeat(64 * 1024 + 1) } }),
    'secretValue');
    const q = `workspaceId=${sa.id}&environment=dev&secretPath=/`;
    for (const [route, field] of [[`/api/v3/secrets/raw?${q}&recursive=yes`, 'recursive'],
        [`/api/v3/secrets/raw/TYPED?${q}&viewSecretValue=1`, 'viewSecretValue'],
        [`/api/v3/secrets/raw/TYPED?${q}&version=abc`, 'version'],
        [`/api/v3/secrets/raw/TYPED?${q}&version=1x`, 'version'],
        [secretsRoute('environment=dev&secretPath=/&recursive=1'), 'recursive'],
        [`/api/v1/folders?${q}&recursive=yes`, 'recursive'],
        [`/api/arca/v1/audit-logs?projectId=${project.id}&limit=5abc`, 'limit'],
        [`/api/arca/v1/audit-logs?projectId=${project.id}&after=x`, 'after']])
        await expect400(route, await api('GET', route), field);
    /* nothing was written, and the well-typed forms still work */
    const list = await api('GET', `/api/v3/secrets/raw?${q}&recursive=true`);
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(JSON.parse(list.text).secrets.map((x) => [x.secretKey, x.secretValue]),
        [['TYPED', '1']]);
});

test('references that fan out are refused, not expanded for ever (client and server)', T, async () => {
    /* eight levels of eight references: 16 million lookups for 360 bytes of values */
    const p = JSON.parse((await ok(cli, ['projects', 'create', 'fanout', '--server-access',
        '--format', 'json'])).stdout);
    const pairs = Array.from({ length: 8 }, (_, i) => `L${i}=${`\${L${i + 1}}`.repeat(8)}`);
    await ok(cli, ['secrets', 'set', ...pairs, 'L8=', '--env', 'dev', '--project-id', p.id]);
    /* --strict: the command fails; the server with strictReferences=true too */
    const r = await cli.arca(['export', '--env', 'dev', '--project-id', p.id, '--no-cache', '--strict']);
    assert.equal(r.code, 5, `the export fails with exit 5: ${r.stderr}`);
    assert.match(r.stderr, /more than 256 references/);
    const q = new URLSearchParams({ projectId: p.id, environment: 'dev', expandSecretReferences: 'true' });
    const res = await api('GET', `/api/v4/secrets?${q}&strictReferences=true`);
    expectError(res, 400, 'BadRequest');
    assert.match(JSON.parse(res.text).message, /more than 256 references/);
    /* by default only the keys that fan out are affected: kept as written, with a warning */
    const lenient = await ok(cli, ['export', '--env', 'dev', '--project-id', p.id, '--no-cache',
        '--format', 'json']);
    assert.equal(JSON.parse(lenient.stdout).L0, '${L1}'.repeat(8));
    assert.match(lenient.stderr, /warning: secret 'L0' .*more than 256 references.*kept as written/);
    const served = await api('GET', `/api/v4/secrets?${q}`);
    assert.equal(served.status, 200, served.text);
    assert.equal(JSON.parse(served.text).secrets.find((x) => x.secretKey === 'L0').secretValue,
        '${L1}'.repeat(8));
    /* without expansion the values are served as they are */
    const plain = await ok(cli, ['export', '--env', 'dev', '--project-id', p.id, '--expand=false',
        '--format', 'json']);
    assert.equal(JSON.parse(plain.stdout).L7, '${L8}'.repeat(8));
});

test('HTTP: a missing or invalid token answers 401', T, async () => {
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const auth of [false, 'Bearer', 'Bearer ', 'Bearer garbage', `Bearer ${flipped}`,
        `Basic ${Buffer.from('a:b').toString('base64')}`, token]) {
        expectError(await api('GET', '/api/arca/v1/projects', { auth }), 401, 'UnauthorizedError');
        expectError(await api('GET', secretsRoute('environment=dev&secretPath=/'), { auth }), 401,
            'UnauthorizedError');
    }
    expectError(await api('POST', '/api/arca/v1/auth/login', { auth: false,
        body: { email: admin.email, authKey: randomBytes(32).toString('base64') } }),
    401, 'UnauthorizedError');
});

test('HTTP: unknown e-mail gets a stable decoy salt from auth/params', T, async () => {
    const a = await api('POST', '/api/arca/v1/auth/params', { auth: false,
        body: { email: 'nobody@example.com' } });
    const b = await api('POST', '/api/arca/v1/auth/params', { auth: false,
        body: { email: 'nobody@example.com' } });
    assert.equal(a.status, 200);
    assert.equal(typeof JSON.parse(a.text).kdf.salt, 'string');
    assert.equal(a.text, b.text, 'the decoy is deterministic');
    const real = await api('POST', '/api/arca/v1/auth/params', { auth: false,
        body: { email: admin.email } });
    assert.deepEqual(Object.keys(JSON.parse(real.text).kdf).sort(),
        Object.keys(JSON.parse(a.text).kdf).sort(), 'same shape for a real account');
});

test('HTTP: a ../ secretPath answers 400', T, async () => {
    for (const p of ['/../etc', '/a/../b', '..', '/a/..', '%2F..%2Fetc', '/%2e%2e/x', '/a/./b']) {
        expectError(await api('GET', secretsRoute(`environment=dev&secretPath=${p}`)), 400,
            'BadRequest');
        expectError(await api('GET', `/api/arca/v1/projects/${project.id}/secrets/EXISTING?environment=dev&secretPath=${p}`),
            400, 'BadRequest');
    }
    expectError(await api('POST', batchRoute(), { body: { environment: 'dev', secretPath: '/../x',
        secrets: [{ key: 'TRAVERSAL', value: fakeCiphertext() }] } }), 400, 'BadRequest');
    assert.deepEqual(await keysIn('dev'), ['EXISTING']);
});

test('HTTP: invalid and too-long keys, duplicates and over-limit batches answer 4xx, write nothing', T,
    async () => {
        const batch = (secrets, extra = {}) => api('POST', batchRoute(),
            { body: { environment: 'dev', secretPath: '/', secrets, ...extra } });
        expectError(await api('GET',
            `/api/arca/v1/projects/${project.id}/secrets/${'K'.repeat(256)}?environment=dev&secretPath=/`),
        400, 'BadRequest');
        expectError(await batch([{ key: 'K'.repeat(256), value: fakeCiphertext() }]), 400, 'BadRequest');
        expectError(await batch([{ key: '1BAD', value: fakeCiphertext() }]), 400, 'BadRequest');
        expectError(await batch([{ key: 'BAD-KEY', value: fakeCiphertext() }]), 400, 'BadRequest');
        expectError(await batch([{ key: 'DUP', value: fakeCiphertext() }, { key: 'DUP',
            value: fakeCiphertext() }]), 400, 'BadRequest');
        expectError(await batch([{ key: 'OK_KEY', value: 'not base64 !!' }]), 400, 'BadRequest');
        const many = Array.from({ length: 1001 }, (_, i) => ({ key: `K${i}`, value: fakeCiphertext(48) }));
        const tooMany = await batch(many);
        assert.ok([400, 413].includes(tooMany.status), `1001 secrets in a batch: ${tooMany.status}`);
        expectError(tooMany, tooMany.status, tooMany.status === 400 ? 'BadRequest' : 'PayloadTooLarge');
        const huge = await batch([{ key: 'HUGE', value: fakeCiphertext(64 * 1024 + 42) }]);
        assert.ok([400, 413].includes(huge.status), `oversized value: ${huge.status}`);
        expectError(huge, huge.status, huge.status === 400 ? 'BadRequest' : 'PayloadTooLarge');
        expectError(await batch([{ key: 'NOPE', delete: true }]), 404, 'NotFound');
        expectError(await batch([{ key: 'X', value: fakeCiphertext() }], { environment: 'qa' }), 404,
            'NotFound');
        assert.deepEqual(await keysIn('dev'), ['EXISTING'], 'nothing was written');
    });

test('HTTP: a wrong method answers 405', T, async () => {
    expectError(await api('DELETE', '/api/status'), 405, 'MethodNotAllowed');
    expectError(await api('POST', '/api/status', { body: {} }), 405, 'MethodNotAllowed');
    expectError(await api('PUT', '/api/arca/v1/projects', { body: {} }), 405, 'MethodNotAllowed');
    expectError(await api('GET', '/api/arca/v1/auth/login'), 405, 'MethodNotAllowed');
    expectError(await api('PATCH', batchRoute(), { body: {} }), 405, 'MethodNotAllowed');
});

test('after all of it the server is still up and the CLI still works', T, async () => {
    const res = await fetch(srv.url + '/api/status', { signal: AbortSignal.timeout(10000) });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.message, 'Ok');
    assert.equal(typeof body.version, 'string');
    const r = await ok(cli, ['secrets', 'get', 'EXISTING', '--env', 'dev', '--plain']);
    assert.equal(r.stdout, '1\n');
    assert.ok(srv.running);
});

test('the server stops gracefully on SIGTERM (exit code 0)', T, async () => {
    await srv.stop();
});
