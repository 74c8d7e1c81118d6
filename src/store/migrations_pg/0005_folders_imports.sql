-- 0005_folders_imports.sql (PostgreSQL) - folders and secret imports, as
-- migrations/0005_folders_imports.sql.
--
-- Folders were implicit (a path existed once a secret was written in it).  Now
-- each (environment, path) has a row, so that empty folders exist and imports
-- and Infisical's folder routes have ids to refer to.  secrets_write keeps a
-- row for the path of every secret and all its ancestors ('/' included); this
-- migration adds the rows for the secrets already stored.
CREATE TABLE folders (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,         -- canonical, '/' is the root
    created_at BIGINT NOT NULL,
    UNIQUE (env_id, path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE
);

-- Ids are random version-4 UUIDs, as name_uuid() makes them (md5 of random
-- input: gen_random_uuid() is core only from PostgreSQL 13 on).
WITH RECURSIVE p (project_id, env_id, path) AS (
    SELECT DISTINCT project_id, env_id, path FROM secrets
    UNION
    SELECT project_id, env_id,
           coalesce(nullif(regexp_replace(path, '/[^/]*$', ''), ''), '/') COLLATE "C"
    FROM p WHERE path <> '/'
)
INSERT INTO folders (id, project_id, env_id, path, created_at)
SELECT overlay(overlay(md5(random()::text || clock_timestamp()::text || path)
                       PLACING '4' FROM 13)
               PLACING substr('89ab', 1 + floor(random() * 4)::int, 1) FROM 17)::uuid::text,
       project_id, env_id, path, (extract(epoch FROM now()) * 1000)::bigint
FROM p
ON CONFLICT (env_id, path) DO NOTHING;

-- Both environments belong to the project; deleting an environment deletes
-- its folders, its imports and the imports of it.
-- The folder (env_id, path) sees the shared secrets of (import_env_id,
-- import_path) below its own, in position order (1, 2, ...; the last wins).
CREATE TABLE secret_imports (
    id TEXT COLLATE "C" PRIMARY KEY,
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    env_id TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    import_env_id TEXT COLLATE "C" NOT NULL,
    import_path TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL CHECK (position >= 1),
    created_at BIGINT NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL,
    UNIQUE (env_id, path, import_env_id, import_path),
    FOREIGN KEY (project_id, env_id) REFERENCES environments (project_id, id) ON DELETE CASCADE,
    FOREIGN KEY (project_id, import_env_id) REFERENCES environments (project_id, id)
        ON DELETE CASCADE
);
CREATE INDEX secret_imports_by_project ON secret_imports (project_id);
