// audit_cost.mjs - what failing closed costs: secret reads per second with every
// read's audit record durable before the answer (the default), against the same
// server answering before its records are durable (--audit-async), measured in
// one run, alternating, on loopback.
// Usage: node bench/audit_cost.mjs [seconds per round] [connections]
import http from 'node:http';
import { bootstrapAndLogin, createProject, newCli, readToken, removeTempDirs, startServer }
    from '../tests/e2e/harness.mjs';

const seconds = Number(process.argv[2] || 3);
const connections = Number(process.argv[3] || 16);

async function setup(args) {
    const server = await startServer({ args });
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'bench');
    const pairs = Array.from({ length: 20 }, (_, i) => `KEY_${i}=value-${i}`);
    const r = await cli.arca(['secrets', 'set', ...pairs, '--env=prod', '--project-id', p.id]);
    if (r.code !== 0)
        throw new Error(r.stderr);
    const token = await readToken(cli);
    const path = `/api/arca/v1/projects/${p.id}/secrets?environment=prod&secretPath=/`;
    return { server, token, path };
}

/* Keep-alive GET loops on `connections` sockets for `seconds`; returns req/s. */
async function load({ server, token, path }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    const url = new URL(server.url);
    const deadline = Date.now() + seconds * 1000;
    let done = 0, bad = 0;
    const one = () => new Promise((resolve) => {
        const req = http.request({ host: url.hostname, port: url.port, path, agent,
            headers: { Authorization: `Bearer ${token}` } }, (res) => {
            res.resume();
            res.on('end', () => {
                if (res.statusCode === 200)
                    done++;
                else
                    bad++;
                resolve();
            });
        });
        req.on('error', () => {
            bad++;
            resolve();
        });
        req.end();
    });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: connections }, async () => {
        while (Date.now() < deadline)
            await one();
    }));
    agent.destroy();
    if (bad)
        throw new Error(`${bad} requests failed`);
    return done / ((Date.now() - t0) / 1000);
}

const durable = await setup([]);
const fast = await setup(['--audit-async']);
try {
    const a = [], b = [];
    for (let round = 0; round < 3; round++) {
        a.push(await load(durable));
        b.push(await load(fast));
    }
    const med = (v) => v.sort((x, y) => x - y)[1];
    const ra = med(a), rb = med(b);
    console.log(`secret list reads (20 secrets), ${connections} keep-alive connections, ` +
        `3 alternating rounds of ${seconds}s, medians`);
    console.log(`audit durable before answering   ${ra.toFixed(0)} req/s`);
    console.log(`audit not made durable first     ${rb.toFixed(0)} req/s`);
    console.log(`ratio durable / not durable      ${(ra / rb).toFixed(2)}`);
} finally {
    await durable.server.stop();
    await fast.server.stop();
    await removeTempDirs();
}
