//! The session cookie, read the same way by the API and the pages: one name, at most
//! 128 bytes, an empty value counts as absent; session rotation at sign-in; and the
//! device cookie that both sign-ins set (its value is a MAC'd token, `auth/device.rs`,
//! passed to the vault and never logged).
use axum::http::{HeaderMap, header};

use super::AppState;

/// The session cookie's name.
/// The `__Host-` prefix makes browsers accept it only with `Secure`, `Path=/` and no
/// `Domain`, so a sibling subdomain can neither set nor overwrite it.
pub const COOKIE: &str = "__Host-casevault_session";

/// The device cookie's name (`__Host-` for the same reasons as the session's).
pub const DEVICE_COOKIE: &str = "__Host-casevault_device";

/// The `Set-Cookie` value of a device cookie that lasts `days`.
pub fn device_cookie(token: &str, days: u32) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        u64::from(days) * 86_400
    )
}

/// The device token the browser sent, if any.
pub fn device_token(headers: &HeaderMap) -> Option<zeroize::Zeroizing<String>> {
    cookie_value(headers, DEVICE_COOKIE).map(zeroize::Zeroizing::new)
}

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
