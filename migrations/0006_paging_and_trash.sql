-- Paged case lists: a caseworker's own cases (created or assigned) without scanning the
-- whole office; every list is ordered by rowid (newest first), which these indexes
-- carry implicitly.
CREATE INDEX cases_office_creator ON cases(office, created_by);
CREATE INDEX case_assignments_user ON case_assignments(user_id);

-- The purge's durable queue of blob files to remove: filled in the purge's own
-- transaction, emptied in the background (and at start), so a purge answers as soon as
-- the data is unreadable and a crash never forgets a file. Names are random and say
-- nothing; the bytes they name are ciphertext whose key is already gone.
CREATE TABLE blob_trash (
    name       TEXT PRIMARY KEY,
    queued_at  TEXT NOT NULL
);
