// with_postgres.mjs - runs a command next to a throwaway PostgreSQL cluster:
//
//     node tests/e2e/with_postgres.mjs meson test -C build test_store_on_pg
//
// The command gets ARCA_TEST_PG_URL=postgres://arca@127.0.0.1:PORT (the
// superuser, trust authentication, no database: tests create their own); the
// cluster is stopped and removed when it exits, and its exit status is ours.
import { spawn } from 'node:child_process';

import { startPostgres } from './pg.mjs';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
    console.error('usage: node with_postgres.mjs COMMAND [ARGS...]');
    process.exit(2);
}
const pg = await startPostgres();
const child = spawn(cmd, args, { stdio: 'inherit',
    env: { ...process.env, ARCA_TEST_PG_URL: `postgres://arca@${pg.host}:${pg.port}` } });
const code = await new Promise((resolve) => {
    child.on('error', (e) => {
        console.error(`with_postgres.mjs: ${cmd}: ${e.message}`);
        resolve(127);
    });
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
});
await pg.destroy();
process.exit(code);
