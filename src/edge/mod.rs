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

/// The address the server is reached at (`https://HOST[:PORT]`), for a link that
/// someone will open elsewhere (a client's upload link): the configured public URL,
/// else the `Host` (or HTTP/2 authority) this request was sent to, when it reads as
/// a plain host and port.
pub fn public_base(
    vault: &Vault,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
) -> String {
    if let Some(u) = vault.public_url() {
        return u;
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    format!("https://{}", host.unwrap_or("localhost"))
}
