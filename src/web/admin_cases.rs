//! The office administrator's cases: a list by id, date, status, legal hold and
//! document count (no client name: administrators never read case metadata),
//! placing and lifting a legal hold, and the purge confirmation that names what
//! will be destroyed and asks for a fresh code.
//!
//! Invariants: every read and change is one `Vault` call, decided and audited
//! there; a purge always proves a fresh code first (`Vault::step_up`), whatever the
//! session's age; a legal hold answers with a notice on the page, never an error
//! page, and nothing is deleted.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, day, done_message, page, size_words};
use super::parts::{
    CASE_HOLD_NOTICE, CASE_IN_HELD_OFFICE_NOTICE, DoneQuery, change_error, code_field,
};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::vault::{AdminCaseView, OfficeCases, SessionInfo, StepUp, VaultError};

/// What the status column says.
fn status_words(c: &AdminCaseView) -> String {
    match (&*c.status, &c.closed_at) {
        ("closed", Some(t)) => format!("Closed {}", day(t)),
        ("closed", None) => "Closed".into(),
        _ => "Open".into(),
    }
}

/// "its 1 document", "all 3 documents", "no documents".
fn documents_words(n: u64) -> String {
    match n {
        0 => "no documents".into(),
        1 => "its 1 document".into(),
        n => format!("all {n} documents"),
    }
}

fn hold_form(s: &SessionInfo, c: &AdminCaseView) -> Markup {
    let short = c.id.get(..8).unwrap_or("");
    html! {
        @if c.held {
            form.inline method="post" action={ "/admin/cases/" (c.id) "/lift" } {
                (csrf_field(s))
                @if !s.actor.fresh() {
                    label for={ "lift-code-" (c.id) } { "Code" }
                    input.code id={ "lift-code-" (c.id) } name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required;
                }
                button.secondary type="submit" { "Lift hold" span.visually-hidden { " on case " (short) } }
            }
        } @else {
            details {
                summary { "Place legal hold" span.visually-hidden { " on case " (short) } }
                form method="post" action={ "/admin/cases/" (c.id) "/hold" } {
                    (csrf_field(s))
                    div.field {
                        label for={ "reason-" (c.id) } { "Reason (optional)" }
                        textarea id={ "reason-" (c.id) } name="reason" rows="2" maxlength="2000" aria-describedby={ "reason-help-" (c.id) } {}
                        p.help id={ "reason-help-" (c.id) } { "For example the court order or request. Stored encrypted with the case; never written to the audit log." }
                    }
                    (code_field(s, &format!("hold-code-{}", c.id), false, "A legal hold needs a fresh code."))
                    button type="submit" { "Place hold" }
                }
            }
        }
    }
}

fn list_body(s: &SessionInfo, o: &OfficeCases) -> Markup {
    html! {
        h1 { "Cases of the " (o.office) " office" }
        p { "For each case you see only what is not confidential: its ID, when it was opened, whether it is closed or under a legal hold, and how many documents it holds. Client names and details are encrypted for caseworkers only and are never shown to administrators." }
        @if o.held {
            div.banner.held role="status" { strong { "Office-wide legal hold. " } "No case of this office can be deleted until the hold is lifted on the Office page." }
        }
        @if o.cases.is_empty() { p.empty { "The office has no cases." } } @else {
            div.table-wrap { table.cases {
                caption.visually-hidden { "Cases of the office, newest first" }
                thead { tr {
                    th scope="col" { "Case ID" } th scope="col" { "Opened" } th scope="col" { "Status" }
                    th scope="col" { "Legal hold" } th scope="col" { "Documents" } th scope="col" { "Actions" }
                } }
                tbody { @for c in &o.cases { tr #{ "case-" (c.id) } {
                    td.ids data-label="Case ID" { span { (c.id) } }
                    td.date data-label="Opened" { (day(&c.created_at)) }
                    td data-label="Status" { (status_words(c)) }
                    td data-label="Legal hold" { @if c.held { span.tag { "Held" } } @else if c.office_held { "Office hold" } @else { "No" } }
                    td data-label="Documents" { (c.documents) @if c.documents > 0 { br; span.muted { (size_words(c.bytes)) } } }
                    td.actions {
                        (hold_form(s, c))
                        p.purge-link { a href={ "/admin/cases/" (c.id) "/purge" } { "Delete permanently…" span.visually-hidden { " case " (c.id.get(..8).unwrap_or("")) } } }
                    }
                } } }
            } }
        }
        p.help { "To see who opened a case, search the " a href="/audit" { "audit log" } " for its ID." }
    }
}

async fn list_response(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    // The vault decides (and audits) for everyone: only an office's administrator
    // is allowed; a coalition operator administers no office's cases.
    let office = s.actor.office().unwrap_or_default().to_string();
    let o = st.vault.office_cases_for_admin(&s.actor, &office).await?;
    let body = list_body(&s, &o);
    Ok((status, page("Cases", Some(&s), notice.as_ref(), body)).into_response())
}

/// `GET /admin/cases`.
pub(super) async fn list_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let notice = q.ok().and_then(|q| done_message(q.0.done.as_deref()));
    list_response(&st, s, StatusCode::OK, notice).await
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
    case: String,
    f: HoldForm,
    place: bool,
) -> Result<Response, PageError> {
    let reason = Some(f.reason.trim()).filter(|r| !r.is_empty() && place);
    let result = st
        .vault
        .set_case_hold(&s.actor, &case, place, reason, StepUp::typed(&f.totp))
        .await;
    match result {
        Ok(crate::vault::Decided::Pending(_)) => {
            Ok(super::see_other("/admin/cases?done=approval_pending"))
        }
        Ok(crate::vault::Decided::Done(())) => Ok(super::see_other(&format!(
            "/admin/cases?done={}",
            if place { "held" } else { "lifted" }
        ))),
        Err(e) => {
            let (status, notice) = change_error(e)?;
            list_response(&st, s, status, Some(notice)).await
        }
    }
}

/// `POST /admin/cases/{case}/hold` (step-up): places a legal hold.
pub(super) async fn hold(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<HoldForm>,
) -> Result<Response, PageError> {
    hold_change(st, s, case, f, true).await
}

/// `POST /admin/cases/{case}/lift` (step-up): lifts it.
pub(super) async fn lift(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<HoldForm>,
) -> Result<Response, PageError> {
    hold_change(st, s, case, f, false).await
}

fn purge_body(s: &SessionInfo, c: &AdminCaseView) -> Markup {
    html! {
        p.crumbs { a href="/admin/cases" { "← All cases of the office" } }
        h1 { "Delete this case permanently?" }
        section.card.danger-zone aria-labelledby="what" {
            h2 #what { "What will be destroyed" }
            dl.meta {
                div.wide { dt { "Case ID" } dd.ids { (c.id) } }
                div { dt { "Office" } dd { (c.office) } }
                div { dt { "Opened" } dd { (day(&c.created_at)) } }
                div { dt { "Status" } dd { (status_words(c)) } }
                div { dt { "Documents" } dd { (c.documents) @if c.documents > 0 { " (" (size_words(c.bytes)) ")" } } }
            }
            ul {
                li { "The client’s details and " (documents_words(c.documents)) " of this case become unreadable for everyone — you, the caseworkers, the partners and the server — because their keys are destroyed." }
                li { "Its shares and its legal-hold history are deleted. The audit log keeps the case ID and who deleted it, nothing else." }
            }
            p.warning { strong { "This cannot be undone." } }
        }
        @if c.held {
            p { "Nothing in a case under a legal hold can be deleted. If the hold is no longer needed, lift it on the " a href={ "/admin/cases#case-" (c.id) } { "case list" } ", then come back here." }
        } @else if c.office_held {
            p { "The whole " (c.office) " office is under a legal hold. If it is no longer needed, lift it on the " a href="/admin" { "Office page" } ", then come back here." }
        } @else {
            form.card method="post" action={ "/admin/cases/" (c.id) "/purge" } {
                (csrf_field(s))
                (code_field(s, "purge-code", true, "Deleting always asks for a new code, even if you entered one a moment ago."))
                button.danger type="submit" { "Delete case permanently" }
                " " a href="/admin/cases" { "Cancel" }
            }
        }
    }
}

async fn purge_response(
    st: &AppState,
    s: SessionInfo,
    case: String,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let c = st.vault.case_for_admin(&s.actor, &case).await?;
    let notice = notice.or_else(|| {
        if c.held {
            Some(Notice::Error(CASE_HOLD_NOTICE.into()))
        } else if c.office_held {
            Some(Notice::Error(CASE_IN_HELD_OFFICE_NOTICE.into()))
        } else {
            None
        }
    });
    let body = purge_body(&s, &c);
    Ok((
        status,
        page("Delete a case", Some(&s), notice.as_ref(), body),
    )
        .into_response())
}

/// `GET /admin/cases/{case}/purge`: the confirmation.
pub(super) async fn purge_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    Path(case): Path<String>,
) -> Result<Response, PageError> {
    purge_response(&st, s, case, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct PurgeForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /admin/cases/{case}/purge`: proves the fresh code, then purges.
pub(super) async fn purge(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<PurgeForm>,
) -> Result<Response, PageError> {
    // A purge confirmation always asks for a code, even in a fresh session.
    let result = if f.totp.trim().is_empty() {
        Err(VaultError::StepUpRequired)
    } else {
        st.vault
            .purge_case(&s.actor, &case, StepUp::typed(&f.totp))
            .await
    };
    match result {
        Ok(_) => Ok(super::see_other("/admin/cases?done=purged")),
        Err(e) => {
            let (status, notice) = change_error(e)?;
            purge_response(&st, s, case, status, Some(notice)).await
        }
    }
}
