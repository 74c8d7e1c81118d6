// audit_bytes.mjs - bytes on disk per audit record, measured on a real server:
//
//   ARCA_BIN=build/src/cli/arca node tools/audit_bytes.mjs [--records N] [--postgres]
//
// Starts `arca server` (SQLite, or with --postgres a throwaway PostgreSQL
// cluster: tests/e2e/pg.mjs), makes a project with 50 secrets and lists them
// through the audited raw route (16 at a time) until the audit log grew by N
// records (default 100000), then prints one JSON object on stdout:
//   {store, records, bytesPerRecord, tableBytesPerRecord, indexBytesPerRecord: {name: b},
//    writtenBytesPerRecord}
// where the bytes are the growth of audit_log and its indexes (SQLite: their
// pages, dbstat; PostgreSQL: pg_relation_size of the table with its TOAST and
// of each index) divided by the records added, and writtenBytesPerRecord is
// what the server process wrote to disk meanwhile (/proc/PID/io write_bytes:
// SQLite's WAL and checkpoints; null on PostgreSQL, whose server writes).
// Progress goes to stderr.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const N = opt('--records', 100000);
if (argv.includes('--postgres'))
    process.env.ARCA_TEST_PG = '1'; /* read by the harness when it is loaded */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const h = await import(path.join(ROOT, 'tests', 'e2e', 'harness.mjs'));
const log = (...a) => console.error('audit_bytes:', ...a);

async function sizes(srv) {
    const sql = h.PG_MODE
        ? "SELECT c.relname, pg_relation_size(c.oid) + CASE WHEN c.reltoastrelid <> 0 THEN " +
          "pg_total_relation_size(c.reltoastrelid) ELSE 0 END, (SELECT count(*) FROM audit_log) " +
          "FROM pg_class c WHERE c.relname = 'audit_log' OR c.oid IN (SELECT indexrelid " +
          "FROM pg_index WHERE indrelid = 'audit_log'::regclass)"
        : "SELECT name, sum(pgsize), (SELECT count(*) FROM audit_log) FROM dbstat WHERE name " +
          "= 'audit_log' OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND " +
          "tbl_name = 'audit_log') GROUP BY name";
    const rows = (await h.storeSql(srv, sql)).trim().split('\n').map((l) => l.split('|'));
    return { count: Number(rows[0][2]), bytes: Object.fromEntries(rows.map((r) => [r[0], Number(r[1])])) };
}

const srv = await h.startServer();
try {
    const cli = await h.newCli(srv);
    await h.bootstrapAndLogin(cli);
    const p = JSON.parse((await cli.arca(['projects', 'create', 'bytes', '--server-access',
        '--format', 'json'])).stdout);
    const token = await h.readToken(cli);
    const kv = Array.from({ length: 50 }, (_, i) => `KEY_${i}=value-${i}`);
    const set = await cli.arca(['secrets', 'set', ...kv, '--env', 'prod', '--project-id', p.id]);
    if (set.code !== 0)
        throw new Error(`secrets set: ${set.stderr}`);
    const route = `/api/v3/secrets/raw?${new URLSearchParams({ workspaceId: p.id,
        environment: 'prod', secretPath: '/' })}`;

    const written = async () => (h.PG_MODE ? null : Number((await readFile(
        `/proc/${srv.proc.pid}/io`, 'utf8')).match(/^write_bytes: (\d+)/m)[1]));
    const before = await sizes(srv);
    const writtenBefore = await written();
    let added = 0;
    const worker = async () => {
        while (added < N) {
            added++;
            const r = await h.apiCall(srv, 'GET', route, { token });
            if (r.status !== 200)
                throw new Error(`list: ${r.status} ${r.text}`);
            if (added % 10000 === 0)
                log(`${added} requests`);
        }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const after = await sizes(srv);
    const writtenAfter = await written();
    const records = after.count - before.count;
    const per = (name) => ((after.bytes[name] ?? 0) - (before.bytes[name] ?? 0)) / records;
    const indexes = Object.keys(after.bytes).filter((n) => n !== 'audit_log').sort();
    const out = {
        store: h.PG_MODE ? 'postgres' : 'sqlite',
        records,
        bytesPerRecord: Object.keys(after.bytes).reduce((s, n) => s + per(n), 0),
        tableBytesPerRecord: per('audit_log'),
        indexBytesPerRecord: Object.fromEntries(indexes.map((n) => [n, per(n)])),
        writtenBytesPerRecord: h.PG_MODE ? null : (writtenAfter - writtenBefore) / records,
    };
    console.log(JSON.stringify(out));
} finally {
    await srv.stop();
    await h.removeTempDirs();
}
process.exit(0);
