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
    title: &'static str,
    notice: Option<Notice>,
    body: Markup,
    not_found: bool,
}

fn framed(status: StatusCode, f: Framed) -> Response {
    let markup = page(f.title, None, f.notice.as_ref(), f.body.clone());
    let mut resp = (status, markup).into_response();
    resp.extensions_mut().insert(f);
    resp
}

fn error_page(status: StatusCode, title: &'static str, body: Markup) -> Response {
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
pub(super) async fn frame(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let session = match session_token(req.headers()) {
        Some(token) => st.vault.clone().session(&token).await.ok(),
        None => None,
    };
    let office = session
        .as_ref()
        .and_then(|s| s.actor.office().map(str::to_owned));
    let zone = super::layout::Zone::of_office(&st, office.as_deref()).await;
    if let Some(s) = &session {
        req.extensions_mut().insert(Resolved(s.clone()));
    }
    let resp = super::layout::ZONE.scope(zone, next.run(req)).await;
    let (Some(s), Some(f)) = (session, resp.extensions().get::<Framed>().cloned()) else {
        return resp;
    };
    if s.must_enrol || s.must_add_passkey {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let markup = if f.not_found && s.actor.waiting() {
        page(
            "Waiting for confirmation",
            Some(&s),
            None,
            html! {
                h1 { "Waiting for confirmation" }
                p { "Client files open once a supervisor of your office has confirmed your account. Ask your supervisor to confirm it on their Cases page; nothing else is needed from you." }
            },
        )
    } else {
        page(f.title, Some(&s), f.notice.as_ref(), f.body)
    };
    drop(body);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(markup.0))
}

fn back_links() -> Markup {
    html! {
        p { a href="/cases" { "Go to your cases" } " · " a href="/login" { "Sign in again" } }
    }
}

/// What a person reads about a refused or failed action: fixed words per kind of
/// error, never a value the visitor sent; an internal fault gives only a reference
/// (its detail goes to the log).
pub(crate) fn words(e: VaultError) -> String {
    match e {
        VaultError::InvalidCode => "That code did not work. Codes change every 30 seconds and each can be used once: wait for the next code and try again.".into(),
        VaultError::WrongPassphrase => "That passphrase does not open this office. A passphrase casevault made is five groups of five small letters and digits joined by dashes, like k7m2p-q9x4a-…; check each group against the paper and try again.".into(),
        VaultError::StepUpRequired => "Enter the 6-digit code from your authenticator app.".into(),
        VaultError::LegalHold => "A legal hold covers this, so nothing in it can be deleted. Lift the hold first if the legal matter has ended.".into(),
        VaultError::OfficeSealed(o) => format!("The {o} office is sealed. Ask an administrator of {o} to unseal it."),
        VaultError::Forbidden => "Your account is not allowed to do that.".into(),
        VaultError::PasskeyRequired => "This account signs in with its passkey: choose “Sign in with a passkey” below. If you have lost it, ask your administrator to reset your account.".to_string(),
        VaultError::Busy(secs) => format!("The server is busy. Please try again in {}.", wait_words(secs)),
        VaultError::NetworkThrottled(secs) => format!("Too many failed sign-ins from your network. Signing in from it can start again in {}; a browser that has signed in before is not affected.", wait_words(secs)),
        VaultError::Throttled(secs) => format!("Too many failed attempts on this account. This account can try again in {}; other accounts are not affected.", wait_words(secs)),
        VaultError::StoreUnavailable(detail) => {
            tracing::warn!(error = %detail, "blob store unavailable; the page said so");
            "The document store cannot be reached right now, so nothing was stored or changed. Please try again in a minute.".into()
        }
        VaultError::Internal(detail) => {
            let id = uuid::Uuid::new_v4();
            tracing::error!(request_id = %id, error = %detail, "internal error");
            format!("Something went wrong on the server (reference {id}). Nothing was changed.")
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
        format!("{secs} seconds")
    } else {
        let m = (secs + 59) / 60;
        if m == 1 {
            "1 minute".into()
        } else {
            format!("{m} minutes")
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
                "Not found",
                html! {
                    p { "We could not find that page or case. It may never have existed, it may have been deleted, or it has not been shared with you." }
                    p { "If someone sent you this link, ask them to check that the case is shared with your account." }
                    (back_links())
                },
            ),
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                html! {
                    p { "For your safety we did not act on it: the form did not carry the security code of your current session. This happens when a page was left open from an earlier sign-in, or when another website tried to send it." }
                    p { "Go back, reload the page, and try again. Nothing was changed." }
                    (back_links())
                },
            ),
            PageError::BadForm => error_page(
                StatusCode::BAD_REQUEST,
                "That form could not be read",
                html! {
                    p { "Some of what was sent is missing or too long. Go back, check the form and try again. Nothing was changed." }
                    (back_links())
                },
            ),
            PageError::MethodNotAllowed => error_page(
                StatusCode::METHOD_NOT_ALLOWED,
                "That cannot be done here",
                html! {
                    p { "This page exists, but not for what the browser asked of it. Nothing was changed." }
                    (back_links())
                },
            ),
            PageError::Vault(VaultError::OfficeSealed(office)) => error_page(
                StatusCode::LOCKED,
                "This office is sealed",
                html! {
                    p { "The " strong { (office) } " office is sealed: its encryption keys have been removed from the server, so nobody can read its case files until it is unsealed." }
                    p { "Only an administrator of the " (office) " office can unseal it, with the office passphrase and their authenticator code. If you did not expect this, contact your office administrator." }
                    p { "Staff of the office can still open new cases and add documents: they are encrypted straight away and become readable after unsealing." }
                    (back_links())
                },
            ),
            PageError::Vault(VaultError::Throttled(secs) | VaultError::NetworkThrottled(secs)) => {
                let mut resp = error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    html! {
                        p { "There have been too many unsuccessful sign-in attempts. For safety, signing in is paused for a while." }
                        p { strong { "Please try again in " (wait_words(secs)) "." } }
                        p { "If you have forgotten your password or lost your phone, ask your office administrator to reset it." }
                        p { a href="/login" { "Back to sign-in" } }
                    },
                );
                if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                resp
            }
            PageError::Vault(VaultError::Forbidden) => error_page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                html! {
                    p { "Your account is not allowed to do that. If you think it should be, ask your office administrator." }
                    (back_links())
                },
            ),
            PageError::Vault(e) => {
                let (status, _) = crate::edge::status::of(&e);
                let title = if status.is_server_error() {
                    "Something went wrong on our side"
                } else {
                    "That did not work"
                };
                let body = html! {
                    h1 { (title) }
                    p { "Nothing was changed. Go back and try again; if it keeps happening, tell your office administrator and quote the message above." }
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
