//! Error pages that help: what happened, in plain English, and what to do next.
//! Status codes come from the one mapping the API uses too (`edge::status`), so a
//! page and the API never disagree; the text is fixed per kind of error and carries no value
//! the visitor sent, no stack trace and, for internal faults, only a reference id.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

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

fn error_page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = page(
        title,
        None,
        None,
        html! {
            h1 { (title) }
            (body)
        },
    );
    (status, markup).into_response()
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
        VaultError::WrongPassphrase => "That passphrase does not open this office. Check it (it is several words, separated as written down) and try again.".into(),
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
        other => other.to_string(),
    }
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
                let notice = Notice::Error(words(e));
                let markup = page(
                    title,
                    None,
                    Some(&notice),
                    html! {
                        h1 { (title) }
                        p { "Nothing was changed. Go back and try again; if it keeps happening, tell your office administrator and quote the message above." }
                        (back_links())
                    },
                );
                (status, markup).into_response()
            }
        }
    }
}
