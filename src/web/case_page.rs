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
use crate::i18n::{t, ta};
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
            h2 #docs { (t("case-docs-heading")) }
            @if docs.is_empty() { p.empty { (t("case-docs-none")) } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { (t("case-docs-caption")) }
                    thead { tr { th scope="col" { (t("case-docs-col-name")) } th scope="col" { (t("case-docs-col-size")) } th scope="col" { (t("case-docs-col-added")) } th scope="col" { span.visually-hidden { (t("case-docs-col-download")) } }
                        @if fixes { th scope="col" { span.visually-hidden { (t("case-docs-col-fix")) } } } } }
                    tbody { @for d in docs { tr {
                        td { (d.filename)
                            @if d.via_link.is_some() {
                                br; span.muted { (ta("case-doc-from-client", &[
                                    ("date", &d.via_link_made.as_deref().map(day).unwrap_or_else(|| t("case-doc-earlier-date"))),
                                    ("id", &crate::vault::receipt_code(&d.id)),
                                ])) }
                            } }
                        td data-label=(t("case-docs-col-size")) { (size_words(d.size)) }
                        td.date data-label=(t("case-docs-col-added")) { (day(&d.created_at)) }
                        td { a.download href={ "/api/v1/cases/" (case.id) "/documents/" (d.id) } download {
                            (t("case-doc-download")) span.visually-hidden { " " (d.filename) } } }
                        @if fixes { td.actions { (document_fixes(s, case, d)) } }
                    } } }
                } }
            }
            @if next.is_some() || paged {
                nav.pager aria-label=(t("case-docs-pager-label")) {
                    @if paged { a href={ "/cases/" (case.id) "#docs" } { (t("case-docs-first")) } " " }
                    @if let Some(n) = next { a href={ "/cases/" (case.id) "?docs_after=" (n) "#docs" } { (t("case-docs-more")) } }
                }
            }
            @if can_upload {
                h3 { (t("case-upload-heading")) }
                form.card #upload method="post" action={ "/cases/" (case.id) "/documents" } enctype="multipart/form-data"
                    data-api={ "/api/v1/cases/" (case.id) "/documents" } {
                    (csrf_field(s))
                    div.field {
                        label for="file" { (t("case-upload-file")) }
                        input #file name="file" type="file" required aria-describedby="file-help";
                        p.help #file-help { (t("case-upload-help")) }
                    }
                    button type="submit" { (t("case-upload-button")) }
                    div.progress hidden {
                        label for="upload-progress" { (t("case-upload-progress")) }
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
            h2 #shares { (t("case-shares-heading")) }
            @if case.shares.is_empty() { p.empty { (t("case-shares-none")) } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { (t("case-shares-caption")) }
                    thead { tr { th scope="col" { (t("case-shares-col-partner")) } th scope="col" { (t("case-shares-col-access")) } th scope="col" { (t("case-shares-col-until")) } th scope="col" { (t("case-shares-col-state")) } th scope="col" { span.visually-hidden { (t("case-shares-col-revoke")) } } } }
                    tbody { @for sh in &case.shares { tr {
                        td { (sh.username) }
                        td data-label=(t("case-shares-col-access")) { (if sh.permission == "upload" { t("case-share-upload") } else { t("case-share-read") })
                            @if sh.notes { br; span.muted { (t("case-share-notes-too")) } } }
                        td data-label=(t("case-shares-col-until")) { (day(&sh.expires_at)) }
                        td data-label=(t("case-shares-col-state")) { (t(match sh.state.as_str() { "live" => "case-share-active", "expired" => "case-share-ended", _ => "case-share-revoked" })) }
                        td { @if sh.state == "live" {
                            form.inline method="post" action={ "/cases/" (case.id) "/shares/" (sh.id) "/revoke" } {
                                (csrf_field(s))
                                @if !s.actor.fresh() {
                                    label for={ "revoke-code-" (sh.id) } { (t("case-share-code")) }
                                    input.code id={ "revoke-code-" (sh.id) } name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                                }
                                button.danger type="submit" { (t("case-share-revoke")) span.visually-hidden { " " (ta("case-share-revoke-hidden", &[("username", &sh.username)])) } }
                            }
                        } }
                    } } }
                } }
            }
            h3 { (t("case-share-heading")) }
            form.card method="post" action={ "/cases/" (case.id) "/shares" } {
                (csrf_field(s))
                div.field {
                    label for="share-with" { (t("case-share-username")) }
                    input #share-with name="username" required autocapitalize="none" spellcheck="false" autocomplete="off";
                }
                fieldset.field {
                    legend { (t("case-share-access")) }
                    label.choice { input type="radio" name="permission" value="read" checked; " " (t("case-share-read")) }
                    label.choice { input type="radio" name="permission" value="upload"; " " (t("case-share-upload")) }
                }
                div.field {
                    label.choice { input #share-notes type="checkbox" name="notes" value="yes" aria-describedby="share-notes-help"; " " (t("case-share-notes")) }
                    p.help #share-notes-help { (t("case-share-notes-help")) }
                }
                div.field {
                    label for="until" { (t("case-share-until")) }
                    input #until name="until" type="date" required min=(today) value=(default_until);
                }
                @if !s.actor.fresh() {
                    div.field {
                        label for="share-code" { (t("case-share-totp")) }
                        input #share-code name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required aria-describedby="share-code-help";
                        p.help #share-code-help { (t("case-share-totp-help")) }
                    }
                }
                button type="submit" { (t("case-share-button")) }
            }
        }
    }
}

fn close_section(s: &SessionInfo, case: &CaseView, days: u32) -> Markup {
    html! {
        section aria-labelledby="close" {
            h2 #close { (t("case-close-heading")) }
            p { (t("case-close-intro")) " "
                strong { (ta("case-close-strong", &[("days", &days.to_string())])) }
                (t("case-close-rest")) }
            form method="post" action={ "/cases/" (case.id) "/close" } {
                (csrf_field(s))
                button.secondary type="submit" { (t("case-close-button")) }
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
        p.crumbs { a href="/cases" { (t("case-all-cases")) } }
        h1 { (m.client_name) }
        @if case.held {
            div.banner.held role="status" { strong { (t("case-hold-banner-lead")) " " } (t("case-hold-banner")) }
        }
        @if case.status == "closed" {
            div.banner.closed role="status" {
                strong { (t("case-closed")) }
                @if let Some(c) = &case.closed_at { " " (ta("case-closed-on", &[("date", &day(c))])) }
                ". "
                @if case.held { (t("case-closed-held")) }
                @else if let Some(d) = &delete_on { (ta("case-closed-delete-on", &[("date", d), ("days", &days.to_string())])) }
                @else { (ta("case-closed-delete-after", &[("days", &days.to_string())])) }
            }
        }
        @if let Some((perm, until)) = my_share {
            div.banner role="status" {
                (ta(if perm == "upload" { "case-shared-with-you-upload" } else { "case-shared-with-you-read" }, &[("time", &super::layout::minute(&unix_time(*until)))]))
            }
        }
        section aria-labelledby="details" {
            h2 #details { (t("case-details-heading")) }
            dl.meta {
                (meta_row(&t("case-a-number"), a_number_words(m.a_number.as_deref()).as_deref()))
                (meta_row(&t("case-dob"), m.date_of_birth.as_deref()))
                (meta_row(&t("case-country"), m.country_of_birth.as_deref()))
                (meta_row(&t("case-office"), Some(&case.office)))
                (meta_row(&t("case-opened"), Some(day(&case.created_at).as_str())))
                (meta_row(&t("case-status"), Some(&t(if case.status == "closed" { "case-status-closed" } else { "case-status-open" }))))
                (meta_row(&t("case-hold"), Some(&t(if case.held { "case-hold-yes" } else { "case-hold-no" }))))
                (meta_row(&t("case-id"), Some(&case.id)))
            }
            @if let Some(n) = m.notes.as_deref().filter(|n| !n.is_empty()) {
                h3 { (t("case-background-notes")) }
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
    Ok((
        status,
        page(&t("case-title"), Some(&s), notice.as_ref(), body),
    )
        .into_response())
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
