// setup.mjs - what a benchmark measures arca on: a server with a 50-secret
// project read by a machine identity (smallSetup), the routes of the read
// workloads w1-w3 and the write workload w4, and the bodies their peers serve.
// Import it after build.mjs's ensureArca() (the harness reads ARCA_BIN when it
// is loaded).
import { bootstrapAndLogin, newCli } from '../../tests/e2e/harness.mjs';
import { rssMiB, startArca } from './procs.mjs';

/* Runs the CLI; throws on a non-zero exit, naming the command but never its
 * arguments (they hold the values being set). */
export async function ok(cli, args) {
    const r = await cli.arca(args, { timeoutMs: 10 * 60 * 1000 });
    if (r.code !== 0)
        throw new Error(`arca ${args.slice(0, 2).join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

export const secretValue = (i) => `value-${i}-${'s'.repeat(24)}-${(i * 2654435761 % 4294967296).toString(16)}`;

/* KEY_<from>..KEY_<to-1> into env/secretPath, at most 1000 a call (the batch limit). */
export async function seed(cli, projectId, env, secretPath, from, to) {
    for (let i = from; i < to; i += 1000) {
        const pairs = [];
        for (let k = i; k < Math.min(to, i + 1000); k++)
            pairs.push(`KEY_${k}=${secretValue(k)}`);
        await ok(cli, ['secrets', 'set', ...pairs, '--env', env, '--path', secretPath,
            '--project-id', projectId]);
    }
}

export async function project(cli, name) {
    const r = await ok(cli, ['projects', 'create', name, '--server-access', '--format', 'json']);
    return JSON.parse(r.stdout);
}

/* A machine identity, member of the project, logged in with universal auth. */
export async function identity(server, cli, name, projectId) {
    const r = await ok(cli, ['identities', 'create', name, '--project-id', projectId, '--role',
        'member', '--format', 'json']);
    const { clientId, clientSecret } = JSON.parse(r.stdout);
    const token = await uaLogin(server, clientId, clientSecret);
    return { clientId, clientSecret, token };
}
export async function uaLogin(server, clientId, clientSecret) {
    const res = await fetch(server.url + '/api/v1/auth/universal-auth/login', { method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ clientId, clientSecret }) });
    const j = await res.json();
    if (res.status !== 200)
        throw new Error(`universal-auth login: ${res.status} ${j.message}`);
    return j.accessToken;
}

/* A server on dataDir (args, env: startArca's) with its admin CLI and a
 * 50-secret project with server access (the keys in prod and staging) read by
 * a member machine identity. */
export async function smallSetup(dataDir, args = [], env = {}) {
    const server = await startArca(dataDir, args, env);
    const idleRss = rssMiB(server.pid);
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const small = await project(cli, 'bench');
    await seed(cli, small.id, 'prod', '/', 0, 50);
    await seed(cli, small.id, 'staging', '/', 0, 50);
    const bot = await identity(server, cli, 'bench-bot', small.id);
    return { server, idleRss, cli, small, bot };
}

/* The body a GET answers (the peer serves exactly these bytes). */
export async function body(url, token) {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    const buf = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200)
        throw new Error(`GET ${url}: ${res.status} ${buf.toString().slice(0, 300)}`);
    return buf;
}

/* The query of the raw routes: project id's prod environment at /, then extra. */
export const rawQuery = (id, extra = '') =>
    `workspaceId=${id}&environment=prod&secretPath=%2F${extra}`;

/* The paths of the read workloads on project id: w1 list 50 on the raw route,
 * w2 the same list on arca's end-to-end route, w3 one secret by name. */
export const readPaths = (id) => ({
    w1: `/api/v3/secrets/raw?${rawQuery(id)}`,
    w2: `/api/arca/v1/projects/${id}/secrets?environment=prod&secretPath=%2F`,
    w3: `/api/v3/secrets/raw/KEY_25?${rawQuery(id)}`,
});

/* w4: durable updates (a new version and its audit record each) of the 50
 * keys of staging in project id on server s, as a wrk() request. */
export const w4req = (s, id, token) => ({ url: s.url, path: '/api/v3/secrets/raw/{key}', token,
    method: 'PATCH', keys: 50, body: JSON.stringify({ workspaceId: id,
        environment: 'staging', secretPath: '/', secretValue: 'updated-{n}' }) });

/* w5: universal-auth logins of identity bot on server s, as a wrk() request,
 * and the server flags that raise the login rate limits out of its way (the
 * defaults, 20 per address then 20 a minute, would measure 429s). */
export const W5_ARGS = ['--login-limit-ip', '1000000000,1000000000', '--login-limit-account',
    '1000000000,1000000000'];
export const w5req = (s, bot) => ({ url: s.url, path: '/api/v1/auth/universal-auth/login',
    method: 'POST', body: JSON.stringify({ clientId: bot.clientId, clientSecret: bot.clientSecret }) });
