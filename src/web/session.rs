//! Page extractors: a signed-in session (or a redirect to sign-in), and forms whose
//! CSRF token is checked before the handler runs.
//!
//! Invariant: a handler that takes [`PageForm`] only runs when the form's `csrf`
//! field equals the token stored with the session (compared in constant time); a
//! missing or wrong token is audited and answered with 403.
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::FORM_LIMIT;
use super::error::PageError;
use crate::edge::AppState;
use crate::edge::cookie::session_token;
use crate::vault::{SessionInfo, VaultError};

/// Compares two secrets without an early exit.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<SessionInfo, PageError> {
    if let Some(super::error::Resolved(s)) = parts.extensions.get() {
        return Ok(s.clone());
    }
    let token = session_token(&parts.headers).ok_or(PageError::SignIn)?;
    let vault = state.vault.clone();
    match vault.session(&token).await {
        Ok(s) => Ok(s),
        Err(VaultError::Unauthenticated) => Err(PageError::SignIn),
        Err(e) => Err(e.into()),
    }
}

/// A signed-in session with its second factor in order; otherwise the browser is
/// sent to sign in (or to set up the authenticator first).
pub struct PageSession(pub SessionInfo);

/// A signed-in session that may still have to enrol TOTP (the enrolment page).
pub struct EnrolSession(pub SessionInfo);

impl FromRequestParts<AppState> for PageSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let s = resolve(parts, state).await?;
        if s.must_add_passkey {
            return Err(PageError::AddPasskey);
        }
        if s.must_enrol {
            return Err(PageError::Enrol);
        }
        Ok(PageSession(s))
    }
}

impl FromRequestParts<AppState> for EnrolSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Ok(EnrolSession(resolve(parts, state).await?))
    }
}

/// Checks a posted token against the session's; audits and refuses a mismatch.
pub(crate) async fn check_csrf(
    state: &AppState,
    s: &SessionInfo,
    posted: Option<&str>,
    form: &'static str,
) -> Result<(), PageError> {
    if posted.is_some_and(|p| ct_eq(p.as_bytes(), s.csrf.as_bytes())) {
        return Ok(());
    }
    let v = state.vault.clone();
    v.audit_csrf_failure(&s.actor, form).await?;
    Err(PageError::Csrf)
}

/// The `csrf` field alone (every other field ignored).
#[derive(serde::Deserialize)]
struct TokenOnly {
    #[serde(default)]
    csrf: Option<String>,
}

/// A urlencoded form from a signed-in session, its CSRF token already checked.
/// The form name used in the audit entry is the request path's first segment.
pub struct PageForm<T>(pub SessionInfo, pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let PageSession(s) = PageSession::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| PageError::BadForm)?;
        let token: TokenOnly =
            serde_urlencoded::from_bytes(&bytes).unwrap_or(TokenOnly { csrf: None });
        let form = form_name(parts.uri.path());
        check_csrf(state, &s, token.csrf.as_deref(), form).await?;
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|_| PageError::BadForm)?;
        Ok(PageForm(s, value))
    }
}

/// A fixed name for the audit entry (never a value from the path).
fn form_name(path: &str) -> &'static str {
    let mut seg = path.trim_start_matches('/').split('/');
    match (seg.next(), seg.nth(1)) {
        (Some("cases"), Some("shares")) => "share",
        (Some("cases"), Some("documents"))
            if path.ends_with("/rename") || path.ends_with("/purge") =>
        {
            "document"
        }
        (Some("cases"), Some("documents")) => "upload",
        (Some("cases"), _) => "case",
        _ if path.starts_with("/admin/users/") => "user",
        _ if path.starts_with("/admin/cases/") => "admin_case",
        _ if path == "/admin" || path.starts_with("/admin/") => "office",
        (Some("logout"), _) => "logout",
        (Some("enrol"), _) => "enrol",
        _ => "page",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_compares_whole_values() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"a"));
    }

    #[test]
    fn form_names_are_fixed_words() {
        assert_eq!(form_name("/cases"), "case");
        assert_eq!(form_name("/cases/x/shares"), "share");
        assert_eq!(form_name("/cases/x/documents"), "upload");
        assert_eq!(form_name("/cases/x/documents/y/purge"), "document");
        assert_eq!(form_name("/cases/x/notes"), "case");
        assert_eq!(form_name("/admin/users/x/disable"), "user");
        assert_eq!(form_name("/admin/seal-all"), "office");
        assert_eq!(form_name("/admin/cases/x/purge"), "admin_case");
        assert_eq!(form_name("/admin/offices/bronx/purge"), "office");
        assert_eq!(form_name("/anything/else"), "page");
    }
}
