-- An account that can read client data (a caseworker) made, enabled or reset by
-- someone who cannot read it (an administrator, the superadmin) reads nothing until a
-- supervisor of its office, or the office passphrase, confirms it. Existing accounts
-- keep what they have.
ALTER TABLE users ADD COLUMN access_pending INTEGER NOT NULL DEFAULT 0;
