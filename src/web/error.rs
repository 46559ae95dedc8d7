//! Error pages that help: what happened, in plain English, and what to do next.
//! Status codes come from the one mapping the API uses too (`edge::status`), so a
//! page and the API never disagree; the text is fixed per kind of error and carries no value
//! the visitor sent, no stack trace and, for internal faults, only a reference id.
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::edge::AppState;
use crate::edge::cookie::session_token;
use crate::i18n::{Lang, t, ta};

use super::layout::{Notice, page};
use crate::vault::VaultError;

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// Signed in, but the authenticator must be set up first.
    Enrol,
    /// Signed in, but the role needs a passkey and the account has none yet.
    AddPasskey,
    /// No such page, or a case the visitor may not see (the two look alike).
    NotFound,
    /// A form arrived without the right CSRF token.
    Csrf,
    /// A form that could not be read.
    BadForm,
    /// The page exists but does not take this method (a link followed with the
    /// wrong verb, or a script).
    MethodNotAllowed,
    /// An error from the vault.
    Vault(VaultError),
}

impl From<VaultError> for PageError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::NotFound => PageError::NotFound,
            VaultError::Unauthenticated => PageError::SignIn,
            other => PageError::Vault(other),
        }
    }
}

/// An error page's parts, kept on the response so that [`with_menu`] can draw it again
/// inside the signed-in frame (the error itself has no session to hand).
#[derive(Clone)]
struct Framed {
    title: String,
    notice: Option<Notice>,
    body: Markup,
    not_found: bool,
}

fn framed(status: StatusCode, f: Framed) -> Response {
    let markup = page(&f.title, None, f.notice.as_ref(), f.body.clone());
    let mut resp = (status, markup).into_response();
    resp.extensions_mut().insert(f);
    resp
}

fn error_page(status: StatusCode, title: String, body: Markup) -> Response {
    let body = html! { h1 { (title) } (body) };
    let not_found = status == StatusCode::NOT_FOUND;
    framed(
        status,
        Framed {
            title,
            notice: None,
            body,
            not_found,
        },
    )
}

/// The session a page request carries, resolved once by [`frame`] for the handler's
/// extractors (`session.rs`).
#[derive(Clone)]
pub(super) struct Resolved(pub(super) crate::vault::SessionInfo);

/// Around every page route: resolves the session once; shows the page's times in the
/// office's time zone; an error page shown to someone signed in keeps the top menu
/// (and the waiting notice); a case page that a waiting account cannot open says why
/// instead of "Not found" (it says so of every case, so it tells nothing about which
/// exist).
pub(super) async fn frame(State(st): State<AppState>, req: Request, next: Next) -> Response {
    // The stylesheet and scripts need no session, language or zone: no reads for them.
    if req.uri().path().starts_with("/static/") {
        return next.run(req).await;
    }
    let session = match session_token(req.headers()) {
        Some(token) => st.vault.clone().session(&token).await.ok(),
        None => None,
    };
    let lang = page_lang(&st, req.headers(), session.as_ref()).await;
    crate::i18n::LANG
        .scope(lang, framed_request(st, session, req, next))
        .await
}

/// The cookie that remembers a browser's language before (or without) signing in.
pub(super) const LANG_COOKIE: &str = "__Host-casevault_lang";

/// The page's language: the person's choice (in their account, else this browser's),
/// else the browser's `Accept-Language`, else English.
async fn page_lang(
    st: &AppState,
    headers: &axum::http::HeaderMap,
    session: Option<&crate::vault::SessionInfo>,
) -> Lang {
    if let Some(s) = session
        && let Some(l) = st.vault.user_language(s.actor.id()).await
    {
        return l;
    }
    if let Some(l) = crate::edge::cookie::cookie_value(headers, LANG_COOKIE)
        .as_deref()
        .and_then(Lang::parse)
    {
        return l;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

async fn framed_request(
    st: AppState,
    session: Option<crate::vault::SessionInfo>,
    mut req: Request,
    next: Next,
) -> Response {
    let office = session
        .as_ref()
        .and_then(|s| s.actor.office().map(str::to_owned));
    let zone = super::layout::Zone::of_office(&st, office.as_deref()).await;
    if let Some(s) = &session {
        req.extensions_mut().insert(Resolved(s.clone()));
    }
    // A GET comes back to itself after the language switch; anything else to `/`.
    let here = if req.method() == axum::http::Method::GET {
        req.uri().path().to_string()
    } else {
        "/".to_string()
    };
    let resp = super::layout::HERE
        .scope(here, super::layout::ZONE.scope(zone, next.run(req)))
        .await;
    let (Some(s), Some(f)) = (session, resp.extensions().get::<Framed>().cloned()) else {
        return resp;
    };
    if s.must_enrol || s.must_add_passkey {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let markup = if f.not_found && s.actor.waiting() {
        page(
            &t("waiting-title"),
            Some(&s),
            None,
            html! {
                h1 { (t("waiting-title")) }
                p { (t("waiting-body")) }
            },
        )
    } else {
        page(&f.title, Some(&s), f.notice.as_ref(), f.body)
    };
    drop(body);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(markup.0))
}

fn back_links() -> Markup {
    html! {
        p { a href="/cases" { (t("error-back-cases")) } " · " a href="/login" { (t("error-sign-in-again")) } }
    }
}

/// What a person reads about a refused or failed action: fixed words per kind of
/// error, never a value the visitor sent; an internal fault gives only a reference
/// (its detail goes to the log).
pub(crate) fn words(e: VaultError) -> String {
    match e {
        VaultError::InvalidCode => t("words-invalid-code"),
        VaultError::WrongPassphrase => t("words-wrong-passphrase"),
        VaultError::StepUpRequired => t("words-step-up"),
        VaultError::LegalHold => t("words-legal-hold"),
        VaultError::OfficeSealed(o) => ta("words-sealed", &[("office", &o)]),
        VaultError::Forbidden => t("words-forbidden"),
        VaultError::PasskeyRequired => t("words-passkey-required"),
        VaultError::Busy(secs) => ta("words-busy", &[("wait", &wait_words(secs))]),
        VaultError::NetworkThrottled(secs) => {
            ta("words-network-throttled", &[("wait", &wait_words(secs))])
        }
        VaultError::Throttled(secs) => ta("words-throttled", &[("wait", &wait_words(secs))]),
        VaultError::StoreUnavailable(detail) => {
            tracing::warn!(error = %detail, "blob store unavailable; the page said so");
            t("words-store-unavailable")
        }
        VaultError::Internal(detail) => {
            let id = uuid::Uuid::new_v4();
            tracing::error!(request_id = %id, error = %detail, "internal error");
            ta("words-internal", &[("id", &id.to_string())])
        }
        VaultError::BadInput { message, .. } | VaultError::Conflict { message, .. } => {
            field_words(&message)
        }
        other => other.to_string(),
    }
}

/// The vault's message about a field, in the words of the form: "client_name is
/// required" becomes "Client's name is required." (the API keeps its field names).
pub(crate) fn field_words(message: &str) -> String {
    const FIELDS: [(&str, &str); 14] = [
        ("client_name", "client's name"),
        ("date_of_birth", "date of birth"),
        ("country_of_birth", "country of birth"),
        ("a_number", "A-number"),
        ("expires_at", "end date"),
        ("display_name", "display name"),
        ("username", "username"),
        ("password", "password"),
        ("permission", "access"),
        ("filename", "file name"),
        ("notes", "notes"),
        ("kind", "kind of date"),
        ("title", "title"),
        ("time", "time"),
    ];
    let mut out = String::with_capacity(message.len() + 8);
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let bare = word.trim_matches(|c: char| c == '"' || c == ',' || c == '.');
        match FIELDS.iter().find(|(f, _)| *f == bare) {
            Some((f, w)) => out.push_str(&word.replacen(f, w, 1).replace('"', "")),
            None => out.push_str(word),
        }
    }
    let mut chars = out.chars();
    let mut sentence: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => out,
    };
    if !sentence.ends_with(['.', '?', '!', ')']) {
        sentence.push('.');
    }
    sentence
}

/// Minutes (rounded up) for a person to read.
pub(crate) fn wait_words(secs: i64) -> String {
    let secs = secs.max(1);
    if secs < 60 {
        ta("wait-seconds", &[("n", &secs.to_string())])
    } else {
        let m = (secs + 59) / 60;
        if m == 1 {
            t("wait-minute")
        } else {
            ta("wait-minutes", &[("n", &m.to_string())])
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => super::see_other("/login"),
            PageError::Enrol => super::see_other("/enrol"),
            PageError::AddPasskey => super::see_other("/account"),
            PageError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                t("error-not-found-title"),
                html! {
                    p { (t("error-not-found-body")) }
                    p { (t("error-not-found-hint")) }
                    (back_links())
                },
            ),
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                t("error-csrf-title"),
                html! {
                    p { (t("error-csrf-body")) }
                    p { (t("error-csrf-hint")) }
                    (back_links())
                },
            ),
            PageError::BadForm => error_page(
                StatusCode::BAD_REQUEST,
                t("error-bad-form-title"),
                html! {
                    p { (t("error-bad-form-body")) }
                    (back_links())
                },
            ),
            PageError::MethodNotAllowed => error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                t("error-method-title"),
                html! {
                    p { (t("error-method-body")) }
                    (back_links())
                },
            ),
            PageError::Vault(VaultError::OfficeSealed(office)) => error_page(
                StatusCode::LOCKED,
                t("error-sealed-title"),
                html! {
                    p { (ta("error-sealed-body", &[("office", &office)])) }
                    p { (ta("error-sealed-who", &[("office", &office)])) }
                    p { (t("error-sealed-still")) }
                    (back_links())
                },
            ),
            PageError::Vault(VaultError::Throttled(secs) | VaultError::NetworkThrottled(secs)) => {
                let mut resp = error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    t("error-throttled-title"),
                    html! {
                        p { (t("error-throttled-body")) }
                        p { strong { (ta("error-throttled-wait", &[("wait", &wait_words(secs))])) } }
                        p { (t("error-throttled-hint")) }
                        p { a href="/login" { (t("error-back-sign-in")) } }
                    },
                );
                if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                resp
            }
            PageError::Vault(VaultError::Forbidden) => error_page(
                StatusCode::FORBIDDEN,
                t("error-forbidden-title"),
                html! {
                    p { (t("error-forbidden-body")) }
                    (back_links())
                },
            ),
            PageError::Vault(e) => {
                let (status, _) = crate::edge::status::of(&e);
                let title = if status.is_server_error() {
                    t("error-server-title")
                } else {
                    t("error-failed-title")
                };
                let body = html! {
                    h1 { (title) }
                    p { (t("error-failed-body")) }
                    (back_links())
                };
                let notice = Some(Notice::Error(words(e)));
                framed(
                    status,
                    Framed {
                        title,
                        notice,
                        body,
                        not_found: false,
                    },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field_words;

    #[test]
    fn field_names_become_words() {
        assert_eq!(
            field_words("client_name is required"),
            "Client's name is required."
        );
        assert_eq!(
            field_words("date_of_birth must be YYYY-MM-DD"),
            "Date of birth must be YYYY-MM-DD."
        );
        assert_eq!(
            field_words("send at least one of client_name, a_number and notes"),
            "Send at least one of client's name, A-number and notes."
        );
        assert_eq!(
            field_words("that code did not work."),
            "That code did not work."
        );
    }
}
