//! What both front ends need from a request and nothing more: the status a
//! [`VaultError`](crate::vault::VaultError) answers with, the session cookie, and the
//! client's address. `http/` (the JSON API) and `web/` (the pages) are siblings over
//! `vault/` and import this, never each other; `app.rs` assembles them.
pub mod status;
