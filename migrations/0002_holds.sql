-- casevault schema v2: legal-hold history. Each placing or lifting of a hold is one
-- row; the free-text reason is age ciphertext (to the case recipient for a case hold,
-- to the office recipient for an office hold), never plaintext. Purging a case or an
-- office deletes its rows.

CREATE TABLE hold_events (
    id                TEXT PRIMARY KEY,
    office            TEXT NOT NULL,
    case_id           TEXT,                    -- NULL for an office-wide hold
    placed            INTEGER NOT NULL,        -- 1 placed, 0 lifted
    reason            BLOB,                    -- age-encrypted reason, or NULL
    actor             TEXT NOT NULL,
    at                TEXT NOT NULL
);
CREATE INDEX hold_events_office ON hold_events(office);
CREATE INDEX hold_events_case ON hold_events(case_id);
CREATE INDEX cases_status ON cases(status);
