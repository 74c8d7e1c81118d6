-- 0004_server_access.sql (PostgreSQL) - server access (opt-in per project):
-- a copy of the project key sealed under the server's root key.  NULL:
-- end-to-end encrypted only, no copy exists.
ALTER TABLE projects ADD COLUMN server_key BYTEA;
