// pg.mjs - throwaway PostgreSQL clusters for the tests.
//
// startPostgres() runs initdb into a new temporary directory (trust
// authentication, superuser "arca", UTF-8, C locale), then pg_ctl start with
// the server listening only on 127.0.0.1 at a free port and its socket in that
// directory.  PostgreSQL refuses to run as root: as root, the cluster belongs
// to and runs as "nobody" (setpriv), which needs nothing but a fresh machine.
// Every cluster still running when the process exits is stopped (immediate
// mode) and its directory removed (unless ARCA_TEST_KEEP=1).
//
// The binaries come from ARCA_PG_BIN, default /usr/lib/postgresql/15/bin
// (Debian's postgresql-15); psql from PATH.

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const PG_BIN = process.env.ARCA_PG_BIN || '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'arca';
const KEEP = process.env.ARCA_TEST_KEEP === '1';

const live = new Set();
process.on('exit', () => {
    for (const c of live) {
        spawnSync(...c.asOwner(path.join(PG_BIN, 'pg_ctl'), ['-D', c.dataDir, '-m', 'immediate',
            '-w', 'stop']), { stdio: 'ignore' });
        if (!KEEP)
            rmSync(c.dir, { recursive: true, force: true });
    }
});

/* [cmd, args] that run cmd as uid/gid (nothing to change unless root). */
function runAs(owner) {
    return (cmd, args) => (owner
        ? ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', '--', cmd,
            ...args]]
        : [cmd, args]);
}

async function freePort() {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

async function unprivilegedOwner() {
    if (process.getuid() !== 0)
        return null;
    const id = async (flag) => Number((await execFileP('id', [flag, 'nobody'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
}

/* Starts a new cluster; returns {host, port, dir, url(db), createDatabase(),
 * psql(db, sql), stop(), start(), destroy()}. */
export async function startPostgres() {
    const owner = await unprivilegedOwner();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'arca-pg-'));
    const c = {
        host: '127.0.0.1',
        dir,
        dataDir: path.join(dir, 'data'),
        socketDir: dir,
        asOwner: runAs(owner),
    };
    if (owner)
        await chown(dir, owner.uid, owner.gid);
    const run = async (cmd, args) => {
        const [file, argv] = c.asOwner(path.join(PG_BIN, cmd), args);
        try {
            return await execFileP(file, argv, { cwd: dir, timeout: 120000 });
        } catch (e) {
            throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
        }
    };
    await run('initdb', ['-D', c.dataDir, '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8',
        '--locale=C', '--no-sync']);
    live.add(c);

    c.start = async () => {
        c.port ??= await freePort();
        await run('pg_ctl', ['-D', c.dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60',
            '-o', `-c listen_addresses=127.0.0.1 -p ${c.port} -k ${c.socketDir} ` +
            '-c max_connections=300', 'start']);
    };
    /* Fast shutdown: open connections are cut, as in a real restart. */
    c.stop = async () => {
        await run('pg_ctl', ['-D', c.dataDir, '-m', 'fast', '-w', 'stop']);
    };
    c.destroy = async () => {
        if (!live.has(c))
            return;
        await run('pg_ctl', ['-D', c.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        live.delete(c);
        if (!KEEP)
            await rm(dir, { recursive: true, force: true });
    };
    c.url = (db) => `postgres://${SUPERUSER}@${c.host}:${c.port}/${db}`;
    /* Runs sql (psql -c, one transaction) in db; returns stdout (unaligned, no headers). */
    c.psql = async (db, sql) => {
        const { stdout } = await execFileP('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
            '-h', c.host, '-p', String(c.port), '-U', SUPERUSER, '-d', db, '-c', sql],
        { timeout: 60000 });
        return stdout;
    };
    c.createDatabase = async () => {
        const name = 'arca_' + randomBytes(8).toString('hex');
        await c.psql('postgres', `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
        return name;
    };

    for (let attempt = 0; ; attempt++) {
        try {
            await c.start();
            break;
        } catch (e) {
            c.port = undefined; /* the port was taken meanwhile: another one */
            if (attempt === 3)
                throw e;
        }
    }
    return c;
}

/* One cluster per test process, started on first use (ARCA_TEST_PG=1 mode). */
let shared = null;
export function sharedPostgres() {
    shared ??= startPostgres();
    return shared;
}
