-- 0010: the audit log's hot path.  Every audited read appends a record that is
-- durable before the answer, so every index of audit_log is paid on every
-- group commit (and on disk, by every record).  Three are left besides the
-- primary key, and they hold the first 8 characters of what they index, not
-- all 36 of an id (audit_query compares the prefix, then the whole value):
-- project, actor id, actor name.  Organization and event filters run along
-- those or along seq; a time range is a seq range (the store keeps time
-- non-decreasing along seq: audit_query).
DROP INDEX audit_log_by_org;
DROP INDEX audit_log_by_project;
DROP INDEX audit_log_by_actor_id;
DROP INDEX audit_log_by_actor_name;
DROP INDEX audit_log_by_event;
DROP INDEX audit_log_by_time;
CREATE INDEX audit_log_by_project ON audit_log (substr(project_id, 1, 8), seq);
CREATE INDEX audit_log_by_actor_id ON audit_log (substr(actor_id, 1, 8), seq);
CREATE INDEX audit_log_by_actor_name ON audit_log (substr(actor_name, 1, 8), seq);
