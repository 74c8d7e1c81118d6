-- Archiving the audit log (`arca audit-logs archive`, the server's retention).
--
-- One row per archive: the records first_seq..seq were written to an archive
-- file (file_hash: BLAKE2b-256 of its bytes), checked, and removed from
-- audit_log in the transaction that added the row.  The newest row is the
-- anchor of the remaining log: its first record follows seq and links to hash.
-- The same transaction appends an "audit.archive" record naming seq and hash,
-- chained (keyed) like every record: an anchor without it is a removal nobody
-- archived, and `audit-logs verify` says so.  Rows are never changed or removed.
CREATE TABLE audit_archives (
    seq INTEGER PRIMARY KEY NOT NULL,       -- the last record archived: the anchor
    hash BLOB NOT NULL,                     -- its hash
    first_seq INTEGER NOT NULL,             -- the first record of the archive
    records INTEGER NOT NULL,
    file_hash BLOB NOT NULL,
    archived_by TEXT NOT NULL,              -- 'arca audit-logs archive' or 'retention'
    archived_at INTEGER NOT NULL
);

CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'audit_archives is append-only');
END;

-- audit_log stays append-only, except that the records up to the newest
-- anchor may go: an archive adds its anchor first, then removes them.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > coalesce((SELECT max(seq) FROM audit_archives), 0)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: only archived records may be removed');
END;
