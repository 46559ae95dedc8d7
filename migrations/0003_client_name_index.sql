-- Blind index for client names (equality search on the normalised name), next to the
-- A-number one. `a_number_pending` now means "this case's indexes still need computing"
-- (it was created while its office was sealed); every existing case is marked so that its
-- name index is computed at the next unseal.
ALTER TABLE cases ADD COLUMN client_name_index BLOB;
CREATE INDEX cases_client_name ON cases(office, client_name_index);
UPDATE cases SET a_number_pending = 1;
