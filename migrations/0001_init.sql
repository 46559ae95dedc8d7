-- casevault schema v1. Nothing readable about a client is stored here: client data,
-- filenames and content types are age ciphertext; A-numbers only as blind indexes.

CREATE TABLE offices (
    slug              TEXT PRIMARY KEY,
    recipient         TEXT NOT NULL,           -- office age recipient (public)
    wrapped_identity  BLOB,                    -- scrypt-wrapped identity; NULL = office-held
    kdf_log_n         INTEGER,                 -- scrypt work factor used to wrap
    created_at        TEXT NOT NULL
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    role              TEXT NOT NULL CHECK (role IN ('superadmin','admin','caseworker','partner','auditor')),
    office            TEXT REFERENCES offices(slug),
    org               TEXT,
    supervisor        INTEGER NOT NULL DEFAULT 0,
    password_hash     TEXT NOT NULL,
    totp_sealed       BLOB,                    -- TOTP seed sealed under the server auth key
    totp_confirmed    INTEGER NOT NULL DEFAULT 0,
    totp_last_step    INTEGER,                 -- last accepted time step: replays refused
    disabled          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash         BLOB NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE sessions (
    token_hash        BLOB PRIMARY KEY,        -- keyed hash; the token itself is never stored
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    totp_at           INTEGER,                 -- when a second factor was last proved
    csrf              TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE cases (
    id                TEXT PRIMARY KEY,
    office            TEXT NOT NULL REFERENCES offices(slug),
    created_by        TEXT NOT NULL,
    recipient         TEXT NOT NULL,           -- case age recipient (public)
    wrapped_identity  BLOB NOT NULL,           -- case identity, age-encrypted to the office
    metadata          BLOB NOT NULL,           -- age-encrypted JSON to the case recipient
    a_number_index    BLOB,                    -- blind index; NULL until computed at unseal
    a_number_pending  INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
    closed_at         TEXT,
    held              INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);
CREATE INDEX cases_office ON cases(office);
CREATE INDEX cases_a_number ON cases(office, a_number_index);

CREATE TABLE case_assignments (
    case_id           TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE documents (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    header            BLOB NOT NULL,           -- the age header: the only wrapped file key
    blob              TEXT NOT NULL,           -- random blob name, unrelated to content
    meta              BLOB NOT NULL,           -- age-encrypted {filename, content_type, size}
    stored_size       INTEGER NOT NULL,        -- padded size (what the blob reveals anyway)
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX documents_case ON documents(case_id);

CREATE TABLE shares (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    permission        TEXT NOT NULL CHECK (permission IN ('read','upload')),
    expires_at        INTEGER NOT NULL,
    revoked_at        INTEGER,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX shares_case ON shares(case_id);
CREATE INDEX shares_user ON shares(user_id);

CREATE TABLE office_holds (
    office            TEXT PRIMARY KEY REFERENCES offices(slug),
    placed_at         TEXT NOT NULL
);

CREATE TABLE audit (
    seq               INTEGER PRIMARY KEY,
    time              TEXT NOT NULL,
    actor             TEXT NOT NULL,
    role              TEXT NOT NULL,
    action            TEXT NOT NULL,
    target            TEXT NOT NULL,
    decision          TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    hash              BLOB NOT NULL
);
