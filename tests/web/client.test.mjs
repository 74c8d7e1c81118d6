// The web app's client (web/src/lib/client.js: every key and value sealed and
// opened in the browser) against a real server and the real CLI: what one
// writes the other reads, both ways, for shared values, comments, multi-line
// values and personal overrides; service tokens and member keys sealed here
// work for the CLI; and the server never gets a value, a password or a key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
    bootstrapAndLogin, createProject, inviteAndSignup, newCli, removeTempDirs, startServer,
} from '../e2e/harness.mjs';
import * as C from '../../web/src/crypto/index.js';
import { Api, ApiError, signIn } from '../../web/src/lib/client.js';

let server, cli, admin, session, sent;
const handedOver = new Set();

before(async () => {
    await C.ready();
    server = await startServer();
    cli = await newCli(server);
    admin = await bootstrapAndLogin(cli);
    sent = [];
    // every request body the client sends, to check no secret leaves in clear
    const recording = (url, init) => {
        sent.push(`${init?.method} ${url} ${init?.body ?? ''}`);
        return fetch(url, init);
    };
    session = await signIn(new Api(server.url, recording), admin.email, admin.password);
});
after(async () => {
    await server?.stop();
    await removeTempDirs();
});

async function runEnv(c, projectId, env, args = []) {
    const r = await c.arca(['run', '--project-id', projectId, `--env=${env}`, ...args, '--',
        process.execPath, '-e', 'process.stdout.write(JSON.stringify(process.env))']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
}

test('sign-in: a wrong password is refused in words, the right one opens the key pair', async () => {
    const e = await signIn(new Api(server.url), admin.email, 'not-the-password').catch((x) => x);
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 401);
    assert.match(e.message, /invalid email or password/i);
    assert.equal(session.user.email, admin.email);
    assert.ok(C.keypairMatches(session.publicKey, session.privateKey));
});

test('browser writes, arca run reads: a project made in the browser, three environments', async () => {
    const p = await session.createProject('web-made', false);
    assert.equal(p.serverAccess, false);
    for (const env of ['dev', 'staging', 'prod'])
        await session.batch(p.id, env, '/', [
            { key: 'DATABASE_URL', value: `postgres://${env}-db/app`, comment: `the ${env} db` },
            { key: 'MULTI', value: 'line one\nline "two"\n  three' },
        ]);
    for (const env of ['dev', 'staging', 'prod']) {
        const got = await runEnv(cli, p.id, env);
        assert.equal(got.DATABASE_URL, `postgres://${env}-db/app`);
        assert.equal(got.MULTI, 'line one\nline "two"\n  three');
    }
    // the CLI shows no comments: read the sealed comment back in the client
    const again = await session.secrets(p.id, 'prod', '/');
    assert.equal(again.find((x) => x.key === 'DATABASE_URL').comment, 'the prod db');
});

test('the CLI writes, the browser reads (and a record moved by the server fails to open)', async () => {
    const p = await createProject(cli, 'cli-made');
    const s = await cli.arca(['secrets', 'set', '--project-id', p.id, '--env=prod', 'API_KEY=from-the-cli',
        'OTHER=x']);
    assert.equal(s.code, 0, s.stderr);
    await session.project(p.id);
    const secrets = await session.secrets(p.id, 'prod', '/');
    assert.deepEqual(secrets.map((x) => [x.key, x.value]), [['API_KEY', 'from-the-cli'], ['OTHER', 'x']]);
    // the same ciphertext presented under another key does not open
    const moved = session.open(p.id, { key: 'OTHER', type: 'shared', value: (await session.call('GET',
        `/api/arca/v1/projects/${p.id}/secrets?environment=prod&secretPath=/`)).secrets[0].value }, 'prod', '/');
    assert.equal(moved.value, null);
    assert.match(moved.error, /does not decrypt/);
});

test('personal overrides: the browser writes one, arca run gives it to its owner only', async () => {
    const p = await session.createProject('overrides', false);
    await session.batch(p.id, 'dev', '/', [{ key: 'TOKEN', value: 'shared' }]);
    await session.batch(p.id, 'dev', '/', [{ key: 'TOKEN', value: 'mine', personal: true }]);
    assert.equal((await runEnv(cli, p.id, 'dev')).TOKEN, 'mine');
    const list = await session.secrets(p.id, 'dev', '/');
    assert.deepEqual(list.map((s) => [s.type, s.value]), [['shared', 'shared'], ['personal', 'mine']]);
});

test('members and service tokens: keys sealed in the browser work for the CLI', async () => {
    const p = await session.createProject('team', false);
    await session.batch(p.id, 'prod', '/', [{ key: 'SHARED', value: 'for-bob' }]);
    const bob = await inviteAndSignup(cli, server, 'bob@example.com');
    await session.addMember(p.id, 'bob@example.com', 'viewer');
    assert.equal((await runEnv(bob.cli, p.id, 'prod')).SHARED, 'for-bob');

    // a refusal is shown in words: what was refused
    const bobSession = await signIn(new Api(server.url), bob.email, bob.password);
    await bobSession.project(p.id);
    const denied = await bobSession.batch(p.id, 'prod', '/', [{ key: 'NOPE', value: 'x' }]).catch((x) => x);
    assert.ok(denied instanceof ApiError);
    assert.equal(denied.status, 403);
    assert.match(denied.message, /^Not allowed: you are not allowed to create secrets in prod:\/.*\.$/);

    const { token } = await session.createServiceToken(p.id, {
        name: 'ci', scopes: [{ environment: 'prod', secretPath: '/' }], write: false, expiresIn: 3600,
    });
    assert.match(token, /^st\.[^.]+\.[^.]+\.[0-9a-f]{64}$/);
    const anon = await newCli(server);
    const r = await anon.arca(['run', '--env=prod', '--', process.execPath, '-e',
        'process.stdout.write(process.env.SHARED || "")'], { env: { ARCA_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'for-bob');
});

test('machine identities made in the browser: the CLI logs in with the client secret and reads', async () => {
    const p = await session.createProject('machines', false);
    await session.batch(p.id, 'prod', '/', [{ key: 'FOR_THE_BOT', value: 'bot-reads-this' }]);
    const { identity, clientSecret } = await session.createIdentity('ci-bot', { projectId: p.id, role: 'viewer' });
    assert.match(clientSecret, /^[0-9a-f]{64}$/);
    assert.ok(!sent.join('\n').includes(clientSecret), 'the client secret never leaves the client');
    const members = await session.members(p.id);
    assert.ok(members.some((m) => m.principalType === 'identity' && m.principalId === identity.id && m.role === 'viewer'));
    const bot = await newCli(server);
    const r = await bot.arca(['run', '--project-id', p.id, '--env=prod', '--', process.execPath, '-e',
        'process.stdout.write(process.env.FOR_THE_BOT || "")'],
        { env: { ARCA_CLIENT_ID: identity.clientId, ARCA_CLIENT_SECRET: clientSecret } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'bot-reads-this');
    assert.ok((await session.identities()).some((i) => i.id === identity.id));
    await session.deleteIdentity(identity.id);
    const again = await bot.arca(['run', '--project-id', p.id, '--env=prod', '--', 'true'],
        { env: { ARCA_CLIENT_ID: identity.clientId, ARCA_CLIENT_SECRET: clientSecret } });
    assert.notEqual(again.code, 0, 'a deleted identity cannot log in');
});

test('key rotation in the browser: every version re-sealed, the CLI and the history still read', async () => {
    const p = await session.createProject('rotate', true);
    handedOver.add(p.id); // server access: the key is handed to the server on purpose
    await session.batch(p.id, 'prod', '/', [{ key: 'R', value: 'before', comment: 'c1' }]);
    await session.batch(p.id, 'prod', '/', [{ key: 'R', value: 'after' }]);
    await session.batch(p.id, 'prod', '/', [{ key: 'R', value: 'mine', personal: true }]);
    const before = C.toB64(session.key(p.id));
    const r = await session.rotateKey(p.id);
    assert.equal(r.members, 1);
    assert.equal(r.versions, 3);
    assert.notEqual(C.toB64(session.key(p.id)), before);
    // a fresh sign-in opens the new key from the server's sealed copy
    const again = await signIn(new Api(server.url), admin.email, admin.password);
    await again.project(p.id);
    assert.deepEqual((await again.versions(p.id, 'prod', '/', 'R')).map((v) => v.value), ['after', 'before']);
    assert.equal((await runEnv(cli, p.id, 'prod')).R, 'mine');
    // server access was on: the server got the new key (its raw route still decrypts)
    const raw = await session.call('GET', `/api/v3/secrets/raw?workspaceId=${p.id}&environment=prod&secretPath=/`);
    assert.equal(raw.secrets.find((x) => x.secretKey === 'R').secretValue, 'after');
});

test('imports and references resolve in the browser as arca run resolves them', async () => {
    const p = await session.createProject('refs', false);
    await session.batch(p.id, 'prod', '/', [{ key: 'HOST', value: 'db.internal' }, { key: 'SHARED', value: 'from-prod' }]);
    await session.batch(p.id, 'dev', '/app', [{ key: 'URL', value: 'postgres://${prod.HOST}:5432/${NAME}' }, { key: 'NAME', value: 'app' },
        { key: 'LOOP', value: '${LOOP}' }, { key: 'MISSING', value: '${prod.NOPE}' }]);
    await session.addImport(p.id, 'dev', '/app', { environment: 'prod', path: '/' });
    const { secrets, imported } = await session.secretsWithImports(p.id, 'dev', '/app');
    assert.deepEqual(secrets.map((x) => x.key).sort(), ['LOOP', 'MISSING', 'NAME', 'URL']);
    assert.deepEqual(imported.map((x) => [x.key, x.value, x.from]).sort(), [['HOST', 'db.internal', 'prod:/'], ['SHARED', 'from-prod', 'prod:/']]);
    const url = secrets.find((x) => x.key === 'URL').value;
    assert.equal(await session.expand(p.id, 'dev', '/app', url), 'postgres://db.internal:5432/app');
    await assert.rejects(session.expand(p.id, 'dev', '/app', '${LOOP}'), /cycle/);
    await assert.rejects(session.expand(p.id, 'dev', '/app', '${prod.NOPE}'), /does not resolve/);
    await session.batch(p.id, 'dev', '/app', [{ key: 'LOOP', delete: true }, { key: 'MISSING', delete: true }]);
    const got = await runEnv(cli, p.id, 'dev', ['--path', '/app']);
    assert.equal(got.URL, 'postgres://db.internal:5432/app');
    assert.equal(got.SHARED, 'from-prod');
});

test('a rate limit is shown with its wait', async () => {
    let e;
    for (let i = 0; i < 30 && !(e && e.status === 429); i++)
        e = await signIn(new Api(server.url), 'nobody@example.com', 'wrong password').catch((x) => x);
    assert.equal(e.status, 429);
    assert.ok(e.retryAfter > 0);
    assert.equal(e.message, `Too many attempts: try again in ${e.retryAfter} seconds.`);
});

test('share links the CLI makes open in the browser client (with a password too), once', async () => {
    const mk = async (args, input) => {
        const r = await cli.arca(['share', 'create', ...args], { input });
        assert.equal(r.code, 0, r.stderr);
        return /\/s\/([A-Za-z0-9_-]+)#([A-Za-z0-9_-]+)/.exec(r.stdout);
    };
    const [, id, key] = await mk(['--value-stdin'], 'a shared value\nwith two lines\n');
    const api = new Api(server.url);
    const { openShare } = await import('../../web/src/lib/client.js');
    const peek = await openShare(api, id, key, { count: false });
    assert.equal(peek.info.viewsLeft, 1);
    const r = await openShare(api, id, key);
    assert.equal(r.value, 'a shared value\nwith two lines');
    const again = await openShare(api, id, key).catch((x) => x);
    assert.equal(again.status, 404, 'one view: gone');

    const [, id2, key2] = await mk(['--value-stdin', '--password-stdin'], 'pw-for-share\nbehind a password');
    assert.equal((await openShare(api, id2, key2).catch((x) => x)).message, 'This share is protected by a password.');
    assert.equal((await openShare(api, id2, key2, { password: 'wrong' }).catch((x) => x)).status, 403);
    assert.equal((await openShare(api, id2, key2, { password: 'pw-for-share' })).value, 'behind a password');
});

test('nothing the client sent holds a value, the password, or a key in clear', () => {
    const all = sent.join('\n');
    assert.ok(sent.length > 10);
    for (const plain of ['postgres://prod-db/app', 'line one', 'the prod db', 'for-bob', 'mine',
        'bot-reads-this', admin.password, C.toB64(session.privateKey)])
        assert.ok(!all.includes(plain), `sent in clear: ${plain}`);
    for (const [id, k] of session.keys)
        if (!handedOver.has(id)) assert.ok(!all.includes(C.toB64(k)), `the key of end-to-end project ${id} in clear`);
    assert.ok(session.keys.size > handedOver.size);
});
