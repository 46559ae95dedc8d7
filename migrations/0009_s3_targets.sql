-- Backup targets in an S3 bucket: how to reach them again (for the shred ledger's
-- rewrite after a purge). No secret: the endpoint URL and the path of a credentials
-- file, or NULL for the environment's keys.
ALTER TABLE backup_targets ADD COLUMN s3_endpoint TEXT;
ALTER TABLE backup_targets ADD COLUMN s3_credentials TEXT;
