-- API tokens may expire, and every web node hears of a revocation at once.
--
-- expires_at: NULL for a token that never expires; a token past it is refused like a
-- revoked one. The NOTIFY comes from a trigger, not from the code that revokes, so a
-- revocation by any path (the API on any node, `stockd token revoke`, plain SQL)
-- reaches every listening web node: they drop the token from their caches and close
-- its live feed sockets. The payload is the token's id.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_expiry_after_creation
    CHECK (expires_at IS NULL OR expires_at > created_at);

CREATE FUNCTION stockd_notify_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stockd_tokens', OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_revoked AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION stockd_notify_token_revoked();
CREATE TRIGGER api_tokens_deleted AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION stockd_notify_token_revoked();
