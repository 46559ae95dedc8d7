//! The Office page's key custody (issue 23): who holds the office key, inviting and
//! removing holders, rotating the key, setting up one's own holder key, recovery
//! shares, and unsealing by a recovery share.
//!
//! Invariants: a holder passphrase or a recovery share is shown once, on the page that
//! answers the post that made it (never in a URL, a redirect or a log); every step that
//! changes custody asks for a fresh authenticator code; the pages only offer, the
//! vault decides.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, page};
use super::session::PageForm;
use crate::edge::AppState;
use crate::vault::{HolderView, SessionInfo, ShareProgress, StepUp, VaultError};

fn code_field(id: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { "6-digit code from your authenticator app" }
            input id=(id) name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
        }
    }
}

fn state_words(h: &HolderView) -> &'static str {
    match h.state.as_str() {
        "invited" => "Invited: has not set up their key yet",
        "waiting" => "Key set up: joins when the office is next unsealed",
        _ => "Can unseal",
    }
}

fn holder_name(h: &HolderView) -> String {
    match (h.kind.as_str(), &h.username) {
        ("office", _) => "Office passphrase".into(),
        ("recovery", _) => "Recovery shares".into(),
        (_, Some(u)) => u.clone(),
        _ => "—".into(),
    }
}

/// The key holders card of an office (its administrators only).
pub(super) fn holders_section(
    s: &SessionInfo,
    office: &str,
    sealed: bool,
    holders: &[HolderView],
) -> Markup {
    let me = s.actor.username();
    let invited_me = holders
        .iter()
        .any(|h| h.state == "invited" && h.username.as_deref() == Some(me));
    let my_key = holders
        .iter()
        .find(|h| h.state != "invited" && h.username.as_deref() == Some(me));
    html! {
        section.card aria-labelledby={ "holders-" (office) } {
            h2 id={ "holders-" (office) } { "Who holds the office key" }
            p { "Each key holder unseals the office with their own passphrase. Keep at least two, so that the office is never lost with one person. Removing someone replaces the office key: their passphrase opens nothing from then on." }
            div.table-wrap { table {
                caption.visually-hidden { "Key holders" }
                thead { tr { th scope="col" { "Holder" } th scope="col" { "State" } th scope="col" { "Last used" } th scope="col" { "Remove" } } }
                tbody { @for h in holders { tr {
                    td { (holder_name(h)) }
                    td data-label="State" { (state_words(h)) }
                    td data-label="Last used" { (h.last_used_at.as_deref().map(super::layout::minute).unwrap_or_else(|| "never".into())) }
                    td {
                        form method="post" action={ "/admin/offices/" (office) "/holders/" (h.id) "/remove" } {
                            (csrf_field(s))
                            label.visually-hidden for={ "rm-" (h.id) } { "Code to remove " (holder_name(h)) }
                            input id={ "rm-" (h.id) } name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" placeholder="code" required;
                            button.danger type="submit" { "Remove" }
                        }
                    }
                } } }
            } }
            p.hint { "Removing a holder (or “Replace the key now”) re-wraps every case of the office to a new key; it needs the office unsealed. Copies of the database made before keep what they held then." }
            @if invited_me {
                form method="post" action="/admin/holder-key" {
                    (csrf_field(s))
                    input type="hidden" name="office" value=(office);
                    p { strong { "You are invited to hold the office key." } " Your own passphrase is shown once, on the next page." }
                    (code_field(&format!("hk-{office}")))
                    button type="submit" { "Set up my key" }
                }
            }
            @if let Some(k) = my_key {
                form #holder-passkey-setup hidden data-office=(office) {
                    p {
                        @if k.passkey { "Your passkey unseals this office. To use another passkey instead, set it up again." }
                        @else { "Unseal with your passkey instead of typing your passphrase: set it up once with your passphrase." }
                    }
                    div.field { label for={ "hpk-" (office) } { "Your holder passphrase" } input id={ "hpk-" (office) } name="passphrase" type="password" autocomplete="off" required; }
                    button type="submit" { "Use my passkey for the office key" }
                    p.passkey-status #holder-passkey-status role="alert" hidden {}
                }
            }
            @if !sealed {
                details {
                    summary { "Invite a key holder" }
                    form method="post" action={ "/admin/offices/" (office) "/holders" } {
                        (csrf_field(s))
                        p { "Only an administrator of this office can hold its key. You prove that you hold it yourself with your passphrase (or the office passphrase)." }
                        div.field { label for={ "inv-u-" (office) } { "Administrator’s username" } input id={ "inv-u-" (office) } name="username" autocomplete="off" required; }
                        div.field { label for={ "inv-p-" (office) } { "Your holder passphrase (or the office passphrase)" } input id={ "inv-p-" (office) } name="passphrase" type="password" autocomplete="off"; }
                        (code_field(&format!("inv-c-{office}")))
                        button type="submit" { "Invite" }
                    }
                }
                details {
                    summary { "Replace the key now" }
                    form method="post" action={ "/admin/offices/" (office) "/rotate" } {
                        (csrf_field(s))
                        p { "Use this if you think a passphrase was seen by someone it should not have been. Everyone keeps their own passphrase." }
                        (code_field(&format!("rot-{office}")))
                        button.danger type="submit" { "Replace the office key" }
                    }
                }
                details {
                    summary { "Recovery shares (for when every key holder is gone)" }
                    form method="post" action={ "/admin/offices/" (office) "/recovery" } {
                        (csrf_field(s))
                        p { "The office key is split into lines of letters. Any " strong { "threshold" } " of them, typed in by different administrators, unseal the office. Give each line to a different trusted person, on paper. Making shares again replaces the old ones." }
                        div.field { label for={ "rk-" (office) } { "How many shares unseal (threshold)" } input id={ "rk-" (office) } name="threshold" type="number" min="2" max="16" value="2" required; }
                        div.field { label for={ "rn-" (office) } { "How many shares to make" } input id={ "rn-" (office) } name="shares" type="number" min="2" max="16" value="3" required; }
                        div.field { label for={ "rp-" (office) } { "Your holder passphrase (or the office passphrase)" } input id={ "rp-" (office) } name="passphrase" type="password" autocomplete="off" required; }
                        (code_field(&format!("rc-{office}")))
                        button type="submit" { "Make recovery shares" }
                    }
                }
            }
        }
    }
}

/// The "unseal with a recovery share" form of a sealed office, and the passkey button
/// for a holder whose key opens with their passkey.
pub(super) fn share_form(s: &SessionInfo, office: &str, holders: Option<&[HolderView]>) -> Markup {
    let by_passkey = holders.is_some_and(|hs| {
        hs.iter()
            .any(|h| h.passkey && h.username.as_deref() == Some(s.actor.username()))
    });
    html! {
        @if by_passkey {
            div.passkey hidden {
                button #unseal-passkey type="button" data-office=(office) { "Unseal with my passkey" }
                p.passkey-status #unseal-passkey-status role="alert" hidden {}
            }
        }
        details {
            summary { "Unseal with a recovery share instead" }
            form method="post" action={ "/admin/offices/" (office) "/unseal-share" } {
                (csrf_field(s))
                p { "Each administrator types one share; the page says how many are still needed. Shares wait 15 minutes for the rest." }
                div.field { label for={ "sh-" (office) } { "Your recovery share" } input id={ "sh-" (office) } name="share" autocomplete="off" spellcheck="false" required; }
                (code_field(&format!("shc-{office}")))
                button type="submit" { "Give my share" }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct InviteForm {
    username: String,
    #[serde(default)]
    passphrase: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

#[derive(Deserialize)]
pub(super) struct CodeOnly {
    #[serde(default)]
    totp: Zeroizing<String>,
}

#[derive(Deserialize)]
pub(super) struct HolderKeyForm {
    office: String,
    #[serde(default)]
    totp: Zeroizing<String>,
}

#[derive(Deserialize)]
pub(super) struct RecoveryForm {
    threshold: u8,
    shares: u8,
    #[serde(default)]
    passphrase: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

#[derive(Deserialize)]
pub(super) struct ShareForm {
    share: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// The Office page again, with what went wrong (a refusal a person can fix).
async fn back_with(st: &AppState, s: SessionInfo, e: VaultError) -> Result<Response, PageError> {
    match e {
        VaultError::InvalidCode
        | VaultError::StepUpRequired
        | VaultError::WrongPassphrase
        | VaultError::OfficeSealed(_)
        | VaultError::BadInput { .. }
        | VaultError::Conflict { .. } => {
            super::admin::office_response(
                st,
                s,
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(super::error::words(e))),
            )
            .await
        }
        e => Err(e.into()),
    }
}

fn secret(p: &Zeroizing<String>) -> Option<age::secrecy::SecretString> {
    let t = p.trim();
    (!t.is_empty()).then(|| age::secrecy::SecretString::from(t.to_string()))
}

/// `POST /admin/offices/{office}/holders`: invite.
pub(super) async fn invite(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<InviteForm>,
) -> Result<Response, PageError> {
    let r = st
        .vault
        .invite_holder(
            &s.actor,
            &office,
            &f.username,
            secret(&f.passphrase),
            StepUp::typed(&f.totp),
        )
        .await;
    match r {
        Ok(_) => Ok(super::see_other("/admin?done=holder_invited")),
        Err(e) => back_with(&st, s, e).await,
    }
}

/// `POST /admin/offices/{office}/holders/{holder}/remove`: remove and rotate.
pub(super) async fn remove(
    State(st): State<AppState>,
    Path((office, holder)): Path<(String, String)>,
    PageForm(s, f): PageForm<CodeOnly>,
) -> Result<Response, PageError> {
    let r = st
        .vault
        .remove_holder(&s.actor, &office, &holder, StepUp::typed(&f.totp))
        .await;
    match r {
        Ok(_) => Ok(super::see_other("/admin?done=holder_removed")),
        Err(e) => back_with(&st, s, e).await,
    }
}

/// `POST /admin/offices/{office}/rotate`.
pub(super) async fn rotate(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<CodeOnly>,
) -> Result<Response, PageError> {
    match st
        .vault
        .rotate_office(&s.actor, &office, StepUp::typed(&f.totp))
        .await
    {
        Ok(_) => Ok(super::see_other("/admin?done=rotated")),
        Err(e) => back_with(&st, s, e).await,
    }
}

/// `POST /admin/holder-key`: set up one's own key; the passphrase is shown once.
pub(super) async fn holder_key(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<HolderKeyForm>,
) -> Result<Response, PageError> {
    let issued = match st
        .vault
        .set_up_holder_key(&s.actor, f.office.trim(), StepUp::typed(&f.totp))
        .await
    {
        Ok(i) => i,
        Err(e) => return back_with(&st, s, e).await,
    };
    let body = html! {
        h1 { "Your passphrase for the office key" }
        p { "Write it down now, on paper, and keep it apart from your password. It is shown only this once; nobody (not even the server) can show it again." }
        p.secret { code { (crate::vault::expose(&issued.passphrase)) } }
        @if issued.state == "waiting" {
            p { "The office is sealed: your key joins when another key holder next unseals it. Until then it does not unseal the office." }
        } @else {
            p { "From now on you can unseal the office with it." }
        }
        p { a href="/admin" { "Back to the Office page" } }
    };
    Ok((StatusCode::OK, page("Your key", Some(&s), None, body)).into_response())
}

/// `POST /admin/offices/{office}/recovery`: the shares, shown once.
pub(super) async fn recovery(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<RecoveryForm>,
) -> Result<Response, PageError> {
    let Some(proof) = secret(&f.passphrase) else {
        return back_with(&st, s, VaultError::WrongPassphrase).await;
    };
    let lines = match st
        .vault
        .make_recovery(
            &s.actor,
            &office,
            f.threshold,
            f.shares,
            proof,
            StepUp::typed(&f.totp),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return back_with(&st, s, e).await,
    };
    let body = html! {
        h1 { "Recovery shares for " (office) }
        p { strong { "Any " (f.threshold) " of these " (lines.len()) " lines unseal the office." } " Print this page or copy each line by hand, then give each line to a " strong { "different" } " trusted person. Nobody should keep two. They are shown only this once." }
        ol.shares { @for l in &lines { li { code { (l.as_str()) } } } }
        p { "A typo in a line is caught when it is typed in. Making shares again replaces these." }
        p { a href="/admin" { "Back to the Office page" } }
    };
    Ok((
        StatusCode::OK,
        page("Recovery shares", Some(&s), None, body),
    )
        .into_response())
}

/// `POST /admin/offices/{office}/unseal-share`: one share towards an unseal.
pub(super) async fn unseal_share(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<ShareForm>,
) -> Result<Response, PageError> {
    let share = age::secrecy::SecretString::from(f.share.trim().to_string());
    match st
        .vault
        .unseal_by_share(&s.actor, &office, share, StepUp::typed(&f.totp))
        .await
    {
        Ok(ShareProgress::Unsealed) => Ok(super::see_other("/admin?done=unsealed")),
        Ok(ShareProgress::Waiting { have, need }) => {
            let words = format!(
                "Your share is in: {have} of {need}. {} more administrator(s) must give theirs within 15 minutes.",
                need.saturating_sub(have)
            );
            super::admin::office_response(&st, s, StatusCode::OK, Some(Notice::Done(words))).await
        }
        Err(e) => back_with(&st, s, e).await,
    }
}
