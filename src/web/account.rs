//! The signed-in person's own account page: who they are and their passkeys (add with
//! a name, list, remove).
//!
//! Invariant: the page only shows and links; adding and removing go through the same
//! API routes as any client (`/api/v1/me/passkeys…`, a fresh second factor each),
//! driven by the first-party passkey script.
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::error::PageError;
use super::layout::{done_message, minute, page};
use super::parts::DoneQuery;
use super::session::EnrolSession;
use crate::edge::AppState;

/// `GET /account`.
pub(super) async fn account_page(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    // A session that must set up the authenticator app does that first.
    if s.must_enrol && !s.must_add_passkey {
        return Err(PageError::Enrol);
    }
    let passkeys = st.vault.list_passkeys(&s.actor).await?;
    let available = st.vault.passkeys_available();
    let notice = done_message(q.ok().and_then(|q| q.0.done).as_deref());
    let body = html! {
        h1 { "Your account" }
        @if s.must_add_passkey {
            div.banner role="status" { strong { "Add a passkey to continue. " } "Your office requires people in your role to sign in with a passkey. Add one below; from then on, sign in with it." }
        }
        p { "Signed in as " strong { (s.actor.username()) } "." }
        section aria-labelledby="passkeys" {
            h2 #passkeys { "Passkeys" }
            p { "A passkey lets you sign in with your fingerprint, face or device PIN instead of your password and code. A fake website cannot use it, so it protects you from phishing. Your device keeps the passkey; casevault keeps only its public half." }
            @if passkeys.is_empty() {
                p.empty { "You have no passkey yet." }
            } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Your passkeys" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Added" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Remove" } } } }
                    tbody { @for p in &passkeys { tr {
                        td { (p.name) }
                        td.date { (minute(&p.created_at)) }
                        td.date { @if let Some(u) = &p.last_used_at { (minute(u)) } @else { "never" } }
                        td { button.danger type="button" data-passkey-remove=(p.id) hidden { "Remove" span.visually-hidden { " passkey " (p.name) } } }
                    } } }
                } }
            }
            @if available {
                form.card #passkey-add hidden {
                    div.field {
                        label for="passkey-name" { "Name for the new passkey" }
                        input #passkey-name name="name" maxlength="64" required autocomplete="off" placeholder="e.g. work laptop";
                    }
                    @if !s.actor.fresh() {
                        div.field {
                            label for="passkey-code" { "6-digit code from your authenticator app" }
                            input.code #passkey-code name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="passkey-code-help";
                            p.help #passkey-code-help { "Adding or removing a passkey asks for your code (or a passkey) once every few minutes." }
                        }
                    }
                    button type="submit" { "Add a passkey" }
                    p #passkey-add-status role="alert" hidden {}
                }
                noscript { p { "Adding a passkey needs JavaScript in this browser." } }
            } @else {
                p.help { "Passkeys are not available on this server: it needs an address with a name (ask your administrator to set the server's public URL)." }
            }
        }
    };
    Ok(page("Your account", Some(&s), notice.as_ref(), body).into_response())
}
