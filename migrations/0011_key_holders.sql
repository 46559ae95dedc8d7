-- Office key custody (issue 23). The office identity no longer rests under one
-- passphrase: `offices.wrapped_identity` becomes one age file encrypted to the X25519
-- recipient of every key holder (custody = 'holders'). Each holder's own identity rests
-- here wrapped under *their* secret (age scrypt); NULL while only invited. An office
-- created before this keeps its scrypt-wrapped identity (custody = 'passphrase') until
-- its passphrase is next used, which turns it into the first holder.
ALTER TABLE offices ADD COLUMN custody TEXT NOT NULL DEFAULT 'passphrase'
    CHECK (custody IN ('passphrase','holders'));

CREATE TABLE office_holders (
    id                TEXT PRIMARY KEY,
    office            TEXT NOT NULL REFERENCES offices(slug) ON DELETE CASCADE,
    user_id           TEXT REFERENCES users(id) ON DELETE CASCADE, -- NULL: the office passphrase
    kind              TEXT NOT NULL CHECK (kind IN ('office','passphrase','recovery')),
    state             TEXT NOT NULL CHECK (state IN ('invited','waiting','active')),
    recipient         TEXT,                    -- the holder's age recipient (public)
    wrapped_identity  BLOB,                    -- the holder's identity under their secret
                                               -- (recovery: under the secret the shares rebuild)
    threshold         INTEGER,                 -- recovery: how many shares rebuild it
    prf_wrapped       BLOB,                    -- the same identity under a passkey's PRF output
    prf_passkey       TEXT,                    -- which passkey (its PRF is evaluated per holder)
    share_check       BLOB,                    -- recovery: SHA-256 commitment of each share
    invited_by        TEXT,
    created_at        TEXT NOT NULL,
    last_used_at      TEXT
);
CREATE UNIQUE INDEX office_holders_user ON office_holders(office, user_id);
CREATE UNIQUE INDEX office_holders_passphrase ON office_holders(office) WHERE kind = 'office';

-- A holder's wrapped identity has its own shred key (kind 'holder'), so that removing
-- the holder makes their copy in every earlier backup unreadable.
CREATE TABLE shred_keys_new (
    kind        TEXT NOT NULL CHECK (kind IN ('office','case','document','holder')),
    owner       TEXT NOT NULL,                -- office slug, case, document or holder id
    sealed      BLOB NOT NULL,                -- the 32-byte key, sealed with the auth key
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kind, owner)
);
INSERT INTO shred_keys_new SELECT kind, owner, sealed, created_at FROM shred_keys;
DROP TABLE shred_keys;
ALTER TABLE shred_keys_new RENAME TO shred_keys;
