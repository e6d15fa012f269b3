-- Security-relevant events. Never a token or a password: sessions appear only as the hash
-- of their id.
CREATE TABLE IF NOT EXISTS audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    event        TEXT NOT NULL,
    user_id      INTEGER,
    username     TEXT,
    session_hash TEXT,
    reason       TEXT,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
