-- 0010_audit_hot_path.sql (PostgreSQL) - fewer audit indexes, as
-- migrations/0010_audit_hot_path.sql.
DROP INDEX audit_log_by_org;
DROP INDEX audit_log_by_event;
DROP INDEX audit_log_by_time;
