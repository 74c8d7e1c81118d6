-- Archiving the audit log: see migrations/0011_audit_archives.sql.
CREATE TABLE audit_archives (
    seq BIGINT PRIMARY KEY NOT NULL,        -- the last record archived: the anchor
    hash BYTEA NOT NULL,                    -- its hash
    first_seq BIGINT NOT NULL,              -- the first record of the archive
    records BIGINT NOT NULL,
    file_hash BYTEA NOT NULL,
    archived_by TEXT NOT NULL,              -- 'arca audit-logs archive' or 'retention'
    archived_at BIGINT NOT NULL
);

CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
FOR EACH ROW EXECUTE FUNCTION arca_refuse('audit_archives is append-only');
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
FOR EACH ROW EXECUTE FUNCTION arca_refuse('audit_archives is append-only');
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
FOR EACH STATEMENT EXECUTE FUNCTION arca_refuse('audit_archives is append-only');

-- audit_log stays append-only, except that the records up to the newest
-- anchor may go: an archive adds its anchor first, then removes them.
CREATE FUNCTION arca_audit_log_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq > coalesce((SELECT max(seq) FROM audit_archives), 0) THEN
        RAISE EXCEPTION 'audit_log is append-only: only archived records may be removed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END
$$;
DROP TRIGGER audit_log_no_delete ON audit_log;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION arca_audit_log_delete();
