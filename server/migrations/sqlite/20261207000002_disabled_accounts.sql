-- Disabled accounts (SPEC §9.3): when an operator or an administrator disabled the account
-- (unix seconds), or NULL. A disabled account cannot sign in; its sessions ended with it.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
