// write_replies.test.mjs - what the replies to writes on the Infisical routes
// (raw and batch) carry: a value only for a caller who may read it, and then
// that read is audited; and each write's own value and version, also when
// many requests write one key at once.
//
// A custom role with secrets create, edit and delete but no read on prod
// patches a comment, renames, batch-patches and deletes: every reply hides the
// value ("<hidden-by-infisical>", secretValueHidden) and leaves no
// secret.read record.  An admin gets the value and a secret.read record next
// to the write's.  Then 50 PATCHes of one key run in parallel: each reply
// carries the value that request wrote and the version the store gave it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
    apiCall, bootstrapAndLogin, inviteAndSignup, newCli, readToken, removeTempDirs, startServer, storeSql,
} from './harness.mjs';

const T = { timeout: 300000 };
const HIDDEN = '<hidden-by-infisical>';
const CANARY = `canary-${randomBytes(16).toString('hex')}`;

let srv;
let admin;
let adminToken;
let writerToken;
let project;

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

const raw = (name) => `/api/v3/secrets/raw/${name}`;
const where = () => ({ workspaceId: project.id, environment: 'prod', secretPath: '/' });

async function call(token, method, route, body) {
    return apiCall(srv, method, route, { token, body });
}

/* The audit records written since seq `after`: [event, actor_name, key]. */
async function recordsAfter(seq) {
    const out = await storeSql(srv, `SELECT event, actor_name, key FROM audit_log WHERE seq > ${seq} ` +
        `AND event LIKE 'secret.%' ORDER BY seq`);
    return out.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
}

async function head() {
    return Number((await storeSql(srv, 'SELECT max(seq) FROM audit_log')).trim());
}

before(async () => {
    srv = await startServer();
    admin = await newCli(srv);
    await bootstrapAndLogin(admin);
    adminToken = await readToken(admin);
    project = JSON.parse((await ok(admin, ['projects', 'create', 'replies', '--server-access',
        '--format', 'json'])).stdout);
    const pid = ['--project-id', project.id];
    await ok(admin, ['roles', 'create', 'writer', ...pid, '--allow', 'secrets:create,edit,delete:prod:/**']);
    const w = await inviteAndSignup(admin, srv, 'writer@example.com');
    await ok(admin, ['members', 'add', 'writer@example.com', '--role', 'writer', ...pid]);
    writerToken = await readToken(w.cli);
    const keys = ['COMMENTED', 'RENAMED', 'BATCHED', 'DELETED', 'BATCH_DELETED', 'ADMIN_SEES'];
    await ok(admin, ['secrets', 'set', ...keys.map((k) => `${k}=${CANARY}`), '--env', 'prod', ...pid]);
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test('a writer without read gets no value back from PATCH, rename, batch PATCH or DELETE', T, async () => {
    const seq = await head();
    const cases = [
        ['PATCH comment only', 'PATCH', raw('COMMENTED'), { ...where(), secretComment: 'a note' }, 'COMMENTED'],
        ['PATCH rename', 'PATCH', raw('RENAMED'), { ...where(), newSecretName: 'RENAMED_TO' }, 'RENAMED_TO'],
        ['batch PATCH', 'PATCH', '/api/v3/secrets/batch/raw',
            { ...where(), secrets: [{ secretKey: 'BATCHED', secretComment: 'batch note' }] }, 'BATCHED'],
        ['DELETE', 'DELETE', raw('DELETED'), where(), 'DELETED'],
        ['batch DELETE', 'DELETE', '/api/v4/secrets/batch',
            { projectId: project.id, environment: 'prod', secretPath: '/',
                secrets: [{ secretKey: 'BATCH_DELETED' }] }, 'BATCH_DELETED'],
        ['POST create', 'POST', raw('CREATED'), { ...where(), secretValue: `${CANARY}-new` }, 'CREATED'],
    ];
    for (const [what, method, route, body, key] of cases) {
        const r = await call(writerToken, method, route, body);
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        assert.ok(!r.text.includes(CANARY), `${what}: the reply holds the value: ${r.text}`);
        const s = r.json.secret ?? r.json.secrets[0];
        assert.equal(s.secretKey, key, what);
        assert.equal(s.secretValue, HIDDEN, what);
        assert.equal(s.secretValueHidden, true, what);
    }
    /* and the writer still cannot read */
    const g = await apiCall(srv, 'GET', `${raw('COMMENTED')}?workspaceId=${project.id}&environment=prod`,
        { token: writerToken });
    assert.equal(g.status, 403, g.text);
    const recs = await recordsAfter(seq);
    assert.ok(!recs.some(([ev, actor]) => ev === 'secret.read' && actor === 'writer@example.com'),
        `no read is recorded for the writer: ${JSON.stringify(recs)}`);
    assert.ok(recs.some(([ev, actor, key]) => ev === 'secret.update' && actor === 'writer@example.com' &&
        key === 'COMMENTED'), 'the write is recorded');
});

test('a caller who may read gets the value back, and that read is recorded', T, async () => {
    const seq = await head();
    const r = await call(adminToken, 'PATCH', raw('ADMIN_SEES'), { ...where(), secretComment: 'seen' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.secret.secretValue, CANARY);
    assert.equal(r.json.secret.secretComment, 'seen');
    const recs = (await recordsAfter(seq)).filter(([, , key]) => key === 'ADMIN_SEES').map(([ev]) => ev);
    assert.deepEqual(recs, ['secret.update', 'secret.read']);

    const b = await call(adminToken, 'PATCH', '/api/v3/secrets/batch/raw',
        { ...where(), secrets: [{ secretKey: 'ADMIN_SEES', secretValue: `${CANARY}-2` }] });
    assert.equal(b.status, 200, b.text);
    assert.equal(b.json.secrets[0].secretValue, `${CANARY}-2`);
    const recs2 = (await recordsAfter(seq)).filter(([, , key]) => key === 'ADMIN_SEES').map(([ev]) => ev);
    assert.deepEqual(recs2, ['secret.update', 'secret.read', 'secret.update', 'secret.read']);
});

test('50 parallel PATCHes of one key, 4 times: each reply carries its own value and version', T, async () => {
    const first = await call(adminToken, 'POST', raw('RACED'), { ...where(), secretValue: 'start' });
    assert.equal(first.status, 200, first.text);
    const wrong = [];
    for (let round = 0; round < 4; round++) {
        const values = Array.from({ length: 50 }, (_, i) => `raced-${round}-${i}-${randomBytes(4).toString('hex')}`);
        const replies = await Promise.all(values.map((v) =>
            call(adminToken, 'PATCH', raw('RACED'), { ...where(), secretValue: v })));
        const versions = new Set();
        for (const [i, r] of replies.entries()) {
            assert.equal(r.status, 200, r.text);
            if (r.json.secret.secretValue !== values[i])
                wrong.push(`request ${round}.${i} wrote ${values[i]}, its reply says ${r.json.secret.secretValue}`);
            versions.add(r.json.secret.version);
        }
        assert.equal(versions.size, 50, 'each write has its own version');
        /* and each reply's version is the one that holds its value */
        const got = await Promise.all(replies.map((r) => apiCall(srv, 'GET',
            `${raw('RACED')}?workspaceId=${project.id}&environment=prod&version=${r.json.secret.version}`,
            { token: adminToken })));
        for (const [i, g] of got.entries())
            if (g.json?.secret?.secretValue !== values[i])
                wrong.push(`request ${round}.${i}: version ${replies[i].json.secret.version} holds ` +
                    `${g.json?.secret?.secretValue}, not ${values[i]}`);
    }
    assert.deepEqual(wrong, [], `${wrong.length} of 200 replies carry another request's value or version`);
});
