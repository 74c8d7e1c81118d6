-- 0010: the audit log's hot path.  Every audited read appends a record that is
-- durable before the answer, so every index of audit_log is paid on every
-- group commit (and on disk, by every record).  Three are left besides the
-- primary key: project, actor id, actor name.  The project's holds the first 8
-- characters of the id, not all 36 (audit_query compares the prefix, then the
-- whole value).  The actor's two keep whole values: an actor filter is an OR
-- of the two, which SQLite answers by collecting every match of both indexes
-- and sorting them, so a prefix there would fetch every row of the actor (and
-- of every actor whose name shares the prefix) to compare whole values; at 50
-- million records that took seconds.  Organization and event filters run along
-- those or along seq; a time range is a seq range (the store keeps time
-- non-decreasing along seq: audit_query).
DROP INDEX audit_log_by_org;
DROP INDEX audit_log_by_project;
DROP INDEX audit_log_by_event;
DROP INDEX audit_log_by_time;
CREATE INDEX audit_log_by_project ON audit_log (substr(project_id, 1, 8), seq);
