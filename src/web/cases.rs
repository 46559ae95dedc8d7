//! Case pages: the caller's case list (partners: only the cases shared with them,
//! with each share's end date), a new-case form, and one case with its documents,
//! shares and hold state (changes on a case: `case_actions.rs`).
//!
//! Invariant: every read and change goes through the same `Vault` call as the API,
//! so it is decided by the same policy and audited once; the documents' download
//! links and the script's upload target are the API routes themselves.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, day, done_message, page, size_words, unix_time};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::policy::Role;
use crate::vault::{CaseInput, CaseSummary, CaseView, DocumentView, SessionInfo, VaultError};

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    done: Option<String>,
}

/// The search box: posted, never a query string, so an A-number or a client's name
/// never lands in a URL (browser history, proxy logs, the Referer of a later page).
#[derive(Deserialize)]
pub(super) struct SearchForm {
    #[serde(default)]
    a_number: Zeroizing<String>,
}

/// What the list page shows.
struct ListState {
    cases: Vec<CaseSummary>,
    sealed: bool,
    search: Option<String>,
    shares: std::collections::HashMap<String, (String, i64)>,
    /// Accounts of the office waiting for this supervisor's confirmation.
    pending: Vec<crate::vault::UserView>,
}

fn new_case_form(s: &SessionInfo) -> Markup {
    html! {
        section aria-labelledby="new-case" {
            h2 #new-case { "Open a new case" }
            form.card method="post" action="/cases" {
                (csrf_field(s))
                div.field {
                    label for="client_name" { "Client’s full name" }
                    input #client_name name="client_name" required maxlength="200" autocomplete="off";
                }
                div.field {
                    label for="a_number" { "A-number (optional)" }
                    input #a_number name="a_number" inputmode="numeric" maxlength="12" autocomplete="off" aria-describedby="a-help";
                    p.help #a-help { "8 or 9 digits, with or without the A, e.g. A012345678." }
                }
                div.field {
                    label for="date_of_birth" { "Date of birth (optional)" }
                    input #date_of_birth name="date_of_birth" type="date";
                }
                div.field {
                    label for="country_of_birth" { "Country of birth (optional)" }
                    input #country_of_birth name="country_of_birth" maxlength="100" autocomplete="off";
                }
                div.field {
                    label for="notes" { "Notes (optional)" }
                    textarea #notes name="notes" rows="4" maxlength="20000" {}
                }
                button type="submit" { "Open case" }
            }
        }
    }
}

fn list_body(s: &SessionInfo, st: &ListState) -> Markup {
    let partner = s.actor.is(Role::Partner);
    let office = s.actor.office().unwrap_or_default().to_string();
    html! {
        h1 { @if partner { "Cases shared with you" } @else { "Cases" } }
        @if !st.pending.is_empty() { (super::confirm::pending_section(s, &st.pending)) }
        @if st.sealed {
            div.banner.sealed role="status" {
                h2 { "The " (office) " office is sealed" }
                p { "Client names and documents are hidden until an administrator of the " (office) " office unseals it. You can still open new cases; they are encrypted straight away." }
            }
        }
        @if !partner {
            form.search method="post" action="/cases/search" role="search" {
                (csrf_field(s))
                label for="search" { "Find a case by A-number or client name" }
                div.inline {
                    input #search name="a_number" maxlength="200" autocomplete="off" value=(st.search.clone().unwrap_or_default());
                    button type="submit" { "Search" }
                    @if st.search.is_some() { a href="/cases" { "Show all cases" } }
                }
            }
        }
        @if st.cases.is_empty() {
            p.empty {
                @if st.sealed && st.search.is_some() { "Search is not possible while the office is sealed." }
                @else if st.search.is_some() { "No case has that A-number or client name (names must match in full; case and spacing do not matter)." }
                @else if partner { "No case is shared with you at the moment." }
                @else { "There are no cases yet." }
            }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Your cases" }
                    thead { tr {
                        th scope="col" { "Client" }
                        th scope="col" { "Office" }
                        @if partner { th scope="col" { "Your access" } th scope="col" { "Shared until" } }
                        @else { th scope="col" { "Opened" } th scope="col" { "Status" } }
                    } }
                    tbody {
                        @for c in &st.cases {
                            tr {
                                td {
                                    a href={ "/cases/" (c.id) } {
                                        @match &c.client_name {
                                            Some(n) => (n),
                                            None => span.muted { "Sealed case " (c.id.get(..8).unwrap_or("")) },
                                        }
                                    }
                                }
                                td { (c.office) }
                                @if partner {
                                    @let share = st.shares.get(&c.id);
                                    td { (share.map(|s| if s.0 == "upload" { "Read and add documents" } else { "Read only" }).unwrap_or("—")) }
                                    td { (share.map(|s| unix_time(s.1)).map(|t| day(&t).to_string()).unwrap_or_else(|| "—".into())) }
                                } @else {
                                    td.date { (day(&c.created_at)) }
                                    td {
                                        (if c.status == "closed" { "Closed" } else { "Open" })
                                        @if c.held { " · " span.tag { "Legal hold" } }
                                        @if c.sealed { " · " span.tag { "Sealed" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if s.actor.is(Role::Caseworker) { (new_case_form(s)) }
    }
}

pub(super) async fn list_response(
    st: &AppState,
    s: SessionInfo,
    search: Option<String>,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    if !(s.actor.is(Role::Caseworker) || s.actor.is(Role::Partner)) {
        return Ok(super::see_other(super::login::home(s.actor.role())));
    }
    let q = search.clone();
    let mut notice = notice;
    let listed = async {
        let sealed = s.actor.office().is_some_and(|o| !st.vault.is_unsealed(o));
        // The one search box takes an A-number in any usual spelling, or else a name.
        let found = match q.as_deref() {
            Some(t) if crate::crypto::ANumber::parse(t).is_none() => {
                st.vault.search_cases(&s.actor, None, Some(t)).await
            }
            other => st.vault.list_cases(&s.actor, other).await,
        };
        let cases = match found {
            Ok(c) => c,
            // A search needs the office's index key; say so instead of failing.
            Err(VaultError::OfficeSealed(_)) => {
                return Err(VaultError::bad("sealed", "Searching needs the office unsealed. Ask an administrator of your office to unseal it."));
            }
            Err(e) => return Err(e),
        };
        let shares = if s.actor.is(Role::Partner) {
            st.vault.own_share_expiry(&s.actor).await?
        } else {
            Default::default()
        };
        Ok(ListState {
            cases,
            sealed,
            search: q,
            shares,
            pending: Vec::new(),
        })
    }
    .await;
    let state = match listed {
        Ok(l) => l,
        Err(VaultError::BadInput { message: m, .. }) => {
            notice = Some(Notice::Error(m));
            ListState {
                cases: Vec::new(),
                sealed: false,
                search,
                shares: Default::default(),
                pending: Vec::new(),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut state = state;
    state.pending = st.vault.pending_access(&s.actor).await?;
    let body = list_body(&s, &state);
    Ok((status, page("Cases", Some(&s), notice.as_ref(), body)).into_response())
}

/// `GET /cases`.
pub(super) async fn list_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|q| q.0).unwrap_or_default();
    let notice = done_message(q.done.as_deref());
    list_response(&st, s, None, StatusCode::OK, notice).await
}

/// `POST /cases/search`: the case list, filtered by the search box.
pub(super) async fn search(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<SearchForm>,
) -> Result<Response, PageError> {
    let term = f.a_number.trim();
    let search = (!term.is_empty()).then(|| term.to_string());
    list_response(&st, s, search, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub(super) struct NewCase {
    client_name: Zeroizing<String>,
    #[serde(default)]
    a_number: Zeroizing<String>,
    #[serde(default)]
    date_of_birth: Zeroizing<String>,
    #[serde(default)]
    country_of_birth: Zeroizing<String>,
    #[serde(default)]
    notes: Zeroizing<String>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `POST /cases`: opens a case in the caller's office.
pub(super) async fn create(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<NewCase>,
) -> Result<Response, PageError> {
    let input = CaseInput {
        office: s.actor.office().unwrap_or_default().to_string(),
        client_name: f.client_name.to_string(),
        a_number: opt(&f.a_number),
        date_of_birth: opt(&f.date_of_birth),
        country_of_birth: opt(&f.country_of_birth),
        notes: opt(&f.notes),
    };
    match st.vault.create_case(&s.actor, &input).await {
        Ok(id) => Ok(super::see_other(&format!("/cases/{id}?done=case_created"))),
        Err(VaultError::BadInput { message: m, .. }) => {
            list_response(
                &st,
                s,
                None,
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(m)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CaseQuery {
    done: Option<String>,
}

fn meta_row(label: &str, value: Option<&str>) -> Markup {
    html! {
        div { dt { (label) } dd { (value.filter(|v| !v.is_empty()).unwrap_or("—")) } }
    }
}

fn documents_section(
    s: &SessionInfo,
    case: &CaseView,
    docs: &[DocumentView],
    can_upload: bool,
) -> Markup {
    html! {
        section aria-labelledby="docs" {
            h2 #docs { "Documents" }
            @if docs.is_empty() { p.empty { "No documents yet." } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Documents of this case" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Size" } th scope="col" { "Added" } th scope="col" { span.visually-hidden { "Download" } } } }
                    tbody { @for d in docs { tr {
                        td { (d.filename) }
                        td { (size_words(d.size)) }
                        td.date { (day(&d.created_at)) }
                        td { a.download href={ "/api/v1/cases/" (case.id) "/documents/" (d.id) } download {
                            "Download" span.visually-hidden { " " (d.filename) } } }
                    } } }
                } }
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
                        td { (if sh.permission == "upload" { "Read and add documents" } else { "Read only" }) }
                        td { (day(&sh.expires_at)) }
                        td { (match sh.state.as_str() { "live" => "Active", "expired" => "Ended", _ => "Revoked" }) }
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
                button.secondary type="submit" { "Close case" }
            }
        }
    }
}

pub(super) async fn case_response(
    st: &AppState,
    s: SessionInfo,
    case_id: String,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let case = st.vault.get_case(&s.actor, &case_id).await?;
    let docs = st.vault.list_documents(&s.actor, &case_id).await?;
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
                (meta_row("A-number", m.a_number.as_deref().map(|a| format!("A{a}")).as_deref()))
                (meta_row("Date of birth", m.date_of_birth.as_deref()))
                (meta_row("Country of birth", m.country_of_birth.as_deref()))
                (meta_row("Office", Some(&case.office)))
                (meta_row("Opened", Some(day(&case.created_at))))
                (meta_row("Status", Some(if case.status == "closed" { "Closed" } else { "Open" })))
                (meta_row("Legal hold", Some(if case.held { "Yes — deletion is blocked" } else { "No" })))
                (meta_row("Case ID", Some(&case.id)))
            }
            @if let Some(n) = m.notes.as_deref().filter(|n| !n.is_empty()) {
                h3 { "Notes" }
                p.notes { (n) }
            }
        }
        (documents_section(&s, &case, &docs, case.may.upload))
        @if case.may.share { (shares_section(&s, &case, day(&today), day(&until))) }
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
    let notice = q.ok().and_then(|q| done_message(q.0.done.as_deref()));
    case_response(&st, s, case, StatusCode::OK, notice).await
}
