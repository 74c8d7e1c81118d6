-- 0003_revoke_tokens.sql (PostgreSQL) - revoking a client secret also
-- revokes every access token it issued: a leaked secret's tokens must die
-- with it.  The same rule as migrations/0003_revoke_tokens.sql.
CREATE FUNCTION arca_revoke_client_secret_tokens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE identity_access_tokens SET revoked = 1 WHERE client_secret_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER identity_client_secrets_revoke_tokens
AFTER UPDATE OF revoked ON identity_client_secrets
FOR EACH ROW WHEN (NEW.revoked = 1 AND OLD.revoked = 0)
EXECUTE FUNCTION arca_revoke_client_secret_tokens();
