// durability.test.mjs - group commit keeps every acknowledged write: a server
// killed with SIGKILL in the middle of 16 concurrent writers has, once
// restarted on the same data directory, every secret whose write was answered
// 200, with its value, and the audit record of each, in an intact chain.  A
// write and its record commit together: every secret stored, acknowledged or
// not (writes in flight may have committed), has its record.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { apiCall, bootstrapAndLogin, newCli, readToken, removeTempDirs, startServer, waitFor }
    from './harness.mjs';

const WRITERS = 16;
const BEFORE_KILL = 400; /* acknowledged writes to wait for before the kill */

const servers = [];
after(async () => {
    for (const s of servers)
        await s.kill();
    await removeTempDirs();
});

async function ok(cli, args) {
    const r = await cli.arca(args);
    assert.equal(r.code, 0, `arca ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
    return r;
}

async function killUnderWriters(t, args) {
    const srv = await startServer({ args });
    servers.push(srv);
    const cli = await newCli(srv);
    await bootstrapAndLogin(cli);
    const p = JSON.parse((await ok(cli, ['projects', 'create', 'durable', '--server-access',
        '--format', 'json'])).stdout);
    const token = await readToken(cli);

    const acked = new Map(); /* key -> value, for every 200 received */
    const answers = [];      /* any other answer received before the kill */
    let killed = false;
    const writer = async (w) => {
        for (let i = 0; !killed; i++) {
            const key = `K_${w}_${i}`;
            const value = `value-${w}-${i}`;
            let res;
            try {
                res = await apiCall(srv, 'POST', `/api/v3/secrets/raw/${key}`, { token,
                    body: { workspaceId: p.id, environment: 'prod', secretPath: '/',
                        secretValue: value } });
            } catch {
                return; /* the connection died with the server */
            }
            if (res.status === 200)
                acked.set(key, value);
            else if (!killed)
                answers.push(`${res.status} ${res.text}`);
        }
    };
    const loops = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await waitFor(() => acked.size >= BEFORE_KILL || answers.length > 0,
        { timeoutMs: 120000, what: `${BEFORE_KILL} acknowledged writes` });
    await srv.kill(); /* SIGKILL, with writes in flight */
    killed = true;
    await Promise.all(loops);
    assert.deepEqual(answers, [], 'every write before the kill was answered 200');
    const n = acked.size;
    t.diagnostic(`acknowledged writes before SIGKILL: ${n}`);

    const again = await startServer({ dataDir: srv.dataDir, args });
    servers.push(again);
    const list = await apiCall(again, 'GET', `/api/v3/secrets/raw?${new URLSearchParams({
        workspaceId: p.id, environment: 'prod', secretPath: '/' })}`, { token });
    assert.equal(list.status, 200, list.text);
    const stored = new Map(list.json.secrets.map((s) => [s.secretKey, s.secretValue]));
    const missing = [...acked].filter(([k, v]) => stored.get(k) !== v).map(([k]) => k);
    assert.deepEqual(missing, [], 'every acknowledged write is there, with its value');
    t.diagnostic(`stored after restart: ${stored.size} (writes in flight may have made it too)`);

    /* each acknowledged write has its record, and the chain survived the kill */
    const v = await apiCall(again, 'GET', '/api/arca/v1/audit-logs/verify', { token });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.ok, true, v.text);
    const recorded = new Set();
    for (let after = 0; after !== null;) {
        const r = await apiCall(again, 'GET', `/api/arca/v1/audit-logs?${new URLSearchParams({
            projectId: p.id, event: 'secret.create', after, limit: 1000 })}`, { token });
        assert.equal(r.status, 200, r.text);
        for (const x of r.json.auditLogs)
            recorded.add(x.key);
        after = r.json.next;
    }
    const unrecorded = [...acked.keys()].filter((k) => !recorded.has(k));
    assert.deepEqual(unrecorded, [], 'every acknowledged write has its audit record');
    const unrecordedStored = [...stored.keys()].filter((k) => !recorded.has(k));
    assert.deepEqual(unrecordedStored, [], 'every stored write has its audit record');
    const phantom = [...recorded].filter((k) => !stored.has(k));
    assert.deepEqual(phantom, [], 'every record is of a stored write');
    t.diagnostic(`secret.create records: ${recorded.size}`);
    await again.stop();
}

test('SIGKILL under 16 concurrent writers loses no acknowledged write', async (t) => {
    await killUnderWriters(t, []);
});

/* --audit-async answers reads before their records are durable; a write's
 * record is in the write's transaction all the same (measured: without that,
 * almost every kill leaves writes committed without their record). */
test('with --audit-async, every write still commits with its audit record', async (t) => {
    await killUnderWriters(t, ['--audit-async']);
});
