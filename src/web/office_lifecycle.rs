//! The end of an office's records, on the administrator's Office page: a legal
//! hold on the whole office, the retention preview (what the next scheduled
//! deletion would remove, and what it keeps because of a hold), and the purge of
//! the whole office behind a confirmation that names everything it destroys, asks
//! for the office's name typed out and a fresh code.
//!
//! Invariants: each change is one `Vault` call, decided and audited there; the
//! preview is a dry run and changes nothing; an office purge proves a fresh code
//! first whatever the session's age, and is never attempted unless the typed name
//! matches the office.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::admin::office_response;
use super::error::PageError;
use super::layout::{Notice, csrf_field, page, size_words};
use super::parts::{OFFICE_HOLD_NOTICE, change_error, code_field};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::vault::{OfficeCases, RetentionReport, SessionInfo, StepUp, VaultError};

/// The legal hold on the whole office, and the way to its purge.
pub(super) fn hold_section(s: &SessionInfo, o: &OfficeCases) -> Markup {
    let slug = &o.office;
    let held_cases = o.cases.iter().filter(|c| c.held).count();
    html! {
        h3 { "Legal hold" }
        @if o.held {
            p.state.held { strong { "The whole office is under a legal hold." } " None of its cases can be deleted, by hand or by the retention schedule, until the hold is lifted." }
            form method="post" action={ "/admin/offices/" (slug) "/lift" } {
                (csrf_field(s))
                (code_field(s, &format!("office-lift-code-{slug}"), false, "Lifting a legal hold needs a fresh code."))
                button.secondary type="submit" { "Lift the office-wide hold" }
            }
        } @else {
            p { "No office-wide hold. "
                @if held_cases > 0 { (held_cases) " case(s) have their own hold — see " a href="/admin/cases" { "Cases" } "." }
                @else { "Holds on single cases are placed on the " a href="/admin/cases" { "Cases" } " page." } }
            details {
                summary { "Place a legal hold on the whole " (slug) " office" }
                form method="post" action={ "/admin/offices/" (slug) "/hold" } {
                    (csrf_field(s))
                    div.field {
                        label for={ "office-reason-" (slug) } { "Reason (optional)" }
                        textarea id={ "office-reason-" (slug) } name="reason" rows="2" maxlength="2000" {}
                    }
                    (code_field(s, &format!("office-hold-code-{slug}"), false, "A legal hold needs a fresh code."))
                    button type="submit" { "Place office-wide hold" }
                }
            }
        }
        h3 { "Delete the office" }
        p { "Closing down this office for good? " a href={ "/admin/offices/" (slug) "/purge" } { "Delete the " (slug) " office permanently…" } }
    }
}

/// What the next retention run would do in the office.
pub(super) fn retention_section(o: &OfficeCases, r: &RetentionReport, days: u32) -> Markup {
    html! {
        section.card aria-labelledby={ "retention-" (o.office) } {
            h2 id={ "retention-" (o.office) } { "Scheduled deletion (retention) — " (o.office) }
            p { "Closed cases are deleted automatically " strong { (days) " days after they were closed" } ", unless they are under a legal hold. This preview changes nothing." }
            @if r.purged.is_empty() {
                p.empty { "No closed case is due for deletion now." }
            } @else {
                div.table-wrap { table {
                    caption { "Due for deletion at the next run (" (r.purged.len()) ")" }
                    thead { tr { th scope="col" { "Case ID" } th scope="col" { "Documents" } th scope="col" { "Size" } } }
                    tbody { @for i in &r.purged { tr {
                        td.ids { span { (i.case_id) } }
                        td { (i.documents) }
                        td { (size_words(i.bytes)) }
                    } } }
                } }
            }
            @if !r.held.is_empty() {
                h3 { "Kept because of a legal hold (" (r.held.len()) ")" }
                ul.ids { @for id in &r.held { li { span { (id) } } } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct HoldForm {
    #[serde(default)]
    reason: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

async fn hold_change(
    st: AppState,
    s: SessionInfo,
    office: String,
    f: HoldForm,
    place: bool,
) -> Result<Response, PageError> {
    let reason = Some(f.reason.trim()).filter(|r| !r.is_empty() && place);
    let result = st
        .vault
        .set_office_hold(&s.actor, &office, place, reason, StepUp::typed(&f.totp))
        .await;
    match result {
        Ok(crate::vault::Decided::Pending(_)) => {
            Ok(super::see_other("/admin?done=approval_pending"))
        }
        Ok(crate::vault::Decided::Done(())) => Ok(super::see_other(&format!(
            "/admin?done={}",
            if place {
                "office_held"
            } else {
                "office_lifted"
            }
        ))),
        Err(e) => {
            let (status, notice) = change_error(e)?;
            office_response(&st, s, status, Some(notice)).await
        }
    }
}

/// `POST /admin/offices/{office}/hold` (step-up).
pub(super) async fn hold(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<HoldForm>,
) -> Result<Response, PageError> {
    hold_change(st, s, office, f, true).await
}

/// `POST /admin/offices/{office}/lift` (step-up).
pub(super) async fn lift(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<HoldForm>,
) -> Result<Response, PageError> {
    hold_change(st, s, office, f, false).await
}

fn purge_body(s: &SessionInfo, o: &OfficeCases) -> Markup {
    let slug = &o.office;
    let held_cases = o.cases.iter().filter(|c| c.held).count();
    html! {
        p.crumbs { a href="/admin" { "← Office" } }
        h1 { "Delete the whole " (slug) " office permanently?" }
        section.card.danger-zone aria-labelledby="what" {
            h2 #what { "Everything below will be destroyed" }
            ul {
                li { strong { (count(o.cases.len() as u64, "case")) } " of the " (slug) " office, with their client details." }
                li { strong { (count(o.documents(), "document")) } " of those cases ("
                    (size_words(o.cases.iter().map(|c| c.bytes).sum())) ")." }
                li { strong { (count(o.accounts, "account")) } " of the office — " strong { "including yours" } ". You will be signed out and cannot sign in again." }
                li { "The office’s encryption key. Nobody — not you, not the server, not anyone with the passphrase — can ever read anything of this office again." }
            }
            p { "The audit log keeps the office name and who deleted it, nothing else." }
            p.warning { strong { "This cannot be undone." } }
        }
        @if o.held || held_cases > 0 {
            p { "Nothing can be deleted while a legal hold covers the office or one of its cases. Lift the holds on the "
                a href="/admin" { "Office page" } " and the " a href="/admin/cases" { "Cases page" } " first." }
        } @else {
            form.card method="post" action={ "/admin/offices/" (slug) "/purge" } {
                (csrf_field(s))
                div.field {
                    label for="confirm" { "Type the office’s name, " strong { (slug) } ", to confirm" }
                    input #confirm name="confirm" required autocomplete="off" autocapitalize="none" spellcheck="false";
                }
                (code_field(s, "office-purge-code", true, "Deleting always asks for a new code, even if you entered one a moment ago."))
                button.danger type="submit" { "Delete the " (slug) " office and everything in it" }
                " " a href="/admin" { "Cancel" }
            }
        }
    }
}

/// "All 3 cases", "The 1 case", "No cases".
fn count(n: u64, what: &str) -> String {
    match n {
        0 => format!("No {what}s"),
        1 => format!("The 1 {what}"),
        n => format!("All {n} {what}s"),
    }
}

async fn purge_response(
    st: &AppState,
    s: SessionInfo,
    office: String,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let o = st.vault.office_cases_for_admin(&s.actor, &office).await?;
    let held = o.held || o.cases.iter().any(|c| c.held);
    let notice = notice.or_else(|| held.then(|| Notice::Error(OFFICE_HOLD_NOTICE.into())));
    let body = purge_body(&s, &o);
    Ok((
        status,
        page("Delete an office", Some(&s), notice.as_ref(), body),
    )
        .into_response())
}

/// `GET /admin/offices/{office}/purge`: the confirmation.
pub(super) async fn purge_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    Path(office): Path<String>,
) -> Result<Response, PageError> {
    purge_response(&st, s, office, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct PurgeForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /admin/offices/{office}/purge`: checks the typed name, proves the fresh
/// code, then purges. The caller's own account goes with the office.
pub(super) async fn purge(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<PurgeForm>,
) -> Result<Response, PageError> {
    if f.confirm.trim() != office {
        let n = Notice::Error(
            "The name you typed is not this office’s name. Nothing was deleted.".into(),
        );
        return purge_response(&st, s, office, StatusCode::BAD_REQUEST, Some(n)).await;
    }
    // A purge confirmation always asks for a code, even in a fresh session.
    let result = if f.totp.trim().is_empty() {
        Err(VaultError::StepUpRequired)
    } else {
        st.vault
            .purge_office(&s.actor, &office, StepUp::typed(&f.totp))
            .await
    };
    match result {
        Ok(crate::vault::Decided::Pending(_)) => {
            Ok(super::see_other("/admin?done=approval_pending"))
        }
        Ok(crate::vault::Decided::Done(_)) => Ok(super::see_other("/login?done=office_purged")),
        Err(e) => {
            let (status, notice) = change_error(e)?;
            let notice = match status {
                StatusCode::CONFLICT => Notice::Error(OFFICE_HOLD_NOTICE.into()),
                _ => notice,
            };
            purge_response(&st, s, office, status, Some(notice)).await
        }
    }
}
