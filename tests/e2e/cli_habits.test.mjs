// cli_habits.test.mjs - what a user of Infisical's CLI types from habit works
// (issue 14): secrets update, --type, delete naming the missing keys; run's
// --token, --silent, --include-imports, --command, --domain, -e; export -f/-o;
// init picking a project on a terminal and taking a slug; login asking on a
// terminal; .infisical.json's defaultEnvironment and INFISICAL_PROJECT_ID;
// service tokens expiring by default, listed with a status, revoked ones
// hidden, revoking twice said; audit-logs list newest first.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    ARCA_BIN, bootstrapAndLogin, createProject, newCli, removeTempDirs, serviceTokenIn, startServer,
} from './harness.mjs';

const T = { timeout: 180000 };

let srv;
let cli;
let admin; /* {email, password} */
let project;
let pid;

async function ok(args, opts, c = cli) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

/* Runs arca on a pseudo-terminal (script), answering each prompt (a regular
 * expression on the output so far) with its line; returns {code, out}. */
function onTerminal(c, args, answers) {
    return new Promise((resolve, reject) => {
        const quote = (a) => `'${String(a).replace(/'/g, `'\\''`)}'`;
        const p = spawn('script', ['-qec', [ARCA_BIN, ...args].map(quote).join(' '), '/dev/null'],
            { env: c.env(), cwd: c.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let next = 0;
        const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
        p.stdout.on('data', (d) => {
            out += d.toString();
            while (next < answers.length && answers[next][0].test(out))
                p.stdin.write(answers[next++][1] + '\n');
        });
        p.on('error', reject);
        p.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, out });
        });
    });
}

before(async () => {
    srv = await startServer();
    cli = await newCli(srv);
    admin = await bootstrapAndLogin(cli);
    project = await createProject(cli, 'habits');
    pid = ['--project-id', project.id];
    await ok(['secrets', 'set', 'A=1', 'B=2', '--env', 'prod', ...pid]);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('secrets update K V changes an existing key; a missing one is named, nothing written', T, async () => {
    const r = await ok(['secrets', 'update', 'A', 'one', '--env=prod', ...pid]);
    assert.match(r.stdout, /^A: updated \(version 2\)$/m);
    const m = await cli.arca(['secrets', 'update', 'B=two', 'NOPE=x', 'NADA=y', '--env=prod', ...pid]);
    assert.equal(m.code, 4, m.stderr);
    assert.match(m.stderr, /prod:\/ has no secret 'NOPE', 'NADA'/);
    assert.equal((await ok(['secrets', 'get', 'B', '--plain', '--env=prod', ...pid])).stdout, '2\n');
});

test('secrets set --type personal|shared; delete names the keys that do not exist', T, async () => {
    await ok(['secrets', 'set', 'A=mine', '--type', 'personal', '--env=prod', ...pid]);
    const l = JSON.parse((await ok(['secrets', 'list', '--env=prod', '--format', 'json', ...pid])).stdout);
    assert.deepEqual(l.filter((s) => s.key === 'A').map((s) => [s.type, s.value]),
        [['shared', 'one'], ['personal', 'mine']]);
    assert.equal((await cli.arca(['secrets', 'set', 'A=x', '--type', 'private', ...pid])).code, 2);
    const d = await cli.arca(['secrets', 'delete', 'A', 'GONE', 'ALSO_GONE', '--env=prod', ...pid]);
    assert.equal(d.code, 4, d.stderr);
    assert.match(d.stderr, /has no secret 'GONE', 'ALSO_GONE'/);
    await ok(['secrets', 'delete', 'A', '--type', 'personal', '--env=prod', ...pid]);
});

test('run: -e, --token, --silent, --include-imports, --command, --domain', T, async () => {
    const t = await ok(['service-token', 'create', '--name', 'run', '--env', 'prod', ...pid]);
    const token = serviceTokenIn(t.stdout);
    const fresh = await newCli(srv);
    const r = await ok(['run', '-e', 'prod', '--token', token, '--domain', `${srv.url}/api`,
        '--command', 'printf "%s|%s" "$A" "$B"'], undefined, fresh);
    assert.equal(r.stdout, 'one|2');
    const both = await fresh.arca(['run', '--token', token, '--command', 'true', '--', 'true']);
    assert.equal(both.code, 2);
    await ok(['secrets', 'set', 'PATH=/x', 'REF=${NOPE}', '--env', 'staging', ...pid]);
    const loud = await ok(['run', '-e', 'staging', ...pid, '--', 'true']);
    assert.match(loud.stderr, /warning/);
    const quiet = await ok(['run', '-e', 'staging', '--silent', ...pid, '--', 'true']);
    assert.equal(quiet.stderr, '');
    await ok(['imports', 'add', '--from', 'prod:/', '--env', 'dev', ...pid]);
    const inc = await ok(['run', '-e', 'dev', '--include-imports', ...pid, '--', 'sh', '-c', 'printf %s "$B"']);
    assert.equal(inc.stdout, '2');
    const exc = await ok(['run', '-e', 'dev', '--include-imports=false', ...pid, '--', 'sh', '-c',
        'printf %s "${B-unset}"']);
    assert.equal(exc.stdout, 'unset');
});

test('export -f FORMAT -o FILE', T, async () => {
    await ok(['export', '-e', 'prod', '-f', 'json', '-o', 'out.json', ...pid]);
    assert.deepEqual(JSON.parse(await readFile(path.join(cli.cwd, 'out.json'), 'utf8')), { A: 'one', B: '2' });
});

test('init takes a slug, and on a terminal offers a list to pick from', T, async () => {
    await ok(['init', '--project-id', project.slug, '--env', 'prod']);
    const j = JSON.parse(await readFile(path.join(cli.cwd, '.arca.json'), 'utf8'));
    assert.deepEqual(j, { projectId: project.id, defaultEnvironment: 'prod' });
    /* defaultEnvironment is the default --env */
    assert.equal((await ok(['secrets', 'get', 'B', '--plain'])).stdout, '2\n');
    const p2 = await createProject(cli, 'second');
    const r = await onTerminal(cli, ['init'], [[/Project \[1-2\]: /, '2']]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /1\) habits/);
    assert.equal(JSON.parse(await readFile(path.join(cli.cwd, '.arca.json'), 'utf8')).projectId, p2.id);
    const none = await cli.arca(['init']);
    assert.equal(none.code, 2, 'no terminal: --project-id is required');
    const bad = await cli.arca(['secrets', 'list', '--project-id', 'no-such-slug']);
    assert.equal(bad.code, 4);
    assert.match(bad.stderr, /no project with the id or slug 'no-such-slug'/);
});

test('.infisical.json defaultEnvironment and INFISICAL_PROJECT_ID are honoured', T, async () => {
    const c = await newCli(srv);
    c.configDir = cli.configDir;
    await writeFile(path.join(c.cwd, '.infisical.json'),
        JSON.stringify({ workspaceId: project.id, defaultEnvironment: 'prod' }));
    assert.equal((await ok(['secrets', 'get', 'B', '--plain'], undefined, c)).stdout, '2\n');
    const other = await newCli(srv);
    other.configDir = cli.configDir;
    const r = await ok(['secrets', 'get', 'B', '--plain', '--env', 'prod'],
        { env: { INFISICAL_PROJECT_ID: project.id } }, other);
    assert.equal(r.stdout, '2\n');
});

test('login with no flags on a terminal asks for e-mail and password', T, async () => {
    const c = await newCli(srv);
    const r = await onTerminal(c, ['login'], [[/E-mail: /, admin.email], [/Password: /, admin.password]]);
    assert.equal(r.code, 0, r.out);
    assert.match((await ok(['whoami'], undefined, c)).stdout, new RegExp(admin.email));
});

test('service tokens expire in 30 days by default, list a status, revoking twice is said', T, async () => {
    const t = JSON.parse((await ok(['service-token', 'create', '--name', 'd', '--env', 'prod', ...pid,
        '--format', 'json'])).stdout);
    const days = (Date.parse(t.expiresAt) - Date.now()) / 86400000;
    assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);
    const never = JSON.parse((await ok(['service-token', 'create', '--name', 'n', '--env', 'prod',
        '--expires-in', 'never', ...pid, '--format', 'json'])).stdout);
    assert.equal(never.expiresAt, null);
    await ok(['service-token', 'revoke', t.id, ...pid]);
    const again = await ok(['service-token', 'revoke', t.id, ...pid]);
    assert.match(again.stdout, /already revoked/);
    const l = await ok(['service-token', 'list', ...pid]);
    assert.match(l.stdout, /^ID\s+NAME\s+ACCESS\s+STATUS/);
    assert.ok(!l.stdout.includes(t.id), 'revoked tokens are hidden');
    assert.match(l.stdout, new RegExp(`${never.id}.*active`));
    assert.match(l.stderr, /revoked service tokens not shown/);
    const all = JSON.parse((await ok(['service-token', 'list', '--all', ...pid, '--format', 'json'])).stdout);
    assert.equal(all.find((x) => x.id === t.id).status, 'revoked');
    assert.equal((await cli.arca(['service-token', 'revoke', 'nope', ...pid])).code, 4);
});

test('audit-logs list shows the newest first, the last N', T, async () => {
    await ok(['secrets', 'set', 'LAST=1', '--env', 'dev', ...pid]);
    const j = JSON.parse((await ok(['audit-logs', 'list', ...pid, '--limit', '3', '--format', 'json'])).stdout);
    assert.equal(j.length, 3);
    assert.ok(j[0].seq > j[1].seq && j[1].seq > j[2].seq, 'newest first');
    const all = JSON.parse((await ok(['audit-logs', 'list', ...pid, '--limit', '1000', '--format', 'json'])).stdout);
    /* newest first: the first list's own audit.read, then what the first list showed */
    assert.equal(all[0].event, 'audit.read');
    assert.equal(all[1].seq, j[0].seq, 'the first list began with the very last record');
});

test("a service token's only environment is the default --env", T, async () => {
    const t = await ok(['service-token', 'create', '--name', 'prod-only', '--env', 'prod', ...pid]);
    const token = serviceTokenIn(t.stdout);
    const c = await newCli(srv);
    const r = await ok(['secrets', 'get', 'B', '--plain'], { env: { ARCA_TOKEN: token } }, c);
    assert.equal(r.stdout, '2\n');
    const e = await ok(['export', '--format', 'json'], { env: { ARCA_TOKEN: token } }, c);
    assert.equal(JSON.parse(e.stdout).B, '2');
    /* two environments: no guess, dev as always */
    const t2 = await ok(['service-token', 'create', '--name', 'two', '--env', 'prod', '--scope', 'dev:/', ...pid]);
    const two = await c.arca(['secrets', 'get', 'B', '--plain'], { env: { ARCA_TOKEN: serviceTokenIn(t2.stdout) } });
    assert.equal(two.code, 4, two.stderr);
});

test('export --format dotenv-eval is for sh eval: any value comes back exactly', T, async () => {
    const tricky = { Q1: "it's", Q2: "a'b'c", NL: 'one\ntwo', DOLLAR: '$HOME `x` $(y)' };
    await ok(['secrets', 'set', ...Object.entries(tricky).map(([k, v]) => `${k}=${v}`), '--env', 'staging',
        '--path', '/eval', ...pid]);
    const e = await ok(['export', '-e', 'staging', '--path', '/eval', '-f', 'dotenv-eval', ...pid]);
    assert.match(e.stdout, /^export Q1='it'\\''s'$/m);
    const { execFile } = await import('node:child_process');
    const out = await new Promise((resolve, reject) => execFile('sh', ['-c',
        `eval "$1"; printf '%s\\0' "$Q1" "$Q2" "$NL" "$DOLLAR"`, 'sh', e.stdout],
    (err, stdout) => (err ? reject(err) : resolve(stdout))));
    assert.deepEqual(out.split('\0').slice(0, 4), [tricky.Q1, tricky.Q2, tricky.NL, tricky.DOLLAR]);
});
