// cli_references.test.mjs - a reference that fails takes down one key, not
// the environment (issue 14): a missing secret (a ${HOME} from an imported
// .env), a cycle, keep the value as written with a warning naming the key, on
// the client (run, export, secrets list/get) and on the server's raw routes;
// --strict (strictReferences=true on the server) fails as before; a reference
// into a folder the caller may not read leaves that key out; a single-quoted
// .env value is imported as a literal that is never expanded.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    apiCall, bootstrapAndLogin, createProject, inviteAndSignup, newCli, removeTempDirs, startServer,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let project;
let pid;
let token; /* a machine identity's access token (member), for the raw routes */

async function ok(args, opts, c = cli) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

async function raw(env, query = '') {
    return apiCall(srv, 'GET', `/api/v3/secrets/raw?workspaceId=${project.id}&environment=${env}` +
        `&expandSecretReferences=true${query}`, { token });
}
const rawValues = (res) => Object.fromEntries(res.json.secrets.map((s) => [s.secretKey, s.secretValue]));

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    await bootstrapAndLogin(cli);
    project = await createProject(cli, 'refs');
    pid = ['--project-id', project.id];
    await ok(['projects', 'update', project.id, '--server-access']);
    await ok(['secrets', 'set', 'GOOD=a', 'USES=${GOOD}-b', 'BAD=x-${NOPE}', 'HOME_REF=${HOME}/bin',
        'CYC1=${CYC2}', 'CYC2=${CYC1}', '--env', 'prod', ...pid]);
    const id = JSON.parse((await ok(['identities', 'create', 'reader', ...pid, '--role', 'member',
        '--format', 'json'])).stdout);
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: id.clientId, clientSecret: id.clientSecret } });
    assert.equal(login.status, 200, login.text);
    token = login.json.accessToken;
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

const EXPECTED = { GOOD: 'a', USES: 'a-b', BAD: 'x-${NOPE}', HOME_REF: '${HOME}/bin', CYC1: '${CYC2}',
    CYC2: '${CYC1}' };

test('an unresolved reference or a cycle keeps that value as written, with a warning', T, async () => {
    const e = await ok(['export', '--env', 'prod', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(e.stdout), EXPECTED);
    assert.match(e.stderr, /warning: secret 'BAD' refers to \$\{NOPE\}, which does not resolve: kept as written/);
    assert.match(e.stderr, /warning: secret 'HOME_REF' refers to \$\{HOME\}/);
    assert.match(e.stderr, /warning: secret 'CYC1' .*cycle/);
    const l = await ok(['secrets', 'list', '--env', 'prod', '--format', 'json', ...pid]);
    assert.deepEqual(Object.fromEntries(JSON.parse(l.stdout).map((s) => [s.key, s.value])), EXPECTED);
    const r = await ok(['run', '--env', 'prod', ...pid, '--', 'sh', '-c', 'printf "%s|%s" "$USES" "$BAD"']);
    assert.equal(r.stdout, 'a-b|x-${NOPE}');
    const g = await ok(['secrets', 'get', 'USES', '--plain', '--env', 'prod', ...pid]);
    assert.equal(g.stdout, 'a-b\n');
    assert.equal(g.stderr, '', 'secrets get warns only about the keys asked for');
});

test('--strict fails fast, as CI may want', T, async () => {
    const r = await cli.arca(['export', '--env', 'prod', '--strict', ...pid]);
    assert.ok([4, 5].includes(r.code), `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const run = await cli.arca(['run', '--env', 'prod', '--strict', ...pid, '--', 'sh', '-c', 'echo ran']);
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '');
});

test('the server keeps the value as written too; strictReferences=true fails', T, async () => {
    const res = await raw('prod');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(rawValues(res), EXPECTED);
    const strict = await raw('prod', '&strictReferences=true');
    assert.ok([400, 404].includes(strict.status), strict.text);
});

test('a single-quoted .env value is literal: never expanded, by client or server', T, async () => {
    await writeFile(path.join(cli.cwd, 'lit.env'),
        "LIT='no ${GOOD} here'\nDQ=\"yes ${GOOD}\"\nPLAIN=${GOOD}\n");
    await ok(['import', 'lit.env', '--env', 'staging', ...pid]);
    await ok(['secrets', 'set', 'GOOD=s', '--env', 'staging', ...pid]);
    const e = await ok(['export', '--env', 'staging', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(e.stdout), { DQ: 'yes s', GOOD: 's', LIT: 'no ${GOOD} here', PLAIN: 's' });
    assert.equal(e.stderr, '');
    const asWritten = await ok(['secrets', 'get', 'LIT', '--plain', '--no-expand', '--env', 'staging', ...pid]);
    assert.equal(asWritten.stdout, 'no \\${GOOD} here\n', 'stored with the escape');
    const res = await raw('staging');
    assert.equal(rawValues(res).LIT, 'no ${GOOD} here');
    /* and it goes out again as a single-quoted, literal dotenv value */
    const d = await ok(['export', '--env', 'staging', ...pid]);
    assert.match(d.stdout, /^LIT='no \$\{GOOD\} here'$/m);
});

test('a reference into a folder the caller may not read leaves only that key out', T, async () => {
    await ok(['secrets', 'set', 'DEV_ONLY=d', '--env', 'dev', ...pid]);
    await ok(['environments', 'add', 'qa', ...pid]);
    await ok(['secrets', 'set', 'FROM_DEV=${dev.DEV_ONLY}', 'MINE=m', '--env', 'qa', ...pid]);
    await ok(['roles', 'create', 'qa-reader', '--allow', 'secrets:read:qa', ...pid]);
    const m = await inviteAndSignup(cli, srv, 'qa@example.com');
    await ok(['members', 'add', 'qa@example.com', '--role', 'qa-reader', ...pid]);
    const l = await ok(['secrets', 'list', '--env', 'qa', '--format', 'json', ...pid], undefined, m.cli);
    assert.deepEqual(JSON.parse(l.stdout).map((s) => [s.key, s.value]), [['MINE', 'm']]);
    assert.match(l.stderr, /warning: secret 'FROM_DEV' refers to \$\{dev\.DEV_ONLY\}.*: left out/);
    const g = await m.cli.arca(['secrets', 'get', 'FROM_DEV', '--env', 'qa', ...pid]);
    assert.equal(g.code, 3, g.stderr);
    assert.equal(g.stdout, '');
    /* the server's raw list leaves it out for such a caller too */
    const id = JSON.parse((await ok(['identities', 'create', 'qa-bot', ...pid, '--role', 'qa-reader',
        '--format', 'json'])).stdout);
    const login = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId: id.clientId, clientSecret: id.clientSecret } });
    const res = await apiCall(srv, 'GET', `/api/v3/secrets/raw?workspaceId=${project.id}&environment=qa` +
        '&expandSecretReferences=true', { token: login.json.accessToken });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(rawValues(res), { MINE: 'm' });
    /* the admin reads it whole */
    const a = await ok(['export', '--env', 'qa', '--format', 'json', ...pid]);
    assert.deepEqual(JSON.parse(a.stdout), { FROM_DEV: 'd', MINE: 'm' });
});
