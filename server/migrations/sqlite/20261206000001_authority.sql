-- Counting live sessions (the active-sessions metric, on every scrape) reads an index
-- instead of the whole table.
CREATE INDEX IF NOT EXISTS session_records_live_until ON session_records (live_until);
-- Each user keeps at most a bounded number of idempotency answers, the oldest dropped first.
CREATE INDEX IF NOT EXISTS idempotency_keys_user_created ON idempotency_keys (user_id, created_at);
-- GET /api/drafts reads a user's drafts in pages, newest first.
CREATE INDEX IF NOT EXISTS drafts_user_created ON drafts (user_id, created_at, id);
-- The version of each user's local-copy key, moved on by every password change or reset.
ALTER TABLE users ADD COLUMN key_version INTEGER NOT NULL DEFAULT 1;
