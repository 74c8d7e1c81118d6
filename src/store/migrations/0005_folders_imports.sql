-- Folders and secret imports.
--
-- Folders were implicit (a path existed once a secret was written in it).  Now
-- each (environment, path) has a row, so that empty folders exist and imports
-- and Infisical's folder routes have ids to refer to.  secrets_write keeps a
-- row for the path of every secret and all its ancestors ('/' included); this
-- migration adds the rows for the secrets already stored.
CREATE TABLE folders (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,                     -- canonical, '/' is the root
    created_at INTEGER NOT NULL,
    UNIQUE (env_id, path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);

WITH RECURSIVE p (project_id, env_id, path) AS (
    SELECT DISTINCT project_id, env_id, path FROM secrets
    UNION
    SELECT project_id, env_id,
           coalesce(nullif(rtrim(rtrim(path, replace(path, '/', '')), '/'), ''), '/')
    FROM p WHERE path != '/'
)
INSERT OR IGNORE INTO folders (id, project_id, env_id, path, created_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
             substr(hex(randomblob(2)), 2) || '-' ||
             substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) ||
             '-' || hex(randomblob(6))),
       project_id, env_id, path, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM p;

-- Both environments belong to the project; deleting an environment deletes
-- its folders, its imports and the imports of it.
-- The folder (env_id, path) sees the shared secrets of (import_env_id,
-- import_path) below its own, in position order (1, 2, ...; the last wins).
CREATE TABLE secret_imports (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT NOT NULL,
    path TEXT NOT NULL,
    import_env_id TEXT NOT NULL,
    import_path TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 1),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (env_id, path, import_env_id, import_path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, import_env_id) REFERENCES environments (project_id, id)
        ON DELETE CASCADE
);
CREATE INDEX secret_imports_by_project ON secret_imports (project_id);
