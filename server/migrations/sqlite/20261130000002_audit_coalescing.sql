-- Refusals of anonymous requests (cross-site, throttled) are coalesced: one row per kind,
-- address and minute (`bucket`), with a count. Other events keep one row each (bucket NULL).
ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN bucket TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS audit_events_coalesced
    ON audit_events (event, ip, bucket) WHERE bucket IS NOT NULL;
