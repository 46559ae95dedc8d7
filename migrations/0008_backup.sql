-- Backups and the shred ledger (issue 12).
--
-- A backup seals every key-bearing value of a case, a document or an office under a
-- random key of its own, a shred key. The live copy of those keys is here (each sealed
-- with the server auth key); the other copy is the ledger at each backup target. Purge
-- and retention delete the row in the same transaction as the purge itself, so every
-- backup ever made of that case becomes undecryptable once the target's ledger has
-- been rewritten.

-- This vault's own id: a backup target belongs to exactly one vault.
CREATE TABLE vault_identity (
    only        INTEGER PRIMARY KEY CHECK (only = 1),
    id          TEXT NOT NULL,
    shred_epoch INTEGER NOT NULL DEFAULT 0    -- grows with every purge of a shred key
);
INSERT INTO vault_identity (only, id) VALUES (1, lower(hex(randomblob(16))));

CREATE TABLE shred_keys (
    kind        TEXT NOT NULL CHECK (kind IN ('office','case','document')),
    owner       TEXT NOT NULL,                -- office slug, case id or document id
    sealed      BLOB NOT NULL,                -- the 32-byte key, sealed with the auth key
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kind, owner)
);

CREATE TABLE backup_targets (
    id          TEXT PRIMARY KEY,
    location    TEXT NOT NULL UNIQUE,         -- absolute directory (or s3:// URL)
    recipient   TEXT NOT NULL,                -- the age recipient its ledger is sealed to
    created_at  TEXT NOT NULL
);

CREATE TABLE backup_runs (
    id          TEXT PRIMARY KEY,             -- the backup's id (time-sortable)
    target      TEXT REFERENCES backup_targets(id) ON DELETE CASCADE,  -- NULL: failed
                                              -- before the target could be opened
    location    TEXT NOT NULL,                -- where it went (or was to go)
    sealed      BLOB,                         -- its snapshot identity, sealed with the auth
                                              -- key; NULL once pruned or failed
    manifest_sha256 BLOB,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,                -- running | ok | failed: <what>
    bytes       INTEGER,                      -- size of the backup (snapshot + its blobs)
    copied      INTEGER,                      -- bytes this run wrote to the target
    scheduled   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backup_runs_target ON backup_runs(target, started_at);
