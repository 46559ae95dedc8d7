//! The session cookie, read the same way by the API and the pages: one name, at most
//! 128 bytes, an empty value counts as absent; and session rotation at sign-in.
use axum::http::{HeaderMap, header};

use super::AppState;

/// The session cookie's name.
/// The `__Host-` prefix makes browsers accept it only with `Secure`, `Path=/` and no
/// `Domain`, so a sibling subdomain can neither set nor overwrite it.
pub const COOKIE: &str = "__Host-casevault_session";

/// Reads one cookie's value (at most 128 bytes; empty counts as absent).
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Reads the session token from the cookie header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

/// Session rotation: after a successful sign-in, any session this browser already had
/// ends, so a token planted before sign-in is worthless after it.
pub async fn end_previous_session(st: &AppState, headers: &HeaderMap) {
    if let Some(old) = session_token(headers)
        && let Ok(s) = st.vault.session(&old).await
    {
        let _ = st.vault.logout(&s).await;
    }
}
