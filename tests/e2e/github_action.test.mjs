// github_action.test.mjs - arca's GitHub Action (integrations/github-action): its script,
// run as the runner runs it (GITHUB_ENV, GITHUB_WORKSPACE, the inputs as INPUT_*), against
// a real server and an end-to-end encrypted project (the server cannot read the values:
// the script's arca decrypts them).  GITHUB_ENV is read back with the runner's rules for
// `NAME<<DELIMITER` blocks, so multi-line values and a value that looks like a delimiter
// must come back exactly; every value must have been masked (::add-mask::) first.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import dotenv from 'dotenv';

import {
    ARCA_BIN, CHILD_TIMEOUT_MS, REPO_ROOT, bootstrapAndLogin, createProject, newCli,
    removeTempDirs, startServer, tempDir,
} from './harness.mjs';

const T = { timeout: 300000 };
const SCRIPT = path.join(REPO_ROOT, 'integrations', 'github-action', 'export-secrets.sh');

const SECRETS = {
    PLAIN: 'hello',
    MULTI: 'line one\nline two\n\nline four',
    TRAILING_NL: 'ends with a newline\n',
    /* what a naive action would take for the end of its block */
    LOOKS_LIKE_DELIM: 'ghadelimiter_0123456789abcdef\nEOF\nDELIMITER',
    WORKFLOW_CMD: '::set-output name=x::%0A 100% $HOME `id`',
    SPACES: '  padded  ',
};

let server, admin, project, ident;

before(async () => {
    server = await startServer();
    admin = await newCli(server);
    await bootstrapAndLogin(admin);
    project = await createProject(admin, 'web-shop');
    const pid = ['--project-id', project.id];
    for (const [k, v] of Object.entries(SECRETS)) {
        const r = await admin.arca(['secrets', 'set', `${k}=${v}`, '--env=prod', ...pid]);
        assert.equal(r.code, 0, r.stderr);
    }
    for (const [args, what] of [
        [['secrets', 'set', 'PLAIN=from-api', 'API_ONLY=a', '--path', '/app/api'], 'deep'],
        [['secrets', 'set', 'PLAIN=from-app', 'APP_ONLY=b', '--path', '/app'], 'app'],
        [['secrets', 'set', 'SHARED_ONLY=s', '--env=staging'], 'staging'],
        [['imports', 'add', '--from', 'staging:/'], 'import'],
    ]) {
        const r = await admin.arca([...args, ...(args.includes('--env=staging') ? [] : ['--env=prod']),
            ...pid]);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    }
    const r = await admin.arca(['identities', 'create', 'github-ci', ...pid, '--role', 'viewer',
        '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    ident = JSON.parse(r.stdout);
});

after(async () => {
    await server?.stop();
    await removeTempDirs();
});

/* Runs the action's script like the runner: returns {code, stdout, stderr, githubEnv, workspace}. */
async function runAction(inputs) {
    const dir = await tempDir('arca-gha-');
    const githubEnv = path.join(dir, 'github_env');
    await writeFile(githubEnv, 'EXISTING=kept\n');
    const env = {
        PATH: process.env.PATH, HOME: dir, GITHUB_ENV: githubEnv, GITHUB_WORKSPACE: dir,
        INPUT_ARCA_BIN: ARCA_BIN, INPUT_DOMAIN: server.url, INPUT_CLIENT_ID: ident.clientId,
        INPUT_CLIENT_SECRET: ident.clientSecret, INPUT_PROJECT_ID: project.id,
        INPUT_ENV_SLUG: 'prod', ARCA_CONFIG_DIR: path.join(dir, 'config'),
    };
    for (const [k, v] of Object.entries(inputs))
        env[`INPUT_${k.toUpperCase().replaceAll('-', '_')}`] = v;
    const r = await new Promise((resolve) => {
        execFile('bash', [SCRIPT], { env, cwd: dir, timeout: CHILD_TIMEOUT_MS },
            (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
    return { ...r, githubEnv, workspace: dir };
}

/* The runner's reading of a GITHUB_ENV file: NAME=VALUE lines and NAME<<DELIM blocks (the
 * lines up to the one equal to DELIM, joined with \n). */
function parseGithubEnv(text) {
    const out = {};
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        if (line === '')
            continue;
        const h = line.indexOf('<<'), e = line.indexOf('=');
        if (h > 0 && (e < 0 || h < e)) {
            const name = line.slice(0, h), delim = line.slice(h + 2);
            const value = [];
            for (i++; i < lines.length && lines[i] !== delim; i++)
                value.push(lines[i]);
            assert.ok(i < lines.length, `no closing delimiter for ${name}`);
            out[name] = value.join('\n');
        } else {
            out[line.slice(0, e)] = line.slice(e + 1);
        }
    }
    return out;
}

function masked(stdout) {
    return new Set(stdout.split('\n').filter((l) => l.startsWith('::add-mask::'))
        .map((l) => l.slice('::add-mask::'.length)));
}

function escCmd(v) {
    return v.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

test('export-type env: every value lands in GITHUB_ENV exactly, masked first', T, async () => {
    const r = await runAction({ 'export-type': 'env' });
    assert.equal(r.code, 0, r.stderr);
    const text = await readFile(r.githubEnv, 'utf8');
    const got = parseGithubEnv(text);
    const want = { EXISTING: 'kept', ...SECRETS, SHARED_ONLY: 's' }; /* imports: on by default */
    assert.deepEqual(got, want);
    const m = masked(r.stdout);
    for (const v of Object.values(SECRETS)) {
        assert.ok(m.has(escCmd(v)), `value masked whole: ${JSON.stringify(v)}`);
        for (const line of v.split('\n').filter(Boolean))
            assert.ok(v.includes('\n') ? m.has(line) : true, `line masked: ${line}`);
    }
    assert.ok(m.has(ident.clientSecret), 'the client secret is masked too');
    /* the delimiters are random and differ per block */
    const delims = [...text.matchAll(/^[A-Z_]+<<(.*)$/gm)].map((x) => x[1]);
    assert.equal(delims.length, Object.keys(SECRETS).length + 1);
    assert.equal(new Set(delims).size, delims.length);
    for (const d of delims)
        assert.match(d, /^ghadelimiter_[0-9a-f]{32}$/);
    /* no value or secret in the script's own output except in mask commands */
    const plain = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    assert.ok(!plain.includes('line two') && !plain.includes(ident.clientSecret), plain);
    assert.match(r.stdout, /exported 7 secrets/);
});

test('include-imports false, project-slug, secret-path and recursive', T, async () => {
    let r = await runAction({ 'include-imports': 'false', 'project-id': '',
        'project-slug': project.slug });
    assert.equal(r.code, 0, r.stderr);
    let got = parseGithubEnv(await readFile(r.githubEnv, 'utf8'));
    assert.equal(got.SHARED_ONLY, undefined);
    assert.equal(got.PLAIN, 'hello');

    r = await runAction({ 'secret-path': '/app', 'include-imports': 'false' });
    assert.equal(r.code, 0, r.stderr);
    got = parseGithubEnv(await readFile(r.githubEnv, 'utf8'));
    assert.deepEqual(got, { EXISTING: 'kept', PLAIN: 'from-app', APP_ONLY: 'b' });

    /* recursive: every folder below; a key in several folders: the nearest one wins */
    r = await runAction({ 'secret-path': '/', recursive: 'true', 'include-imports': 'false' });
    assert.equal(r.code, 0, r.stderr);
    got = parseGithubEnv(await readFile(r.githubEnv, 'utf8'));
    assert.equal(got.PLAIN, 'hello');
    assert.equal(got.APP_ONLY, 'b');
    assert.equal(got.API_ONLY, 'a');
    assert.equal(got.MULTI, SECRETS.MULTI);
});

test('export-type file: a dotenv file in the workspace, mode 0600', T, async () => {
    const r = await runAction({ 'export-type': 'file', 'file-output-path': '/secrets.env' });
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(r.workspace, 'secrets.env');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(dotenv.parse(await readFile(file, 'utf8')), { ...SECRETS, SHARED_ONLY: 's' });
    assert.equal(await readFile(r.githubEnv, 'utf8'), 'EXISTING=kept\n', 'GITHUB_ENV untouched');
    const m = masked(r.stdout);
    assert.ok(m.has('hello'), 'values are masked in file mode too');

    /* recursive file: the nearest folder wins for readers that take the last value */
    const r2 = await runAction({ 'export-type': 'file', recursive: 'true', 'include-imports': 'false' });
    assert.equal(r2.code, 0, r2.stderr);
    const env2 = dotenv.parse(await readFile(path.join(r2.workspace, '.env'), 'utf8'));
    assert.equal(env2.PLAIN, 'hello');
    assert.equal(env2.API_ONLY, 'a');
});

test('refusals: a wrong client secret, bad inputs; GITHUB_ENV is left as it was', T, async () => {
    let r = await runAction({ 'client-secret': 'f'.repeat(64) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /arca: error: /);
    assert.equal(await readFile(r.githubEnv, 'utf8'), 'EXISTING=kept\n');

    r = await runAction({ 'export-type': 'yaml' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /::error::arca: export-type must be env or file/);

    r = await runAction({ method: 'oidc' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /method 'oidc' is not supported/);

    r = await runAction({ 'project-id': '', 'project-slug': 'no-such-project' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no single project with the slug 'no-such-project'/);
    assert.equal(await readFile(r.githubEnv, 'utf8'), 'EXISTING=kept\n');
});
