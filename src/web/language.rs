//! The language switch on every page: `GET /language/{en|es}?back=PATH` remembers the
//! choice in this browser (a cookie) and, for a signed-in person, in their account,
//! then goes back to the page it came from.
//!
//! Invariant: `back` is followed only when it is a plain path of this site (letters,
//! digits, `/ _ . -`, not `//`): the switch is no open redirect.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{LANG_COOKIE, PageError};
use crate::edge::AppState;
use crate::edge::cookie::session_token;
use crate::i18n::Lang;

#[derive(Deserialize, Default)]
pub(super) struct Back {
    #[serde(default)]
    back: Option<String>,
}

/// A path of this site to go back to, or `/`.
fn safe_back(back: Option<&str>) -> &str {
    back.filter(|b| {
        b.starts_with('/')
            && !b.starts_with("//")
            && b.len() <= 200
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"/_.-".contains(&c))
    })
    .unwrap_or("/")
}

/// `GET /language/{lang}`.
pub(super) async fn switch(
    State(st): State<AppState>,
    Path(lang): Path<String>,
    headers: HeaderMap,
    q: Result<Query<Back>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(lang) = Lang::parse(&lang).filter(|l| l.as_str() == lang) else {
        return PageError::NotFound.into_response();
    };
    if let Some(token) = session_token(&headers)
        && let Ok(s) = st.vault.clone().session(&token).await
        && let Err(e) = st.vault.set_user_language(&s, lang).await
    {
        return PageError::from(e).into_response();
    }
    let back = q.ok().map(|q| q.0).unwrap_or_default();
    let mut resp = super::see_other(safe_back(back.back.as_deref()));
    let cookie = format!(
        "{LANG_COOKIE}={}; Secure; SameSite=Lax; Path=/; Max-Age=31536000",
        lang.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::safe_back;

    #[test]
    fn only_plain_local_paths_are_followed() {
        assert_eq!(
            safe_back(Some("/cases/0204dae2-2721")),
            "/cases/0204dae2-2721"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/a\r\nSet-Cookie: x",
            "/a?b=c",
            "/%0d",
            "cases",
            "/\\evil",
        ] {
            assert_eq!(safe_back(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_back(None), "/");
    }
}
