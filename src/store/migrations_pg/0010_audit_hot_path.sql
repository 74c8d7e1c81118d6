-- 0010_audit_hot_path.sql (PostgreSQL) - fewer audit indexes, as
-- migrations/0010_audit_hot_path.sql, but the project and actor indexes stay
-- on the whole values: PostgreSQL's planner, which multiplies the
-- selectivities of a prefix and of the whole value as if they were
-- independent, would then pick plans that read every record of a project.
DROP INDEX audit_log_by_org;
DROP INDEX audit_log_by_event;
DROP INDEX audit_log_by_time;
