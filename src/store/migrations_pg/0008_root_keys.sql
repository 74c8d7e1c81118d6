-- 0008_root_keys.sql (PostgreSQL) - the root keys the store has had (arca server
-- rotate-root-key adds one).
--
-- A server refuses to start unless its root key matches key_check of the
-- newest generation: a keyed BLAKE2b-256 of a constant, from which the key
-- cannot be found.  The first server that starts on the store (or on a store
-- made before this migration) writes generation 1 with the key it has.
-- audit_key: each generation's audit chain key, sealed under the newest root
-- key, so that the whole chain verifies across rotations.
CREATE TABLE root_keys (
    generation BIGINT PRIMARY KEY NOT NULL,
    key_check BYTEA NOT NULL,
    audit_key BYTEA NOT NULL,
    first_seq BIGINT NOT NULL,                 -- the first audit record chained with it
    created_at BIGINT NOT NULL
);
