-- Casework: a case's details change over time, and it gathers notes and dated events.
-- Everything said about a client is age ciphertext sealed to the case key, like the
-- case's metadata; what stays in the clear is ids, times and version numbers. A purge
-- deletes these rows with the case (and `secure_delete` zeroes their pages).

-- The case's current details stay in cases.metadata; `version` counts edits (1 = as
-- opened) and is what an editor must name (If-Match) to change them.
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN updated_by TEXT;   -- NULL: never edited (created_by made it)
ALTER TABLE cases ADD COLUMN updated_at TEXT;

-- Every earlier version of a case's details, as it was sealed then.
CREATE TABLE case_versions (
    case_id     TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    metadata    BLOB NOT NULL,                -- age-encrypted JSON to the case recipient
    changed_by  TEXT NOT NULL,                -- who wrote this version
    changed_at  TEXT NOT NULL,                -- when this version was written
    PRIMARY KEY (case_id, version)
);

-- Dated notes. A note is never edited: a correction is a new note naming the one it
-- corrects.
CREATE TABLE case_notes (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    body        BLOB NOT NULL,                -- age-encrypted text to the case recipient
    corrects    TEXT,                         -- the id of the note this one corrects
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes(case_id);
-- A note is corrected once (a correction may itself be corrected): two people
-- correcting the same note at once cannot both leave a current version.
CREATE UNIQUE INDEX case_notes_corrects ON case_notes(corrects) WHERE corrects IS NOT NULL;

-- Hearings, deadlines and appointments: everything but the ids is sealed (kind, date,
-- time, place, description, author), so not even the date of a hearing rests in the
-- clear. `replaces` names the event a new one replaces (a hearing moved), once: two
-- people moving the same hearing at once cannot both leave a date standing.
CREATE TABLE case_events (
    id          TEXT PRIMARY KEY,
    case_id     TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    body        BLOB NOT NULL,                -- age-encrypted JSON to the case recipient
    replaces    TEXT                          -- the id of the event this one replaces
);
CREATE INDEX case_events_case ON case_events(case_id);
CREATE UNIQUE INDEX case_events_replaces ON case_events(replaces) WHERE replaces IS NOT NULL;

-- A share shows a partner the case's notes and events only when it says so.
ALTER TABLE shares ADD COLUMN notes INTEGER NOT NULL DEFAULT 0;
