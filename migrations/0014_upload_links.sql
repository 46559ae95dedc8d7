-- Client upload links (issue 25). A link lets someone without an account add files to
-- one case until it expires, is used up or is revoked. Only a keyed hash of its token
-- is stored (HMAC under the server auth key, as for sessions), so a copy of the
-- database opens no link. Nothing here names the client: ids, times and counts.
CREATE TABLE upload_links (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    token_hash        BLOB NOT NULL UNIQUE,     -- keyed hash; the token itself is never stored
    created_by        TEXT NOT NULL,            -- the account that made it
    created_at        TEXT NOT NULL,            -- RFC 3339
    expires_at        INTEGER NOT NULL,         -- unix time
    max_files         INTEGER NOT NULL,
    max_bytes         INTEGER NOT NULL,         -- plaintext bytes the link may bring in all
    files_received    INTEGER NOT NULL DEFAULT 0,
    bytes_received    INTEGER NOT NULL DEFAULT 0,
    language          TEXT NOT NULL CHECK (language IN ('en','es')),
    revoked_at        INTEGER                   -- unix time; NULL while not revoked
);
CREATE INDEX upload_links_case ON upload_links(case_id);

-- A document a client sent through a link names the link (NULL: added by an account).
ALTER TABLE documents ADD COLUMN via_link TEXT;

-- Files from clients that the case's caseworkers have not looked at yet (their Cases
-- page says "2 new files from the client"); opening the case sets it back to 0.
ALTER TABLE cases ADD COLUMN client_files_new INTEGER NOT NULL DEFAULT 0;
