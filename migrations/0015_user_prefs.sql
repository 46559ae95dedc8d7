-- A person's chosen language for the pages ('en' or 'es'); none: the browser's
-- Accept-Language decides.
CREATE TABLE user_prefs (
    user_id  TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    language TEXT NOT NULL CHECK (language IN ('en', 'es'))
);
-- The session (keyed hash of its token) that an unconfirmed authenticator secret was
-- shown to: only that session sees it again; any other gets a new one.
ALTER TABLE users ADD COLUMN totp_enrol_session BLOB;
