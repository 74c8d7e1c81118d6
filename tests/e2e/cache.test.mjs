// cache.test.mjs - the server's read caches (tokens and replies, cache.h) are
// invisible to users: every read is audited, hits included; a change is seen
// by the very next request (a write, a revoked token, a removed member, a
// changed role); a reply is never served to another caller or another URL.
// Reads are repeated so that the second one is the one a cache would answer.
// A write to one project leaves the other projects' cached replies current
// (per-project epochs: counted on /metrics' reply-cache hits).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    apiCall, assertApiError, bootstrapAndLogin, inviteAndSignup, newCli, readToken,
    removeTempDirs, startServer,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
let srv;
let admin; /* CLI of the admin */
let bob; /* CLI of a member */
let proj;
let pid;
let bot; /* a machine identity's access token (member) */

async function ok(cli, args, opts) {
    const r = await cli.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    return r;
}

const q = (extra = '') => `workspaceId=${proj.id}&environment=prod&secretPath=%2F${extra}`;
const list = (token, extra) => apiCall(srv, 'GET', `/api/v3/secrets/raw?${q(extra)}`, { token });
const get = (token, name) => apiCall(srv, 'GET', `/api/v3/secrets/raw/${name}?${q()}`, { token });
const refused = (r, status, error) => assertApiError(r, status, error, r.text);
const values = (r) => Object.fromEntries(r.json.secrets.map((s) => [s.secretKey, s.secretValue]));

async function listed(token, extra) {
    const r = await list(token, extra);
    assert.equal(r.status, 200, r.text);
    return r;
}

async function uaToken(name, role) {
    const r = await ok(admin, ['identities', 'create', name, ...pid, '--role', role, '--format',
        'json']);
    const { clientId, clientSecret } = JSON.parse(r.stdout);
    const l = await apiCall(srv, 'POST', '/api/v1/auth/universal-auth/login',
        { body: { clientId, clientSecret } });
    assert.equal(l.status, 200, l.text);
    return l.json.accessToken;
}

before(async () => {
    srv = await startServer({ args: ['--metrics-listen', '127.0.0.1:0'] });
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    const r = await ok(admin, ['projects', 'create', 'cached', '--server-access', '--format', 'json']);
    proj = JSON.parse(r.stdout);
    pid = ['--project-id', proj.id];
    await ok(admin, ['secrets', 'set', 'A=1', 'B=2', '--env=prod', ...pid]);
    bot = await uaToken('cache-bot', 'member');
    bob = (await inviteAndSignup(admin, srv, 'bob@example.com')).cli;
    await ok(admin, ['members', 'add', 'bob@example.com', '--role', 'member', ...pid]);
});

after(async () => {
    if (srv)
        await srv.stop();
    await removeTempDirs();
});

test('every read is audited, the repeated ones too, with the same record', T, async () => {
    const first = await listed(bot);
    for (let i = 0; i < 3; i++) {
        const again = await listed(bot);
        assert.equal(again.text, first.text, 'the same reply');
        assert.equal(again.headers.get('etag'), first.headers.get('etag'));
    }
    const etag = first.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const same = await apiCall(srv, 'GET', `/api/v3/secrets/raw?${q()}`,
        { token: bot, headers: { 'If-None-Match': etag } });
    assert.equal(same.status, 304, 'unchanged: 304 from the cached reply');
    assert.equal(same.text, '');
    for (let i = 0; i < 2; i++)
        assert.equal((await get(bot, 'A')).json.secret.secretValue, '1');
    const log = await ok(admin, ['audit-logs', 'export']);
    const mine = log.stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l))
        .filter((x) => JSON.stringify(x).includes('cache-bot'));
    const lists = mine.filter((x) => x.event === 'secret.list');
    const reads = mine.filter((x) => x.event === 'secret.read' && x.key === 'A');
    assert.equal(lists.length, 5, `five list records (the 304 too): ${JSON.stringify(mine)}`);
    assert.equal(reads.length, 2, 'two read records');
    for (const x of lists) {
        assert.equal(x.environment, 'prod');
        assert.equal(x.path, '/');
        assert.deepEqual(JSON.parse(JSON.stringify(x.metadata)), lists[0].metadata);
    }
    assert.equal(lists[0].metadata.count, 2, JSON.stringify(lists[0]));
});

test('a write is seen by the next read, whoever wrote it and through which route', T, async () => {
    const before = await listed(bot);
    assert.deepEqual(values(before), { A: '1', B: '2' });
    await ok(admin, ['secrets', 'set', 'A=10', '--env=prod', ...pid]);
    const changed = await apiCall(srv, 'GET', `/api/v3/secrets/raw?${q()}`,
        { token: bot, headers: { 'If-None-Match': before.headers.get('etag') } });
    assert.equal(changed.status, 200, 'changed: a new body, not 304');
    assert.notEqual(changed.headers.get('etag'), before.headers.get('etag'));
    assert.deepEqual(values(changed), { A: '10', B: '2' });
    assert.equal((await get(bot, 'A')).json.secret.secretValue, '10');
    const w = await apiCall(srv, 'PATCH', '/api/v3/secrets/raw/A', { token: bot,
        body: { workspaceId: proj.id, environment: 'prod', secretPath: '/', secretValue: '11' } });
    assert.equal(w.status, 200, w.text);
    assert.equal((await get(bot, 'A')).json.secret.secretValue, '11');
    assert.deepEqual(values(await listed(bot)), { A: '11', B: '2' });
    await ok(admin, ['secrets', 'delete', 'B', '--env=prod', ...pid]);
    assert.deepEqual(values(await listed(bot)), { A: '11' });
    refused(await get(bot, 'B'), 404, 'NotFound');
});

/* The reply cache's hits so far (/metrics, arca_cache_requests_total). */
async function cacheHits() {
    const line = srv.logs.map((l) => JSON.parse(l)).find((r) => r.msg === 'metrics listening');
    const text = await (await fetch(`http://${line.listen}/metrics`)).text();
    const m = text.match(/^arca_cache_requests_total\{result="hit"\} (\d+)$/m);
    assert.ok(m, 'the reply cache counts its hits');
    return Number(m[1]);
}

test('a write to one project leaves the cached replies of another current', T, async () => {
    const r = await ok(admin, ['projects', 'create', 'elsewhere', '--server-access', '--format',
        'json']);
    const other = JSON.parse(r.stdout);
    await ok(admin, ['secrets', 'set', 'X=1', '--env=prod', '--project-id', other.id]);
    const first = await listed(bot);
    let hits = await cacheHits();
    assert.equal((await listed(bot)).text, first.text);
    assert.equal(await cacheHits(), hits + 1, 'the repeated read is a hit');
    hits += 1;
    /* writes of another project's secrets: through the CLI and the raw route */
    await ok(admin, ['secrets', 'set', 'X=2', 'Y=3', '--env=prod', '--project-id', other.id]);
    const w = await apiCall(srv, 'PATCH', '/api/v3/secrets/raw/X', { token: await readToken(admin),
        body: { workspaceId: other.id, environment: 'prod', secretPath: '/', secretValue: '4' } });
    assert.equal(w.status, 200, w.text);
    assert.equal((await listed(bot)).text, first.text);
    assert.equal(await cacheHits(), hits + 1, 'still a hit after the other project changed');
    hits += 1;
    /* a write of this project's secrets: a miss, and the new value */
    await ok(admin, ['secrets', 'set', 'C=3', '--env=prod', ...pid]);
    const after = await listed(bot);
    assert.equal(values(after).C, '3');
    assert.equal(await cacheHits(), hits, 'a write to the project is seen: no hit');
    await ok(admin, ['secrets', 'delete', 'C', '--env=prod', ...pid]);
    assert.equal(values(await listed(bot)).C, undefined);
    /* something global (a new member of the organization): every reply is loaded again */
    await listed(bot);
    hits = await cacheHits();
    await inviteAndSignup(admin, srv, 'global-change@example.com');
    await listed(bot);
    assert.equal(await cacheHits(), hits, 'a global change empties what depends on it');
});

test('each URL and each caller has its own reply', T, async () => {
    const full = await listed(bot);
    const hidden = await listed(bot, '&viewSecretValue=false');
    assert.ok(hidden.json.secrets.every((s) => s.secretValueHidden && s.secretValue !== '11'),
        hidden.text);
    assert.equal((await listed(bot)).text, full.text);
    /* bob's personal override is his alone: the same URL answers him and the bot differently
     * (written through the raw routes, so the server can read it: one set with the CLI is
     * sealed to bob and these routes pass it over) */
    const bobToken = await readToken(bob);
    const w = await apiCall(srv, 'POST', '/api/v3/secrets/raw/A', { token: bobToken, body: {
        workspaceId: proj.id, environment: 'prod', secretValue: 'bobs', type: 'personal' } });
    assert.equal(w.status, 200, w.text);
    const forBob = await listed(bobToken);
    assert.ok(forBob.json.secrets.some((s) => s.type === 'personal' && s.secretValue === 'bobs'));
    const forBot = await listed(bot);
    assert.ok(!forBot.text.includes('bobs'), 'the bot never sees bob\'s override');
    assert.equal((await listed(bobToken)).text, forBob.text);
});

test('a revoked token is refused at once, though its reads were cached', T, async () => {
    const t = await uaToken('revoked-bot', 'member');
    await listed(t);
    await listed(t);
    const r = await apiCall(srv, 'POST', '/api/v1/auth/token/revoke', { body: { accessToken: t } });
    assert.equal(r.status, 200, r.text);
    refused(await list(t), 401, 'UnauthorizedError');
    refused(await get(t, 'A'), 401, 'UnauthorizedError');
});

test('a logged-out session is refused at once', T, async () => {
    const dave = await inviteAndSignup(admin, srv, 'dave@example.com');
    await ok(admin, ['members', 'add', 'dave@example.com', '--role', 'member', ...pid]);
    const token = await readToken(dave.cli);
    await listed(token);
    await listed(token);
    await ok(dave.cli, ['logout']);
    refused(await list(token), 401, 'UnauthorizedError');
    refused(await apiCall(srv, 'GET', `${V1}/users/me`, { token }), 401, 'UnauthorizedError');
});

test('a changed role or a removed member is seen at once', T, async () => {
    const carol = await inviteAndSignup(admin, srv, 'carol@example.com');
    await ok(admin, ['members', 'add', 'carol@example.com', '--role', 'member', ...pid]);
    const token = await readToken(carol.cli);
    assert.equal(values(await listed(token)).A, '11');
    await listed(token);
    await ok(admin, ['members', 'update', 'carol@example.com', '--role', 'no-access', ...pid]);
    const denied = await list(token);
    assert.ok(denied.status === 403 || denied.status === 404, denied.text);
    await ok(admin, ['members', 'update', 'carol@example.com', '--role', 'member', ...pid]);
    assert.equal(values(await listed(token)).A, '11');
    await ok(admin, ['members', 'remove', 'carol@example.com', ...pid]);
    refused(await list(token), 404, 'NotFound');
    refused(await get(token, 'A'), 404, 'NotFound');
});

test('stopped in the middle of reads and writes, the server answers what it took and exits 0', T, async () => {
    const s = await startServer();
    try {
        const c = await newCli(s);
        await bootstrapAndLogin(c);
        const p = JSON.parse((await ok(c, ['projects', 'create', 'busy', '--server-access',
            '--format', 'json'])).stdout);
        await ok(c, ['secrets', 'set', 'K=0', '--env=prod', '--project-id', p.id]);
        const token = await readToken(c);
        const base = `workspaceId=${p.id}&environment=prod&secretPath=%2F`;
        let stopping = false;
        const answered = [];
        const loop = async (i) => {
            for (let n = 0; !stopping; n++) {
                const r = n % 2
                    ? await apiCall(s, 'GET', `/api/v3/secrets/raw?${base}`, { token })
                    : await apiCall(s, 'PATCH', '/api/v3/secrets/raw/K', { token, body: {
                        workspaceId: p.id, environment: 'prod', secretPath: '/',
                        secretValue: `v${i}-${n}` } });
                answered.push(r.status);
            }
        };
        const loops = Array.from({ length: 24 }, (_, i) => loop(i).catch(() => {}));
        while (answered.length < 200)
            await new Promise((r) => setTimeout(r, 20));
        const stopped = s.stop(); /* asserts exit 0, no panic, no sanitizer report */
        await stopped;
        stopping = true;
        await Promise.all(loops);
        assert.ok(answered.every((st) => st === 200), `only 200s: ${[...new Set(answered)]}`);
    } finally {
        await s.kill();
    }
});
