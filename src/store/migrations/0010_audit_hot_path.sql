-- 0010: the audit log's hot path.  Every audited read appends a record that is
-- durable before the answer, so every index of audit_log is paid on every
-- group commit (and on disk, by every record).  Kept: the primary key (seq;
-- the store keeps time non-decreasing along it, so a time range is a seq
-- range: audit_query), (project_id, seq), (actor_id, seq), (actor_name, seq).
-- Organization and event filters are evaluated along those or along seq.
DROP INDEX audit_log_by_org;
DROP INDEX audit_log_by_event;
DROP INDEX audit_log_by_time;
