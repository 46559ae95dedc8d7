-- Passkeys (WebAuthn credentials). Only what verifying an assertion needs rests here:
-- the credential id, its public key and signature counter (the `credential` column,
-- webauthn-rs's serialised Passkey) and the name the person gave it. No private key
-- ever reaches the server.
CREATE TABLE passkeys (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cred_id           BLOB NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    credential        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    last_used_at      TEXT
);
CREATE INDEX passkeys_user ON passkeys(user_id);
