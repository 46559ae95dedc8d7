//! One case's page: its details, casework (notes, hearings and deadlines, the details'
//! history: `casework.rs`), documents (paged), shares, hold state and the close form
//! (changes on a case: `case_actions.rs`, `casework_actions.rs`).
//!
//! Invariant: every read goes through the same `Vault` call as the API, so it is
//! decided by the same policy and audited once; the documents' download links and the
//! script's upload target are the API routes themselves.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::casework::{
    Casework, DetailsDraft, a_number_words, details_history, document_fixes, edit_form,
    events_section, notes_section, text_or_dash,
};
use super::error::PageError;
use super::layout::{Notice, csrf_field, day, done_message, iso_day, page, size_words, unix_time};
use super::session::PageSession;
use crate::edge::AppState;
use crate::policy::Role;
use crate::vault::{CaseView, DocumentPage, PageQuery, SessionInfo};

#[derive(Deserialize, Default)]
pub(super) struct CaseQuery {
    done: Option<String>,
    /// The previous page's last document (the "More documents" link).
    docs_after: Option<String>,
    /// The previous page's last note (the "Older notes" link).
    notes_after: Option<String>,
    /// The previous page's last event (the "More hearings and deadlines" link).
    events_after: Option<String>,
    /// The previous page's last version (the "Older versions" link).
    versions_after: Option<String>,
}

/// Which page of each list the case page shows (the first of each by default).
#[derive(Debug, Clone, Default)]
pub(super) struct Paging {
    /// Documents after this one.
    pub(super) docs: Option<String>,
    /// Notes older than this one.
    pub(super) notes: Option<String>,
    /// Events added after this one.
    pub(super) events: Option<String>,
    /// Versions older than this number.
    pub(super) versions: Option<String>,
}

fn meta_row(label: &str, value: Option<&str>) -> Markup {
    html! {
        div { dt { (label) } dd { (text_or_dash(value)) } }
    }
}

fn documents_section(
    s: &SessionInfo,
    case: &CaseView,
    docs: &DocumentPage,
    paged: bool,
    can_upload: bool,
) -> Markup {
    let next = docs.next_after.as_deref();
    let docs = &docs.documents;
    let fixes = docs.iter().any(|d| d.may.rename || d.may.purge);
    html! {
        section aria-labelledby="docs" {
            h2 #docs { "Documents" }
            @if docs.is_empty() { p.empty { "No documents yet." } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Documents of this case" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Size" } th scope="col" { "Added" } th scope="col" { span.visually-hidden { "Download" } }
                        @if fixes { th scope="col" { span.visually-hidden { "Rename or delete" } } } } }
                    tbody { @for d in docs { tr {
                        td { (d.filename)
                            @if d.via_link.is_some() {
                                br; span.muted { "from the client, via link of "
                                    (d.via_link_made.as_deref().map(day).unwrap_or_else(|| "an earlier date".into()))
                                    " · code " (crate::vault::receipt_code(&d.id)) }
                            } }
                        td data-label="Size" { (size_words(d.size)) }
                        td.date data-label="Added" { (day(&d.created_at)) }
                        td { a.download href={ "/api/v1/cases/" (case.id) "/documents/" (d.id) } download {
                            "Download" span.visually-hidden { " " (d.filename) } } }
                        @if fixes { td.actions { (document_fixes(s, case, d)) } }
                    } } }
                } }
            }
            @if next.is_some() || paged {
                nav.pager aria-label="More documents" {
                    @if paged { a href={ "/cases/" (case.id) "#docs" } { "← First documents" } " " }
                    @if let Some(n) = next { a href={ "/cases/" (case.id) "?docs_after=" (n) "#docs" } { "More documents →" } }
                }
            }
            @if can_upload {
                h3 { "Add a document" }
                form.card #upload method="post" action={ "/cases/" (case.id) "/documents" } enctype="multipart/form-data"
                    data-api={ "/api/v1/cases/" (case.id) "/documents" } {
                    (csrf_field(s))
                    div.field {
                        label for="file" { "Choose a file" }
                        input #file name="file" type="file" required aria-describedby="file-help";
                        p.help #file-help { "It is encrypted before it is stored. Large files are fine; keep this page open until the upload finishes." }
                    }
                    button type="submit" { "Upload" }
                    div.progress hidden {
                        label for="upload-progress" { "Upload progress" }
                        progress #upload-progress max="100" value="0" {}
                    }
                    p #upload-status role="status" aria-live="polite" {}
                }
                script src=(super::js_url()) {}
            }
        }
    }
}

fn shares_section(s: &SessionInfo, case: &CaseView, today: &str, default_until: &str) -> Markup {
    html! {
        section aria-labelledby="shares" {
            h2 #shares { "Shared with partner attorneys" }
            @if case.shares.is_empty() { p.empty { "This case is not shared with anyone outside your office." } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Shares of this case" }
                    thead { tr { th scope="col" { "Partner" } th scope="col" { "Access" } th scope="col" { "Until" } th scope="col" { "State" } th scope="col" { span.visually-hidden { "Revoke" } } } }
                    tbody { @for sh in &case.shares { tr {
                        td { (sh.username) }
                        td data-label="Access" { (if sh.permission == "upload" { "Read and add documents" } else { "Read only" })
                            @if sh.notes { br; span.muted { "also notes and hearings" } } }
                        td data-label="Until" { (day(&sh.expires_at)) }
                        td data-label="State" { (match sh.state.as_str() { "live" => "Active", "expired" => "Ended", _ => "Revoked" }) }
                        td { @if sh.state == "live" {
                            form.inline method="post" action={ "/cases/" (case.id) "/shares/" (sh.id) "/revoke" } {
                                (csrf_field(s))
                                @if !s.actor.fresh() {
                                    label for={ "revoke-code-" (sh.id) } { "Code" }
                                    input.code id={ "revoke-code-" (sh.id) } name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                                }
                                button.danger type="submit" { "Revoke" span.visually-hidden { " share with " (sh.username) } }
                            }
                        } }
                    } } }
                } }
            }
            h3 { "Share this case" }
            form.card method="post" action={ "/cases/" (case.id) "/shares" } {
                (csrf_field(s))
                div.field {
                    label for="share-with" { "Partner’s username" }
                    input #share-with name="username" required autocapitalize="none" spellcheck="false" autocomplete="off";
                }
                fieldset.field {
                    legend { "Access" }
                    label.choice { input type="radio" name="permission" value="read" checked; " Read only" }
                    label.choice { input type="radio" name="permission" value="upload"; " Read and add documents" }
                }
                div.field {
                    label.choice { input #share-notes type="checkbox" name="notes" value="yes" aria-describedby="share-notes-help"; " Also show the case notes and hearings" }
                    p.help #share-notes-help { "Leave unticked unless the partner needs them: notes often hold what the client said in confidence." }
                }
                div.field {
                    label for="until" { "Visible until (end of that day, UTC)" }
                    input #until name="until" type="date" required min=(today) value=(default_until);
                }
                @if !s.actor.fresh() {
                    div.field {
                        label for="share-code" { "6-digit code from your authenticator app" }
                        input #share-code name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required aria-describedby="share-code-help";
                        p.help #share-code-help { "Sharing needs a fresh code because it lets someone outside your office read this file." }
                    }
                }
                button type="submit" { "Share" }
            }
        }
    }
}

fn close_section(s: &SessionInfo, case: &CaseView, days: u32) -> Markup {
    html! {
        section aria-labelledby="close" {
            h2 #close { "Close this case" }
            p { "Close the case when the work on it is finished. It stays readable, but "
                strong { "it will be deleted automatically " (days) " days after closing" }
                ", unless an administrator places a legal hold on it. A closed case cannot be reopened." }
            form method="post" action={ "/cases/" (case.id) "/close" } {
                (csrf_field(s))
                button.secondary type="submit" { "Close case…" }
            }
        }
    }
}

pub(super) async fn case_response(
    st: &AppState,
    s: SessionInfo,
    case_id: String,
    paging: Paging,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    case_response_with(st, s, case_id, paging, status, notice, None).await
}

/// The case page, with what an unsaved "Edit details" form held (after a refusal).
pub(super) async fn case_response_with(
    st: &AppState,
    s: SessionInfo,
    case_id: String,
    paging: Paging,
    status: StatusCode,
    notice: Option<Notice>,
    draft: Option<DetailsDraft>,
) -> Result<Response, PageError> {
    let case = st.vault.get_case(&s.actor, &case_id).await?;
    let cw = Casework::load(st, &s, &case, &paging).await?;
    let docs_after = paging.docs.clone();
    let paged = docs_after.is_some();
    let docs = st
        .vault
        .list_documents(
            &s.actor,
            &case_id,
            &PageQuery {
                limit: Some(crate::vault::PAGE_MAX),
                after: docs_after,
                bytes: None,
            },
        )
        .await?;
    let links = if case.may.links {
        st.vault.list_upload_links(&s.actor, &case_id).await?
    } else {
        Vec::new()
    };
    st.vault.client_files_seen(&s.actor, &case.id).await?;
    let shares = if s.actor.is(Role::Partner) {
        st.vault.own_share_expiry(&s.actor).await?
    } else {
        Default::default()
    };
    let now = st.vault.clock().now();
    let today = crate::clock::rfc3339(now);
    let until = crate::clock::rfc3339(now + time::Duration::days(30));
    let my_share = shares.get(&case.id);
    let m = &case.metadata;
    let days = st.vault.settings().retention.closed_case_days;
    let delete_on = case
        .closed_at
        .as_deref()
        .and_then(crate::clock::parse_rfc3339)
        .and_then(|t| t.checked_add(time::Duration::days(i64::from(days))))
        .map(crate::clock::rfc3339)
        .map(|t| day(&t).to_string());
    let body = html! {
        p.crumbs { a href="/cases" { "← All cases" } }
        h1 { (m.client_name) }
        @if case.held {
            div.banner.held role="status" { strong { "Legal hold. " } "This case is under a legal hold: nothing in it can be deleted until the hold is lifted." }
        }
        @if case.status == "closed" {
            div.banner.closed role="status" {
                strong { "Closed" }
                @if let Some(c) = &case.closed_at { " on " (day(c)) }
                ". "
                @if case.held { "It is under a legal hold, so it will not be deleted while the hold lasts." }
                @else if let Some(d) = &delete_on { "It will be deleted automatically on " (d) " (" (days) " days after closing)." }
                @else { "It will be deleted automatically " (days) " days after closing." }
            }
        }
        @if let Some((perm, until)) = my_share {
            div.banner role="status" {
                "Shared with you (" (if perm == "upload" { "read and add documents" } else { "read only" }) ") until "
                (super::layout::minute(&unix_time(*until))) "."
            }
        }
        section aria-labelledby="details" {
            h2 #details { "Client details" }
            dl.meta {
                (meta_row("A-number", a_number_words(m.a_number.as_deref()).as_deref()))
                (meta_row("Date of birth", m.date_of_birth.as_deref()))
                (meta_row("Country of birth", m.country_of_birth.as_deref()))
                (meta_row("Office", Some(&case.office)))
                (meta_row("Opened", Some(day(&case.created_at).as_str())))
                (meta_row("Status", Some(if case.status == "closed" { "Closed" } else { "Open" })))
                (meta_row("Legal hold", Some(if case.held { "Yes — deletion is blocked" } else { "No" })))
                (meta_row("Case ID", Some(&case.id)))
            }
            @if let Some(n) = m.notes.as_deref().filter(|n| !n.is_empty()) {
                h3 { "Background notes" }
                p.notes { (n) }
            }
            (details_history(&case, &cw))
            @if case.may.edit { (edit_form(&s, &case, draft.as_ref())) }
        }
        (events_section(&s, &case, &cw))
        (notes_section(&s, &case, &cw))
        (documents_section(&s, &case, &docs, paged, case.may.upload))
        @if case.may.links { (super::upload_links::links_section(&s, &case, &links)) }
        @if case.may.share { (shares_section(&s, &case, iso_day(&today), iso_day(&until))) }
        @if case.may.close && case.status != "closed" { (close_section(&s, &case, days)) }
    };
    Ok((status, page("Case file", Some(&s), notice.as_ref(), body)).into_response())
}

/// `GET /cases/{case}`.
pub(super) async fn case_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    Path(case): Path<String>,
    q: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|q| q.0).unwrap_or_default();
    let notice = done_message(q.done.as_deref());
    let given = |a: Option<String>| a.filter(|a| !a.is_empty());
    let paging = Paging {
        docs: given(q.docs_after),
        notes: given(q.notes_after),
        events: given(q.events_after),
        versions: given(q.versions_after),
    };
    case_response(&st, s, case, paging, StatusCode::OK, notice).await
}
