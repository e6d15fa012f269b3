-- Vigil's own session table. The version beside the record makes the conditional write one
-- statement; the user id lists and ends one user's sessions; retain_until (unix seconds, on
-- the server's clock) is when the sweeper may drop the record, after every token it issued
-- has expired.
CREATE TABLE IF NOT EXISTS session_records (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    retain_until INTEGER NOT NULL,
    record       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_records_user ON session_records (user_id);
CREATE INDEX IF NOT EXISTS session_records_retain ON session_records (retain_until);
-- The tower-sessions table of earlier builds: its records lack a version and a user, and
-- their ids are of another form. Their holders sign in again.
DROP TABLE IF EXISTS sessions;
