-- The schema on Postgres, as the SQLite migrations build it there. Times are unix seconds
-- (users, sessions) or milliseconds (work); RFC 3339 text in the audit log.
CREATE TABLE IF NOT EXISTS users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Security-relevant events. Never a token or a password: sessions appear only as the hash
-- of their id. Refusals anonymous traffic can cause are coalesced: one row per kind,
-- address and minute (bucket), with a count.
CREATE TABLE IF NOT EXISTS audit_events (
    id           BIGSERIAL PRIMARY KEY,
    at           TEXT NOT NULL,
    event        TEXT NOT NULL,
    user_id      BIGINT,
    username     TEXT,
    session_hash TEXT,
    reason       TEXT,
    ip           TEXT,
    user_agent   TEXT,
    count        BIGINT NOT NULL DEFAULT 1,
    bucket       TEXT
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE UNIQUE INDEX IF NOT EXISTS audit_events_coalesced
    ON audit_events (event, ip, bucket) WHERE bucket IS NOT NULL;

-- Sessions, when the database is also the session store.
CREATE TABLE IF NOT EXISTS session_records (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    retain_until BIGINT NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_records_user ON session_records (user_id);
CREATE INDEX IF NOT EXISTS session_records_retain ON session_records (retain_until);

-- The user's work.
CREATE TABLE IF NOT EXISTS drafts (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    submitted_at BIGINT,
    PRIMARY KEY (user_id, id)
);
CREATE TABLE IF NOT EXISTS user_settings (
    user_id    BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id     BIGINT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
