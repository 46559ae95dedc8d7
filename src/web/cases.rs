//! Case pages: the caller's case list (partners: only the cases shared with them,
//! with each share's end date), a new-case form, and one case with its documents,
//! shares and hold state (changes on a case: `case_actions.rs`).
//!
//! Invariant: every read and change goes through the same `Vault` call as the API,
//! so it is decided by the same policy and audited once; the documents' download
//! links and the script's upload target are the API routes themselves.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, day, done_message, page, unix_time};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::policy::Role;
use crate::vault::{CaseInput, CaseSummary, PageQuery, SessionInfo, VaultError};

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    done: Option<String>,
    /// The previous page's last case (the "Older cases" link).
    after: Option<String>,
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
    /// The next page's cursor, when there are older cases.
    next_after: Option<String>,
    /// This is not the first page.
    paged: bool,
    sealed: bool,
    search: Option<String>,
    shares: std::collections::HashMap<String, (String, i64)>,
    /// Files from clients nobody has looked at yet, per case.
    news: std::collections::HashMap<String, u32>,
    /// Accounts of the office waiting for this supervisor's confirmation.
    pending: Vec<crate::vault::UserView>,
    /// What was typed into a new-case form the vault refused (shown again, so
    /// nothing typed is lost).
    typed: Option<CaseInput>,
}

fn new_case_form(s: &SessionInfo, typed: Option<&CaseInput>) -> Markup {
    let val = |f: fn(&CaseInput) -> Option<&str>| typed.and_then(f).unwrap_or_default().to_string();
    html! {
        section aria-labelledby="new-case" {
            h2 #new-case { (t("new-case-heading")) }
            form.card method="post" action="/cases" {
                (csrf_field(s))
                div.field {
                    label for="client_name" { (t("new-case-client-name")) }
                    input #client_name name="client_name" value=(typed.map(|t| t.client_name.as_str()).unwrap_or_default()) required maxlength="200" autocomplete="off";
                }
                div.field {
                    label for="a_number" { (t("new-case-a-number")) }
                    input #a_number name="a_number" value=(val(|t| t.a_number.as_deref())) inputmode="numeric" maxlength="24" autocomplete="off" aria-describedby="a-help";
                    p.help #a-help { (t("new-case-a-number-help")) }
                }
                div.field {
                    label for="date_of_birth" { (t("new-case-dob")) }
                    input #date_of_birth name="date_of_birth" type="date" value=(val(|t| t.date_of_birth.as_deref())) aria-describedby="dob-help";
                    p.help #dob-help { (t("new-case-dob-help")) }
                }
                div.field {
                    label for="country_of_birth" { (t("new-case-country")) }
                    input #country_of_birth name="country_of_birth" value=(val(|t| t.country_of_birth.as_deref())) maxlength="100" autocomplete="off";
                }
                div.field {
                    label for="notes" { (t("new-case-notes")) }
                    textarea #notes name="notes" rows="4" maxlength="20000" { (val(|t| t.notes.as_deref())) }
                }
                button type="submit" { (t("new-case-submit")) }
            }
        }
    }
}

fn list_body(s: &SessionInfo, st: &ListState) -> Markup {
    let partner = s.actor.is(Role::Partner);
    let office = s.actor.office().unwrap_or_default().to_string();
    html! {
        h1 { @if partner { (t("cases-heading-partner")) } @else { (t("cases-heading")) } }
        @if !st.pending.is_empty() { (super::confirm::pending_section(s, &st.pending)) }
        @if st.sealed {
            div.banner.sealed role="status" {
                h2 { (ta("cases-sealed-heading", &[("office", &office)])) }
                p { (ta("cases-sealed-body", &[("office", &office)])) }
            }
        }
        @if !partner {
            form.search method="post" action="/cases/search" role="search" {
                (csrf_field(s))
                label for="search" { (t("cases-search-label")) }
                div.inline {
                    input #search name="a_number" maxlength="200" autocomplete="off" value=(st.search.clone().unwrap_or_default());
                    button type="submit" { (t("cases-search-button")) }
                    @if st.search.is_some() { a href="/cases" { (t("cases-show-all")) } }
                }
            }
        }
        @if st.cases.is_empty() {
            p.empty {
                @if st.sealed && st.search.is_some() { (t("cases-search-sealed")) }
                @else if st.search.is_some() { (t("cases-search-none")) }
                @else if partner { (t("cases-none-partner")) }
                @else if s.actor.waiting() { (t("cases-none-waiting")) }
                @else { (t("cases-none")) }
            }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { (t("cases-table-caption")) }
                    thead { tr {
                        th scope="col" { (t("cases-col-client")) }
                        th scope="col" { (t("cases-col-office")) }
                        @if partner { th scope="col" { (t("cases-col-access")) } th scope="col" { (t("cases-col-shared-until")) } }
                        @else { th scope="col" { (t("cases-col-opened")) } th scope="col" { (t("cases-col-status")) } }
                    } }
                    tbody {
                        @for c in &st.cases {
                            tr {
                                td {
                                    a href={ "/cases/" (c.id) } {
                                        @match &c.client_name {
                                            Some(n) => (n),
                                            None => span.muted { (ta("cases-sealed-case", &[("id", c.id.get(..8).unwrap_or(""))])) },
                                        }
                                    }
                                }
                                td data-label=(t("cases-col-office")) { (c.office) }
                                @if partner {
                                    @let share = st.shares.get(&c.id);
                                    td { (share.map(|s| if s.0 == "upload" { t("cases-access-upload") } else { t("cases-access-read") }).unwrap_or_else(|| "—".into())) }
                                    td { (share.map(|s| unix_time(s.1)).map(|t| day(&t).to_string()).unwrap_or_else(|| "—".into())) }
                                } @else {
                                    td.date data-label=(t("cases-col-opened")) { (day(&c.created_at)) }
                                    td data-label=(t("cases-col-status")) {
                                        (if c.status == "closed" { t("cases-status-closed") } else { t("cases-status-open") })
                                        @if c.held { " · " span.tag { (t("cases-tag-hold")) } }
                                        @if c.sealed { " · " span.tag { (t("cases-tag-sealed")) } }
                                        @if let Some(n) = st.news.get(&c.id) {
                                            " · " span.tag.news { (if *n == 1 { t("cases-news-one") } else { ta("cases-news-many", &[("n", &n.to_string())]) }) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if st.next_after.is_some() || st.paged {
            nav.pager aria-label=(t("cases-pager-label")) {
                @if st.paged { a href="/cases" { (t("cases-newest")) } " " }
                @if let Some(n) = &st.next_after { a href={ "/cases?after=" (n) } { (t("cases-older")) } }
            }
        }
        @if s.actor.is(Role::Caseworker) { (new_case_form(s, st.typed.as_ref())) }
    }
}

pub(super) async fn list_response(
    st: &AppState,
    s: SessionInfo,
    search: Option<String>,
    after: Option<String>,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    list_response_typed(st, s, search, after, status, notice, None).await
}

async fn list_response_typed(
    st: &AppState,
    s: SessionInfo,
    search: Option<String>,
    after: Option<String>,
    status: StatusCode,
    notice: Option<Notice>,
    typed: Option<CaseInput>,
) -> Result<Response, PageError> {
    if !(s.actor.is(Role::Caseworker) || s.actor.is(Role::Partner)) {
        return Ok(super::see_other(super::login::home(s.actor.role())));
    }
    let q = search.clone();
    let mut notice = notice;
    let listed = async {
        let sealed = s.actor.office().is_some_and(|o| !st.vault.is_unsealed(o));
        // The one search box takes an A-number in any usual spelling, or else a name.
        // A search answers one page of the largest size (searches find few cases).
        let page = PageQuery {
            limit: q.is_some().then_some(crate::vault::PAGE_MAX),
            after: after.clone(),
            bytes: None,
        };
        let found = match q.as_deref() {
            Some(t) if crate::crypto::ANumber::parse(t).is_none() => {
                st.vault.search_cases(&s.actor, None, Some(t), &page).await
            }
            other => st.vault.search_cases(&s.actor, other, None, &page).await,
        };
        let found = match found {
            Ok(c) => c,
            // A search needs the office's index key; say so instead of failing.
            Err(VaultError::OfficeSealed(_)) => {
                return Err(VaultError::bad("sealed", t("cases-search-needs-unsealed")));
            }
            Err(e) => return Err(e),
        };
        let shares = if s.actor.is(Role::Partner) {
            st.vault.own_share_expiry(&s.actor).await?
        } else {
            Default::default()
        };
        let news = if s.actor.is(Role::Caseworker) {
            st.vault.client_file_news(&found).await?
        } else {
            Default::default()
        };
        Ok(ListState {
            cases: found.cases,
            next_after: found.next_after,
            paged: after.is_some(),
            sealed,
            search: q,
            shares,
            news,
            pending: Vec::new(),
            typed: None,
        })
    }
    .await;
    let state = match listed {
        Ok(l) => l,
        Err(VaultError::BadInput { message: m, .. }) => {
            notice = Some(Notice::Error(super::error::field_words(&m)));
            ListState {
                cases: Vec::new(),
                next_after: None,
                paged: false,
                sealed: false,
                search,
                shares: Default::default(),
                news: Default::default(),
                pending: Vec::new(),
                typed: None,
            }
        }
        Err(e) => return Err(e.into()),
    };
    let mut state = state;
    state.pending = st.vault.pending_access(&s.actor).await?;
    state.typed = typed;
    let body = list_body(&s, &state);
    Ok((
        status,
        page(&t("cases-title"), Some(&s), notice.as_ref(), body),
    )
        .into_response())
}

/// `GET /cases`.
pub(super) async fn list_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|q| q.0).unwrap_or_default();
    let notice = done_message(q.done.as_deref());
    let after = q.after.filter(|a| !a.is_empty());
    list_response(&st, s, None, after, StatusCode::OK, notice).await
}

/// `POST /cases/search`: the case list, filtered by the search box.
pub(super) async fn search(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<SearchForm>,
) -> Result<Response, PageError> {
    let term = f.a_number.trim();
    let search = (!term.is_empty()).then(|| term.to_string());
    list_response(&st, s, search, None, StatusCode::OK, None).await
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
            let notice = Some(Notice::Error(super::error::field_words(&m)));
            let status = StatusCode::BAD_REQUEST;
            list_response_typed(&st, s, None, None, status, notice, Some(input)).await
        }
        Err(e) => Err(e.into()),
    }
}
