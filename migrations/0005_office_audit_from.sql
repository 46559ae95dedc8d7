-- An office's audit view starts at its own creation: the sequence number of the entry
-- that created it. A slug purged and created again must not show the new office's
-- administrators the entries of the office that had the slug before (issue 9).
-- Existing offices start at their latest creation entry (NULL: none found, no bound).
ALTER TABLE offices ADD COLUMN audit_from INTEGER;
UPDATE offices SET audit_from = (
    SELECT MAX(seq) FROM audit
    WHERE action = 'create_office' AND decision = 'allow' AND target = 'office:' || offices.slug
);
