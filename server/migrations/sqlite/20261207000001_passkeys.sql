-- Passkeys (SPEC §9.2). One row per credential: its id (base64url), its owner and the
-- WebAuthn user handle the authenticator keeps beside it, the name people gave it, and
-- webauthn-rs' record of it (public key, sign counter, backup flags) as JSON, with its
-- counter beside it so that two sign-ins at once cannot both advance from the same value.
-- Times are unix seconds.
CREATE TABLE IF NOT EXISTS passkeys (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_handle  TEXT NOT NULL,
    name         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    backed_up    BIGINT NOT NULL DEFAULT 0,
    sign_count   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS passkeys_user ON passkeys (user_id, created_at);

-- Ceremonies between their two requests, when sessions are kept in the database (with
-- Redis they are kept there): keyed by a digest of the id the client holds, taken once,
-- swept after they expire.
CREATE TABLE IF NOT EXISTS passkey_ceremonies (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
