-- An office's time zone (an IANA name such as America/Chicago): the pages show times
-- and dates in it. Stored times stay UTC.
ALTER TABLE offices ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
