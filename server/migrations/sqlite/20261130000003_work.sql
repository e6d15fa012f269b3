-- The user's work in the account: drafts (client-made ids, a version per change) and
-- settings, and the answers given to each Idempotency-Key so a repeated request is applied
-- once. Times are unix milliseconds.
CREATE TABLE IF NOT EXISTS drafts (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    submitted_at INTEGER,
    PRIMARY KEY (user_id, id)
);
CREATE TABLE IF NOT EXISTS user_settings (
    user_id    INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
