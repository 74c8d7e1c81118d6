// run_overhead.mjs - what `arca run` adds to starting a program.
//
// Starts a real arca server on loopback, stores 10 secrets in prod, then runs
// `arca run --env=prod -- true` and a bare `true` alternately (interleaved, so
// machine noise hits both alike) and prints the medians and their difference.
// Usage: node bench/run_overhead.mjs [runs]   (ARCA_BIN selects the binary,
// ARCA_SERVER_ARGS adds server flags, e.g. --audit-async)
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { ARCA_BIN, bootstrapAndLogin, createProject, newCli, removeTempDirs, startServer }
    from '../tests/e2e/harness.mjs';

const runs = Number(process.argv[2] || 101);
const server = await startServer({ args: (process.env.ARCA_SERVER_ARGS || '').split(' ').filter(Boolean) });
try {
    const cli = await newCli(server);
    await bootstrapAndLogin(cli);
    const p = await createProject(cli, 'bench');
    const pairs = Array.from({ length: 10 }, (_, i) => `KEY_${i}=value-${i}-${'x'.repeat(40)}`);
    const set = await cli.arca(['secrets', 'set', ...pairs, '--env=prod', '--project-id', p.id]);
    if (set.code !== 0)
        throw new Error(set.stderr);

    const env = cli.env();
    /* asynchronous, so that this process keeps reading the server's log pipe
     * (a blocked pipe would stall the server) */
    const time = (cmd, args) => new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(cmd, args, { env, cwd: cli.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.on('error', reject);
        child.on('exit', (code) => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            if (code !== 0)
                reject(new Error(`${cmd} exited ${code}: ${err}`));
            else
                resolve(ms);
        });
    });
    const arcaArgs = ['run', '--env=prod', '--project-id', p.id, '--', 'true'];
    await time(ARCA_BIN, arcaArgs); /* warm up */
    const a = [], b = [];
    for (let i = 0; i < runs; i++) {
        a.push(await time(ARCA_BIN, arcaArgs));
        b.push(await time('true', []));
    }
    const median = (v) => v.sort((x, y) => x - y)[v.length >> 1];
    const ma = median(a), mb = median(b);
    console.log(`runs: ${runs} each, interleaved; 10 secrets in prod`);
    console.log(`figure                          median ms`);
    console.log(`arca run --env=prod -- true     ${ma.toFixed(2)}`);
    console.log(`true                            ${mb.toFixed(2)}`);
    console.log(`overhead                        ${(ma - mb).toFixed(2)}  (ratio ${(ma / mb).toFixed(1)}x)`);
    console.log(`arca binary size                ${statSync(ARCA_BIN).size} bytes`);
} finally {
    await server.stop();
    await removeTempDirs();
}
