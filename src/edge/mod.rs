//! What both front ends need from a request and nothing more: the shared state, the
//! status a [`VaultError`] answers with, the session cookie and the client's address.
//! `http/` (the JSON API) and `web/` (the pages) are siblings over `vault/`: each
//! imports this module and never the other, and neither imports `app`, which
//! assembles them into one router.
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;

use crate::vault::Vault;

pub mod cookie;
pub mod head;
pub mod origin;
pub mod status;

/// Shared state: one struct of `Arc`s, built by `app.rs`.
#[derive(Clone)]
pub struct AppState {
    /// The vault.
    pub vault: Arc<Vault>,
}

/// The client's IP address as text (for throttling only; never logged or audited),
/// from the connection information `app.rs` attaches to every request.
pub fn client_ip(ci: Option<&ConnectInfo<SocketAddr>>) -> String {
    ci.map(|c| c.0.ip().to_string()).unwrap_or_default()
}
