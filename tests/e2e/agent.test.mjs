// agent.test.mjs - `arca agent`, the change feed it uses, and `arca run --watch`,
// as real processes against a real server.
//
// The agent logs in as a machine identity (viewer of the project) from a client
// secret file, renders a dotenv and a JSON file (mode 0600), renders again and
// runs its command when a secret changes, serves `arca run` on a 0600 socket
// (and only its own folders, only to its own user), survives a server restart,
// exits 3 with a clear message when its client secret is revoked, and never
// logs a value.  --once renders and exits (the Kubernetes init container);
// without it the same config keeps rendering (the sidecar).  The change feed
// refuses outsiders, is audited and bounded.  `arca run --watch` restarts its
// child on a change and passes signals and the exit code through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, newCli, bootstrapAndLogin, createProject, removeTempDirs, tempDir,
    apiCall, readToken, waitFor, assertErrorOutput, ARCA_BIN, REPO_ROOT } from './harness.mjs';

const V1 = '/api/arca/v1';
const VALUES = { DB_PASSWORD: 'pw-3c9e1f7a-agent-check', API_KEY: "key-'quoted\"-8b2d" };
let srv, owner, project, ident, dir, secretFile;

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.slice(0, 3).join(' ')}: ${r.stderr}`);
    return r;
}

async function setSecret(key, value) {
    await ok(owner, ['secrets', 'set', `${key}=${value}`, '--env', 'prod', '--project-id', project.id]);
}

/* The prod values as the owner reads them now (earlier tests change DB_PASSWORD). */
async function currentValues() {
    const r = await ok(owner, ['export', '--env', 'prod', '--project-id', project.id, '--format', 'json']);
    return JSON.parse(r.stdout);
}

async function fileText(f) {
    try {
        return await readFile(f, 'utf8');
    } catch {
        return null;
    }
}

/* An identity in the project with role, and its client secret in a 0600 file. */
async function identity(name, role = 'viewer') {
    const r = await ok(owner, ['identities', 'create', name, '--format', 'json']);
    const j = JSON.parse(r.stdout);
    await ok(owner, ['members', 'add', '--identity', name, '--role', role, '--project-id',
        project.id]);
    const file = path.join(dir, `${name}.secret`);
    await writeFile(file, j.clientSecret + '\n', { mode: 0o600 });
    return { ...j, file };
}

function config(id, extra = {}) {
    const o = {
        server: srv.url, 'project-id': project.id,
        auth: { 'client-id': id.clientId, 'client-secret-file': id.file },
        templates: [],
        ...extra,
    };
    return o;
}

/* Writes the config as YAML (hand-written here: the agent's reader is libyaml). */
async function writeConfig(name, cfg) {
    const lines = [];
    const scalar = (v) => JSON.stringify(String(v));
    for (const [k, v] of Object.entries(cfg)) {
        if (Array.isArray(v)) {
            lines.push(`${k}:`);
            for (const item of v) {
                const entries = Object.entries(item);
                entries.forEach(([ik, iv], i) => lines.push(`  ${i ? ' ' : '-'} ${ik}: ${scalar(iv)}`));
            }
            if (!v.length)
                lines.push(`${k}: []`);
        } else if (typeof v === 'object') {
            lines.push(`${k}:`);
            for (const [ik, iv] of Object.entries(v))
                lines.push(`  ${ik}: ${scalar(iv)}`);
        } else {
            lines.push(`${k}: ${scalar(v)}`);
        }
    }
    const file = path.join(dir, name);
    await writeFile(file, lines.join('\n') + '\n');
    return file;
}

/* A running agent: {proc, done, logs()} */
function startAgent(cfgFile, extraArgs = [], env = {}) {
    const child = owner.spawn(['agent', '--config', cfgFile, ...extraArgs],
        { env: { ARCA_API_URL: undefined, ...env }, timeoutMs: 10 * 60 * 1000 });
    const err = [];
    child.proc.stderr.on('data', (c) => err.push(c));
    child.logs = () => Buffer.concat(err).toString('utf8');
    return child;
}

async function stopAgent(child) {
    child.proc.kill('SIGTERM');
    return child.done;
}

before(async () => {
    srv = await startServer();
    owner = await newCli(srv);
    await bootstrapAndLogin(owner);
    project = await createProject(owner, 'agent-app');
    dir = await tempDir('arca-agent-');
    for (const [k, v] of Object.entries(VALUES))
        await setSecret(k, v);
    ident = await identity('agent-bot');
    secretFile = ident.file;
});

after(async () => {
    await srv?.stop();
    await removeTempDirs();
});

test('agent: renders 0600 files, re-renders and runs the command on a change, serves arca run, survives a server restart', async () => {
    const envFile = path.join(dir, 'app.env');
    const jsonFile = path.join(dir, 'app.json');
    const marker = path.join(dir, 'reloaded');
    const sock = path.join(dir, 'agent.sock');
    const cfg = await writeConfig('agent.yaml', config(ident, {
        socket: sock,
        templates: [
            { environment: 'prod', destination: envFile, command: `echo reload >> ${marker}` },
            { environment: 'prod', path: '/', format: 'json', destination: jsonFile },
        ],
    }));
    let agent = startAgent(cfg);
    try {
        await waitFor(async () => (await fileText(jsonFile)) !== null, { what: 'the first render' });
        assert.deepEqual(JSON.parse(await fileText(jsonFile)), VALUES);
        /* the dotenv file reads back with sh */
        const sh = await ok(owner, ['run', '--env', 'prod', '--project-id', project.id, '--',
            'sh', '-c', `set -a; . ${envFile}; printf '%s|%s' "$DB_PASSWORD" "$API_KEY"`]);
        assert.equal(sh.stdout, `${VALUES.DB_PASSWORD}|${VALUES.API_KEY}`);
        for (const f of [envFile, jsonFile])
            assert.equal((await stat(f)).mode & 0o777, 0o600, `${f} is 0600`);
        await waitFor(async () => (await stat(sock).catch(() => null))?.isSocket(), { what: 'the socket' });
        assert.equal((await stat(sock)).mode & 0o777, 0o600, 'the socket is 0600');
        assert.equal(await fileText(marker), null, 'the first render runs no command');

        /* arca run through the socket: no login at all (an empty config dir, no URL) */
        const stranger = await newCli(null);
        const run = await stranger.arca(['run', '--env', 'prod', '--agent-socket', sock, '--project-id',
            project.id, '--', 'sh', '-c', 'printf "%s" "$DB_PASSWORD"']);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, VALUES.DB_PASSWORD);
        const envRun = await stranger.arca(['run', '--env', 'prod', '--', 'sh', '-c', 'printf "%s" "$API_KEY"'],
            { env: { ARCA_AGENT_SOCKET: sock } });
        assert.equal(envRun.stdout, VALUES.API_KEY, envRun.stderr);
        /* only the folders in its config, only its project */
        const dev = await stranger.arca(['run', '--env', 'dev', '--agent-socket', sock, '--', 'true']);
        assertErrorOutput(dev, 4);
        assert.match(dev.stderr, /does not serve that environment/);
        const other = await stranger.arca(['run', '--env', 'prod', '--agent-socket', sock,
            '--project-id', '00000000-0000-4000-8000-000000000000', '--', 'true']);
        assert.match(other.stderr, /serves another project/);
        assert.notEqual(other.code, 0);
        if (process.getuid?.() === 0) {
            /* another user cannot even connect (mode 0600, and the agent checks SO_PEERCRED) */
            const { spawnSync } = await import('node:child_process');
            /* a copy that user can execute: the checkout may be in a 0700
             * directory (mktemp -d, as the README's CI command makes) */
            const pub = await tempDir('arca-bin-');
            await chmod(pub, 0o755);
            const bin = path.join(pub, 'arca');
            await copyFile(ARCA_BIN, bin);
            await chmod(bin, 0o755);
            const r = spawnSync(bin, ['run', '--env', 'prod', '--agent-socket', sock, '--',
                'sh', '-c', 'printf "%s" "$DB_PASSWORD"'], { uid: 65534, gid: 65534, encoding: 'utf8',
                cwd: '/', env: { PATH: process.env.PATH } });
            assert.equal(r.status, 6, `another user: ${r.stderr}`);
            assert.match(r.stderr, /cannot reach the arca agent.*Permission denied/);
            assert.ok(!r.stdout.includes(VALUES.DB_PASSWORD));
        }

        /* a change: both files again, then the command */
        await setSecret('DB_PASSWORD', 'pw-second-9d1e');
        await waitFor(async () => (await fileText(envFile))?.includes('pw-second-9d1e'),
            { what: 'the re-render' });
        await waitFor(async () => (await fileText(marker)) === 'reload\n', { what: 'the command' });
        await waitFor(async () => JSON.parse(await fileText(jsonFile)).DB_PASSWORD === 'pw-second-9d1e',
            { what: 'the JSON re-render' });
        const run2 = await stranger.arca(['run', '--env', 'prod', '--agent-socket', sock, '--',
            'sh', '-c', 'printf "%s" "$DB_PASSWORD"']);
        assert.equal(run2.stdout, 'pw-second-9d1e');
        assert.equal((await stat(envFile)).mode & 0o777, 0o600, 'still 0600 after the rename');

        /* the server restarts (same store, same address): the agent keeps serving, then follows */
        await srv.stop();
        const down = await stranger.arca(['run', '--env', 'prod', '--agent-socket', sock, '--',
            'sh', '-c', 'printf "%s" "$DB_PASSWORD"']);
        assert.equal(down.stdout, 'pw-second-9d1e', 'served while the server is down');
        await waitFor(() => /cannot be reached/.test(agent.logs()), { what: 'the agent noticing' });
        srv = await startServer({ dataDir: srv.dataDir, args: ['--listen', srv.listen] });
        await setSecret('DB_PASSWORD', 'pw-third-after-restart');
        await waitFor(async () => (await fileText(envFile))?.includes('pw-third-after-restart'),
            { what: 'the render after the restart' });
        await waitFor(async () => (await fileText(marker)) === 'reload\nreload\n', { what: 'the command again' });
        assert.equal(agent.proc.exitCode, null, 'the agent still runs');

        const r = await stopAgent(agent);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await stat(sock).catch(() => null), null, 'the socket is removed on SIGTERM');
        const logs = agent.logs();
        for (const v of [...Object.values(VALUES), 'pw-second-9d1e', 'pw-third-after-restart',
            ident.clientSecret])
            assert.ok(!logs.includes(v), 'no value or client secret in the logs');
        assert.match(logs, /"msg":"rendered"/);
        agent = null;
    } finally {
        if (agent)
            agent.proc.kill('SIGKILL');
    }
});

test('agent --once renders and exits 0 (init container); the same config as a sidecar keeps rendering', async () => {
    const shared = await tempDir('arca-emptydir-');
    const envFile = path.join(shared, 'app.env');
    const cfg = await writeConfig('pod.yaml', config(ident, {
        templates: [{ environment: 'prod', destination: envFile }],
    }));
    const init = startAgent(cfg, ['--once']);
    const r = await init.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(await fileText(envFile), /DB_PASSWORD=/);
    assert.equal((await stat(envFile)).mode & 0o777, 0o600);

    /* the sidecar, this time with its client secret in the environment: the
     * template's command does not inherit it */
    const dump = path.join(shared, 'command.env');
    const envCfg = await writeConfig('pod-env.yaml', {
        server: srv.url, 'project-id': project.id, auth: { 'client-id': ident.clientId },
        templates: [{ environment: 'prod', destination: envFile, command: `env > ${dump}` }],
    });
    const sidecar = startAgent(envCfg, [],
        { ARCA_CLIENT_SECRET: (await readFile(secretFile, 'utf8')).trim() });
    try {
        await waitFor(() => /agent running/.test(sidecar.logs()), { what: 'the sidecar' });
        await setSecret('API_KEY', 'key-sidecar-2');
        await waitFor(async () => (await fileText(envFile))?.includes('key-sidecar-2'),
            { what: 'the sidecar render' });
        const env = await waitFor(() => fileText(dump), { what: 'the command' });
        assert.match(env, /^PATH=/m);
        assert.ok(!env.includes(ident.clientSecret), 'the command does not see the client secret');
    } finally {
        const s = await stopAgent(sidecar);
        assert.equal(s.code, 0);
    }
    await setSecret('API_KEY', VALUES.API_KEY);
});

test('agent: a revoked client secret ends it with exit code 3 and a clear message', async () => {
    const bot = await identity('revoked-bot');
    const envFile = path.join(dir, 'revoked.env');
    const cfg = await writeConfig('revoked.yaml', config(bot, {
        templates: [{ environment: 'prod', destination: envFile }],
    }));
    const agent = startAgent(cfg);
    await waitFor(() => /agent running/.test(agent.logs()), { what: 'the agent' });
    const ls = JSON.parse((await ok(owner, ['identities', 'client-secret', 'list', '--identity',
        'revoked-bot', '--format', 'json'])).stdout);
    await ok(owner, ['identities', 'client-secret', 'revoke', ls[0].id, '--identity', 'revoked-bot']);
    const r = await agent.done;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /credentials were refused \(a revoked client secret/);
    assert.ok(!r.stderr.includes(bot.clientSecret));
    /* and it does not start with them either */
    const again = await startAgent(cfg).done;
    assert.equal(again.code, 3);
});

test('agent: config errors are refused with the reason', async () => {
    const bad = async (text, re) => {
        const f = path.join(dir, 'bad.yaml');
        await writeFile(f, text);
        const r = await owner.arca(['agent', '--config', f]);
        assert.equal(r.code, 5, r.stderr);
        assert.match(r.stderr, re);
    };
    const base = `server: ${srv.url}\nproject-id: ${project.id}\n`;
    await bad(`${base}auth:\n  client-id: x\n  client-secret: ${'a'.repeat(64)}\n`,
        /must not be written in the config file/);
    await bad(`${base}intervall: 5s\n`, /unknown setting 'intervall'/);
    await bad(`${base}a: &x [1]\nb: *x\n`, /anchors/);
    await bad(`${base}server: again\n`, /line 3: 'server' is given twice/);
    await bad(`${base}templates: [{environment: prod}]\nauth: {client-id: x, client-secret-file: ${secretFile}}\n`,
        /needs 'environment' and 'destination'/);
    await bad('- a list\n', /must be a mapping/);
    await bad(`${base}socket: /tmp/x.sock\nserve:\n  - {environment: prod, paht: /}\n` +
        `auth: {client-id: x, client-secret-file: ${secretFile}}\n`, /unknown setting 'paht' in 'serve'/);
    await bad(`${base}interval: 0s\n`, /'interval' must be a duration from 1s to 24h/);
    await bad(`${base}templates:\n  - {environment: prod, destination: /tmp/same.env}\n` +
        `  - {environment: dev, destination: /tmp/same.env}\nauth: {client-id: x, client-secret-file: ${secretFile}}\n`,
    /templates 1 and 2 write the same file/);
    /* JSON is YAML too */
    const json = path.join(dir, 'agent.json');
    const envFile = path.join(dir, 'from-json.env');
    await writeFile(json, JSON.stringify(config(ident, { once: 'true',
        templates: [{ environment: 'prod', destination: envFile, format: 'dotenv-export' }] })));
    await ok(owner, ['agent', '--config', json]);
    assert.match(await fileText(envFile), /^export DB_PASSWORD=/m);
});

test('change feed: answers on a write, refuses outsiders, is audited and bounded', async () => {
    const token = (await readToken(owner));
    const route = `${V1}/projects/${project.id}/watch?environment=prod&secretPath=/`;
    const first = await apiCall(srv, 'GET', route, { token });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.changed, false);
    const cursor = first.json.cursor;
    assert.match(cursor, /^[0-9]+$/);

    /* 16 waits of one principal at once; the 17th is refused.  A wait is
     * recorded once it holds its place; the count starts from the records
     * already there (the agents of the tests before watch this project too) */
    const auditOf = async () => JSON.parse((await ok(owner, ['audit-logs', 'list', '--project-id',
        project.id, '--event', 'secret.watch', '--limit', '1000', '--format', 'json'])).stdout);
    const recorded = (await auditOf()).length;
    const waits = [];
    for (let i = 0; i < 16; i++)
        waits.push(apiCall(srv, 'GET', `${route}&cursor=${cursor}&timeout=25`, { token }));
    await waitFor(async () => (await auditOf()).length >= recorded + 16,
        { what: 'the waits to be audited' });
    const extra = await apiCall(srv, 'GET', `${route}&cursor=${cursor}&timeout=25`, { token });
    assert.equal(extra.status, 429, extra.text);
    assert.match(extra.json.message, /too many watches/);
    await setSecret('WAKE', 'up');
    for (const w of await Promise.all(waits)) {
        assert.equal(w.status, 200);
        assert.equal(w.json.changed, true);
        assert.notEqual(w.json.cursor, cursor);
    }
    /* an old cursor answers at once */
    const stale = await apiCall(srv, 'GET', `${route}&cursor=${cursor}`, { token });
    assert.equal(stale.json.changed, true);

    /* refusals */
    assert.equal((await apiCall(srv, 'GET', route)).status, 401);
    const none = await identity('no-access-bot', 'no-access');
    const outsider = await newCli(srv);
    const r2 = await outsider.arca(['login', '--method=universal-auth', '--client-id', none.clientId,
        '--client-secret', (await readFile(none.file, 'utf8')).trim()]);
    assert.equal(r2.code, 0, r2.stderr);
    const denied = await apiCall(srv, 'GET', route, { token: await readToken(outsider) });
    assert.equal(denied.status, 403, denied.text);
    const bad = await apiCall(srv, 'GET', `${route}&timeout=999`, { token });
    assert.equal(bad.status, 400);
    assert.equal((await apiCall(srv, 'GET', `${route}&cursor=abc`, { token })).status, 400);
    const audit = await auditOf();
    assert.ok(audit.every((e) => e.environment === 'prod' && e.path === '/'));
});

test('change feed: a write to another project wakes no wait; one to the project, in any folder, does', async () => {
    const token = await readToken(owner);
    const other = await createProject(owner, 'feed-elsewhere');
    const route = `${V1}/projects/${project.id}/watch?environment=prod&secretPath=/`;
    const cursor = (await apiCall(srv, 'GET', route, { token })).json.cursor;
    /* a wait of 2 s during which only the other project changes: unchanged */
    const quiet = apiCall(srv, 'GET', `${route}&cursor=${cursor}&timeout=2`, { token });
    await ok(owner, ['secrets', 'set', 'ELSEWHERE=1', '--env', 'prod', '--project-id', other.id]);
    const q = await quiet;
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(q.json, { cursor, changed: false });
    const again = await apiCall(srv, 'GET', `${route}&cursor=${cursor}&timeout=1`, { token });
    assert.equal(again.json.changed, false, 'the cursor is still current for this project');
    /* a write in another environment of the project wakes it */
    const woken = apiCall(srv, 'GET', `${route}&cursor=${cursor}&timeout=25`, { token });
    await ok(owner, ['secrets', 'set', 'FEED_DEV=1', '--env', 'dev', '--project-id', project.id]);
    const w = await woken;
    assert.equal(w.json.changed, true, w.text);
    assert.notEqual(w.json.cursor, cursor);
});

test('run --watch: restarts the child on a change, passes signals and the exit code through', async () => {
    const marker = path.join(dir, 'watch-exit');
    /* the child prints its value once its trap is set, stops on SIGTERM with 0, exits 7
     * when the marker appears */
    const script = `trap 'echo "term $DB_PASSWORD"; exit 0' TERM; echo "value=$DB_PASSWORD"; ` +
        `while [ ! -e ${marker} ]; do sleep 0.05; done; exit 7`;
    const w = owner.spawn(['run', '--watch', '--env', 'prod', '--project-id', project.id, '--',
        'sh', '-c', script]);
    const out = (c) => Buffer.concat(c.stdoutChunks).toString('utf8');
    await waitFor(() => /value=pw-/.test(out(w)), { what: 'the child' });
    await setSecret('DB_PASSWORD', 'pw-watch-2');
    await waitFor(() => /value=pw-watch-2/.test(out(w)), { what: 'the restart' });
    assert.match(out(w), /term pw-/, 'the old child got SIGTERM');
    await writeFile(marker, '');
    const r = await w.done;
    assert.equal(r.code, 7, 'the exit code of the child passes through');
    assert.match(r.stderr, /the secrets changed: restarting sh/);
    assert.ok(!r.stderr.includes('pw-watch-2'));

    /* a child that ignores SIGTERM is killed after --grace; a signal sent to arca reaches the child */
    const stubborn = owner.spawn(['run', '--watch', '--grace', '1s', '--env', 'prod', '--project-id',
        project.id, '--', 'sh', '-c',
        /* the traps first: a signal must not find the shell without them */
        `trap 'echo ignored' TERM; trap 'echo usr1; exit 42' USR1; echo "v=$DB_PASSWORD"; while :; do sleep 0.05; done`]);
    await waitFor(() => /v=pw-watch-2/.test(out(stubborn)), { what: 'the child' });
    await setSecret('DB_PASSWORD', 'pw-watch-3');
    await waitFor(() => /v=pw-watch-3/.test(out(stubborn)), { what: 'the kill and restart' });
    stubborn.proc.kill('SIGUSR1');
    const s = await stubborn.done;
    assert.equal(s.code, 42, s.stderr);
    assert.match(s.stderr, /did not stop within 1s: killing it/);
});

test('kubernetes: the agent config of deploy/kubernetes/app-with-agent.yaml runs as init container, sidecar and app', async () => {
    const manifest = await readFile(path.join(REPO_ROOT, 'deploy', 'kubernetes', 'app-with-agent.yaml'),
        'utf8');
    /* the ConfigMap's agent.yaml: the block under "agent.yaml: |", indented 4 */
    const lines = manifest.split('\n');
    const start = lines.findIndex((l) => l.trim() === 'agent.yaml: |') + 1;
    assert.ok(start > 0, 'the manifest has a ConfigMap agent.yaml');
    const block = [];
    for (const l of lines.slice(start)) {
        if (l.trim() && !l.startsWith('    '))
            break;
        block.push(l.slice(4));
    }
    const emptyDir = await tempDir('arca-pod-run-');
    const idDir = await tempDir('arca-pod-identity-');
    await writeFile(path.join(idDir, 'client-id'), ident.clientId + '\n', { mode: 0o400 });
    await writeFile(path.join(idDir, 'client-secret'), await readFile(secretFile), { mode: 0o400 });
    const text = block.join('\n')
        .replace(/^server: .*$/m, `server: ${srv.url}`)
        .replace(/^project-id: .*$/m, `project-id: ${project.id}`)
        .replaceAll('/etc/arca/identity', idDir)
        .replaceAll('/run/arca', emptyDir);
    assert.match(text, /client-secret-file:/, 'the identity comes from mounted files');
    const cfg = path.join(dir, 'pod-agent.yaml');
    await writeFile(cfg, text);
    const sock = path.join(emptyDir, 'agent.sock');
    const envFile = path.join(emptyDir, 'app.env');

    /* the init container: renders, exits 0 */
    const init = await startAgent(cfg, ['--once']).done;
    assert.equal(init.code, 0, init.stderr);
    assert.match(await fileText(envFile), /^DB_PASSWORD=/m);
    assert.equal((await stat(envFile)).mode & 0o777, 0o600);
    /* the sidecar, then the app container's command (arca run through the socket) */
    assert.match(manifest, /"arca", "run", "--agent-socket", "\/run\/arca\/agent.sock", "--env", "prod"/);
    const sidecar = startAgent(cfg);
    try {
        await waitFor(async () => (await stat(sock).catch(() => null))?.isSocket(), { what: 'the socket' });
        const app = await owner.arca(['run', '--agent-socket', sock, '--env', 'prod', '--', 'sh', '-c',
            'printf "%s" "$API_KEY"']);
        assert.equal(app.code, 0, app.stderr);
        assert.equal(app.stdout, VALUES.API_KEY);
        await setSecret('API_KEY', 'key-pod-2');
        await waitFor(async () => (await fileText(envFile))?.includes('key-pod-2'), { what: 'the pod render' });
    } finally {
        assert.equal((await stopAgent(sidecar)).code, 0);
        await setSecret('API_KEY', VALUES.API_KEY);
    }
});

test('agent without the change feed: conditional requests (304) every interval, a change still arrives', async () => {
    const envFile = path.join(dir, 'polled.env');
    const cfg = await writeConfig('polled.yaml', config(ident, {
        watch: 'false', interval: '1s',
        templates: [{ environment: 'prod', destination: envFile }],
    }));
    const route = `/api/arca/v1/projects/${project.id}/secrets`;
    const from = srv.logs.length; /* the requests of this agent only */
    const seen = (status) => srv.logs.slice(from).some((l) => l.includes(`"path":"${route}"`) &&
        l.includes(`"status":${status}`));
    const agent = startAgent(cfg);
    try {
        await waitFor(() => seen(304), { what: 'a 304 answer to the agent' });
        assert.ok(seen(200), 'the first fetch was a 200');
        await setSecret('API_KEY', 'key-polled-2');
        await waitFor(async () => (await fileText(envFile))?.includes('key-polled-2'),
            { what: 'the polled render' });
    } finally {
        assert.equal((await stopAgent(agent)).code, 0);
        await setSecret('API_KEY', VALUES.API_KEY);
    }
});

test('agent: format template fills {{ KEY }} with values escaped for the file; a missing key writes nothing', async () => {
    const out = path.join(dir, 'app.conf');
    const cfg = await writeConfig('tmpl.yaml', config(ident, { once: 'true', templates: [
        { environment: 'prod', destination: out, format: 'template', escape: 'shell',
            template: 'export PW={{ .DB_PASSWORD }}\nexport KEY={{API_KEY}}\n' }] }));
    await ok(owner, ['agent', '--config', cfg]);
    const sh = await ok(owner, ['run', '--env', 'dev', '--project-id', project.id, '--', 'sh', '-c',
        `. ${out}; printf '%s|%s' "$PW" "$KEY"`]);
    assert.equal(sh.stdout, `${(await currentValues()).DB_PASSWORD}|${VALUES.API_KEY}`);
    assert.equal((await stat(out)).mode & 0o777, 0o600);

    const missing = path.join(dir, 'missing.conf');
    const bad = await writeConfig('tmpl-bad.yaml', config(ident, { once: 'true', templates: [
        { environment: 'prod', destination: missing, format: 'template', template: 'x={{ NOPE }}' }] }));
    const r = await owner.arca(['agent', '--config', bad]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /"key":"NOPE".*names a secret the folder does not hold/);
    assert.equal(await fileText(missing), null, 'nothing is written');
    const malformed = await writeConfig('tmpl-malformed.yaml', config(ident, { templates: [
        { environment: 'prod', destination: missing, format: 'template', template: 'x={{ A B }}' }] }));
    const m = await owner.arca(['agent', '--config', malformed]);
    assert.equal(m.code, 5);
    assert.match(m.stderr, /malformed placeholder at character 3/);
});

test('agent: follows a rotation of the project key (a new handle opens the new key)', async () => {
    const envFile = path.join(dir, 'rotated.env');
    const cfg = await writeConfig('rotate.yaml', config(ident, {
        templates: [{ environment: 'prod', destination: envFile }],
    }));
    const agent = startAgent(cfg);
    try {
        await waitFor(() => /agent running/.test(agent.logs()), { what: 'the agent' });
        await ok(owner, ['projects', 'rotate-key', '--yes', '--project-id', project.id]);
        await setSecret('API_KEY', 'key-after-rotation');
        await waitFor(async () => (await fileText(envFile))?.includes('key-after-rotation'),
            { what: 'the render after the rotation' });
        assert.equal(agent.proc.exitCode, null, 'still running');
    } finally {
        assert.equal((await stopAgent(agent)).code, 0);
        await setSecret('API_KEY', VALUES.API_KEY);
    }
});

test('run --watch: follows a rotation of the project key', async () => {
    const w = owner.spawn(['run', '--watch', '--env', 'prod', '--project-id', project.id, '--',
        'sh', '-c', `trap 'exit 0' TERM; echo "key=$API_KEY"; while :; do sleep 0.05; done`]);
    const out = () => Buffer.concat(w.stdoutChunks).toString('utf8');
    try {
        await waitFor(() => /key=/.test(out()), { what: 'the child' });
        await ok(owner, ['projects', 'rotate-key', '--yes', '--project-id', project.id]);
        await setSecret('API_KEY', 'key-watch-rotated');
        await waitFor(() => out().includes('key=key-watch-rotated'), { what: 'the restart' });
    } finally {
        w.proc.kill('SIGTERM'); /* forwarded: the child's trap ends it */
    }
    const r = await w.done;
    assert.equal(r.code, 0, r.stderr);
    await setSecret('API_KEY', VALUES.API_KEY);
});
