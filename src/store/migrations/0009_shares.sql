-- Share links (docs/api.md, "Share links").
--
-- A share holds a value encrypted by the sharer's client under a key that
-- travels only in the link's fragment: the server never sees the key or the
-- value.  access_hash is the hash of a key derived from the link's key, which
-- an opener must show, so that knowing a share's id (from a log) is not
-- enough to use up its views.  With a password, the client also sends the hash input of an
-- Argon2id authentication key (auth_hash, as for users) so that a wrong
-- password is refused before a view is counted.  views counts the views so
-- far; a share is deleted when it expires or max_views (0: unlimited) is
-- reached.  Shares are not part of backups: they are short-lived by design.
CREATE TABLE shares (
    id TEXT PRIMARY KEY NOT NULL,          -- 22 characters of base64url, made by the client
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,              -- user or identity id
    ciphertext BLOB NOT NULL,
    access_hash BLOB NOT NULL,             -- hash of the access key, derived from the link's key
    auth_hash BLOB,                        -- NULL: no password
    kdf_salt BLOB,
    kdf_opslimit INTEGER NOT NULL DEFAULT 0,
    kdf_memlimit INTEGER NOT NULL DEFAULT 0,
    org_only INTEGER NOT NULL DEFAULT 0,
    max_views INTEGER NOT NULL,            -- 0: unlimited
    views INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX shares_by_creator ON shares (created_by, created_at);
CREATE INDEX shares_by_expiry ON shares (expires_at);

-- What an organization allows: the longest lifetime of a share (ms) and
-- whether its shares may be opened without an account.
CREATE TABLE org_share_policy (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    max_ttl INTEGER NOT NULL,
    allow_anonymous INTEGER NOT NULL
);
