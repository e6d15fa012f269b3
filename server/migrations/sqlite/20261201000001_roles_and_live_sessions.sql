-- Roles (SPEC §8): `user` or `admin`; the admin role may have a shorter idle timeout.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
-- Until when a session counts as live (unix seconds; 0 once ended), so the per-user limit
-- is one conditional statement. Records of earlier builds count as live until their
-- retention: their next write sets the real value.
ALTER TABLE session_records ADD COLUMN live_until INTEGER NOT NULL DEFAULT 0;
UPDATE session_records SET live_until = retain_until;
