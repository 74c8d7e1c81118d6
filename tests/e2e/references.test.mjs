// references.test.mjs - ${...} secret references, expanded on the client
// (arca_secrets_expand: arca run, export, secrets get/list) by default, kept as
// written with --expand=false, and giving exactly what the server's raw route
// (/api/v3/secrets/raw?expandSecretReferences=true) gives for a project with
// server access.  A list on the raw route is written as text secret by
// secret: each object is byte for byte the one a single read answers.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { apiCall, assertErrorOutput, bootstrapAndLogin, createProject, newCli, readToken,
    removeTempDirs, startServer } from './harness.mjs';

let server;
after(async () => {
    await server?.kill();
    await removeTempDirs();
});

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

test('references expand on the client exactly as on the server', async () => {
    server = await startServer();
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'refs');
    const pid = ['--project-id', p.id];

    await ok(cli, ['secrets', 'set', 'A=foo', 'B=${A}-bar', 'C=${dev.app.X}/${B}', 'D=${open',
        '--env=prod', ...pid]);
    await ok(cli, ['secrets', 'set', 'X=deep', '--env=dev', '--path=/app', ...pid]);

    const expanded = { A: 'foo', B: 'foo-bar', C: 'deep/foo-bar', D: '${open' };
    let r = await ok(cli, ['export', '--env=prod', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout), expanded);

    r = await ok(cli, ['run', '--env=prod', ...pid, '--', 'sh', '-c', 'printf "%s|%s" "$B" "$C"']);
    assert.equal(r.stdout, 'foo-bar|deep/foo-bar');

    r = await ok(cli, ['secrets', 'get', 'C', 'A', '--plain', '--env=prod', ...pid]);
    assert.equal(r.stdout, 'deep/foo-bar\nfoo\n');
    r = await ok(cli, ['secrets', 'list', '--format', 'json', '--env=prod', ...pid]);
    assert.deepEqual(Object.fromEntries(JSON.parse(r.stdout).map((s) => [s.key, s.value])), expanded);

    /* --expand=false: the text as written */
    const raw = { A: 'foo', B: '${A}-bar', C: '${dev.app.X}/${B}', D: '${open' };
    r = await ok(cli, ['export', '--env=prod', '--format', 'json', '--expand=false', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout), raw);
    r = await ok(cli, ['run', '--env=prod', '--expand=false', ...pid, '--', 'sh', '-c', 'printf %s "$C"']);
    assert.equal(r.stdout, raw.C);
    r = await ok(cli, ['secrets', 'get', 'B', '--plain', '--expand=false', '--env=prod', ...pid]);
    assert.equal(r.stdout, '${A}-bar\n');
    r = await ok(cli, ['export', '--env=prod', '--format', 'json', '--expand=true', ...pid]);
    assert.deepEqual(JSON.parse(r.stdout), expanded);

    /* --strict: a cycle, then a missing reference: an error naming it, nothing printed */
    await ok(cli, ['secrets', 'set', 'P=${Q}', 'Q=${P}', '--env=staging', ...pid]);
    r = await cli.arca(['export', '--env=staging', '--format', 'json', '--strict', ...pid]);
    assertErrorOutput(r, 5);
    assert.match(r.stderr, /\$\{[PQ]\}.*cycle/);
    assert.equal(r.stdout, '');
    await ok(cli, ['secrets', 'delete', 'P', 'Q', '--env=staging', ...pid]);
    await ok(cli, ['secrets', 'set', 'N=${NOPE}', '--env=staging', ...pid]);
    r = await cli.arca(['export', '--env=staging', '--strict', ...pid]);
    assertErrorOutput(r, 4);
    assert.match(r.stderr, /secret 'N' refers to \$\{NOPE\}, which does not resolve/);
    assert.equal(r.stdout, '');
    r = await cli.arca(['run', '--env=staging', '--strict', ...pid, '--', 'sh', '-c', 'echo ran']);
    assertErrorOutput(r, 4);
    assert.equal(r.stdout, '');
    r = await cli.arca(['export', '--env=staging', '--format', 'json', '--expand=false', ...pid]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { N: '${NOPE}' });

    /* the server's expansion, for the same project, gives the same values */
    await ok(cli, ['projects', 'update', p.id, '--server-access', 'on']);
    const id = JSON.parse((await ok(cli, ['identities', 'create', 'ci', ...pid, '--role', 'member',
        '--format', 'json'])).stdout);
    const login = await apiCall(server, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: id.clientId, clientSecret: id.clientSecret } });
    assert.equal(login.status, 200, login.text);
    const token = login.json.accessToken;
    const got = await apiCall(server, 'GET',
        `/api/v3/secrets/raw?workspaceId=${p.id}&environment=prod&expandSecretReferences=true`,
        { token });
    assert.equal(got.status, 200, got.text);
    const serverSide = Object.fromEntries(got.json.secrets.map((s) => [s.secretKey, s.secretValue]));
    r = await ok(cli, ['export', '--env=prod', '--format', 'json', ...pid]);
    assert.deepEqual(serverSide, JSON.parse(r.stdout));
    assert.deepEqual(serverSide, expanded);
    await server.stop();
});

/* A list is written as text secret by secret (no JSON tree): each of its
 * objects is byte for byte the one a single read answers, for values that
 * need escaping or not, comments, references expanded, values hidden. */
test('a list on the raw route: each object the same bytes as the single read of it', async () => {
    const s = await startServer();
    try {
        const cli = await newCli(s);
        await bootstrapAndLogin(cli);
        const p = await createProject(cli, 'bytes');
        await ok(cli, ['projects', 'update', p.id, '--server-access', 'on']);
        const token = await readToken(cli);
        const values = {
            PLAIN: 'plain-value_123', QUOTES: 'say "hi" \\ back\\slash', LINES: 'a\nb\tc\r\u0001\u001f',
            UNICODE: 'é ✓ 😀 \u2028 \u007f </script>', REF: '${PLAIN}/${UNICODE}', SPACED: 'a b',
        };
        for (const [key, value] of Object.entries(values)) {
            const r = await apiCall(s, 'POST', `/api/v3/secrets/raw/${key}`, { token, body: {
                workspaceId: p.id, environment: 'prod', secretPath: '/', secretValue: value,
                secretComment: key === 'QUOTES' ? 'a "comment"\n' : '' } });
            assert.equal(r.status, 200, r.text);
        }
        for (const query of ['', '&expandSecretReferences=true', '&viewSecretValue=false']) {
            const q = `workspaceId=${p.id}&environment=prod&secretPath=%2F${query}`;
            const list = await apiCall(s, 'GET', `/api/v3/secrets/raw?${q}`, { token });
            assert.equal(list.status, 200, list.text);
            assert.equal(list.json.secrets.length, Object.keys(values).length);
            for (const key of Object.keys(values)) {
                const one = await apiCall(s, 'GET', `/api/v3/secrets/raw/${key}?${q}`, { token });
                assert.equal(one.status, 200, one.text);
                const prefix = '{"secret":';
                assert.ok(one.text.startsWith(prefix) && one.text.endsWith('}'), one.text);
                const object = one.text.slice(prefix.length, -1);
                assert.ok(list.text.includes(object), `${key}${query}: ${object} in ${list.text}`);
            }
            if (query === '')
                assert.deepEqual(Object.fromEntries(list.json.secrets.map((x) => [x.secretKey,
                    x.secretValue])), values);
        }
    } finally {
        await s.stop();
    }
});
