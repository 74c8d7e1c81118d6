-- Revoking a client secret also revokes every access token it issued: a
-- leaked secret's tokens must die with it.
CREATE TRIGGER identity_client_secrets_revoke_tokens
AFTER UPDATE OF revoked ON identity_client_secrets
WHEN NEW.revoked = 1 AND OLD.revoked = 0
BEGIN
    UPDATE identity_access_tokens SET revoked = 1 WHERE client_secret_id = NEW.id;
END;
