// store.mjs - what a SQLite store takes on disk.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/* Bytes of the SQLite store in dataDir: the database and its write-ahead log
 * (none once the last connection closed: it checkpoints and removes it). */
export const sqliteBytes = (dataDir) => ['arca.db', 'arca.db-wal'].reduce((sum, f) =>
    sum + (existsSync(path.join(dataDir, f)) ? statSync(path.join(dataDir, f)).size : 0), 0);
