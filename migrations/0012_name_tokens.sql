-- Blind index of every word of a client's name (issue 24, item 10): one row per case
-- and word, the word folded for case and accents and HMAC'd under the office's
-- name-word index key (its own HKDF label, so a word's tag never equals a full-name
-- tag). A search matches the cases that hold every word searched.
--
-- No office column: the tags are keyed per office, so one office's tag finds only its
-- own cases, and every search also requires `cases.office` to be the searcher's. The
-- rows go with their case (ON DELETE CASCADE, and purge deletes them explicitly).
--
-- Every existing case is marked pending, so its words are indexed at the next unseal
-- (the index key needs the office key), as 0003 did for the full-name index.
CREATE TABLE case_name_tokens (
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    tag     BLOB NOT NULL,
    PRIMARY KEY (case_id, tag)
) WITHOUT ROWID;
CREATE INDEX case_name_tokens_tag ON case_name_tokens(tag);
UPDATE cases SET a_number_pending = 1;
