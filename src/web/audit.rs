//! The audit log page: filters (person, action, case or other id, dates) and
//! paging, for office administrators (their office) and auditors (every office).
//!
//! Invariant: entries come only from `Vault::read_audit` (the API's own call), which decides and
//! audits first; filter values are only used as query parameters, never echoed
//! into anything but the escaped filter form itself.
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::audit_words::{ACTIONS, sentence};
use super::error::PageError;
use super::layout::{minute, page};
use super::session::PageSession;
use crate::clock::parse_day;
use crate::edge::AppState;
use crate::policy::Role;
use crate::vault::{AuditPage, AuditQuery as VaultQuery};

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
pub(super) struct AuditQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The oldest entry of the page before (the "Older entries" link).
    #[serde(default)]
    before: i64,
}

fn filters(q: &AuditQuery) -> Markup {
    html! {
        form.card.filters method="get" action="/audit" {
            h2 { "Filter" }
            div.grid {
                div.field {
                    label for="person" { "Person (username)" }
                    input #person name="person" value=(q.person) autocapitalize="none" spellcheck="false";
                }
                div.field {
                    label for="action" { "What happened" }
                    select #action name="action" {
                        option value="" selected[q.action.is_empty()] { "Anything" }
                        @for (k, v) in ACTIONS { option value=(k) selected[q.action == *k] { (v) } }
                    }
                }
                div.field {
                    label for="id" { "Case or other ID" }
                    input #id name="id" value=(q.id) autocomplete="off" spellcheck="false";
                }
                div.field {
                    label for="from" { "From (date)" }
                    input #from name="from" type="date" value=(q.from);
                }
                div.field {
                    label for="to" { "To (date, inclusive)" }
                    input #to name="to" type="date" value=(q.to);
                }
            }
            button type="submit" { "Show entries" }
            " " a href="/audit" { "Clear filters" }
        }
    }
}

fn next_link(q: &AuditQuery, before: i64) -> String {
    let pairs = [
        ("person", q.person.as_str()),
        ("action", q.action.as_str()),
        ("id", q.id.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
    ];
    let mut s = serde_urlencoded::to_string(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    if !s.is_empty() {
        s.push('&');
    }
    format!("/audit?{s}before={before}")
}

fn table(p: &AuditPage) -> Markup {
    html! {
        div.table-wrap { table.audit.stack {
            caption.visually-hidden { "Audit entries, newest first" }
            thead { tr {
                th scope="col" { "When" } th scope="col" { "What happened" } th scope="col" { "IDs" }
            } }
            tbody { @for e in &p.entries { tr.(if e.decision == "deny" { "deny" } else { "allow" }) {
                td.date data-label="When" { (minute(&e.time)) }
                td data-label="What happened" {
                    @if e.decision == "deny" { strong { "Refused: " } }
                    (sentence(e, &p.names))
                    br; span.muted { "Entry " (e.seq) " · " (e.role) }
                }
                td.ids data-label="IDs" { @for t in e.target.split(' ') { span { (t) } " " } }
            } } }
        } }
    }
}

/// `GET /audit`.
pub(super) async fn audit_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = q.map(|q| q.0).unwrap_or_default();
    let person = q.person.trim().to_string();
    if s.actor.is(Role::Superadmin) {
        let body = html! {
            h1 { "Audit log" }
            p { "As the coalition operator you do not read offices' audit logs: they show who opened which client's case, and only the office's own administrator and the auditors read them." }
            p { "To have the log read, create an auditor account on the " a href="/admin/users" { "Users" } " page, or ask the office's administrator. From the command line, " code { "casevault audit export" } " writes the whole log (ids only) for an outside check." }
        };
        return Ok(page("Audit log", Some(&s), None, body).into_response());
    }
    let mut f = VaultQuery {
        after: None,
        before: Some(q.before).filter(|b| *b > 0),
        newest_first: true,
        limit: Some(PAGE_SIZE),
        action: Some(q.action.clone()).filter(|a| ACTIONS.iter().any(|(k, _)| k == a)),
        target: Some(q.id.trim().to_string()).filter(|t| !t.is_empty()),
        since: parse_day(&q.from).map(|d| format!("{d}T00:00:00Z")),
        // Up to the end of the day given: the next midnight (9999-12-31 has none).
        until: parse_day(&q.to).map(|d| match d.next_day() {
            Some(next) => format!("{next}T00:00:00Z"),
            None => format!("{d}T23:59:59Z"),
        }),
        names: true,
        ..VaultQuery::default()
    };
    let mut found_person = true;
    if !person.is_empty() {
        match st.vault.user_by_name(&person)? {
            Some(u) => f.actor = Some(u.id),
            None => {
                found_person = false;
                // No such person: keep the decision (and its audit entry), show nothing.
                f.actor = Some("-none-".into());
            }
        }
    }
    let p = match st.vault.read_audit(&s.actor, f).await {
        Ok(p) => p,
        Err(crate::vault::VaultError::Forbidden) => {
            let body = html! {
                h1 { "Audit log" }
                p { "Your account cannot read the audit log: it is for the office's administrator and the auditors." }
            };
            let status = axum::http::StatusCode::FORBIDDEN;
            return Ok((status, page("Audit log", Some(&s), None, body)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let scope = match &p.office {
        Some(o) => format!("Entries that concern the {o} office."),
        None => "Entries of every office.".to_string(),
    };
    let body = html! {
        h1 { "Audit log" }
        p { (scope) " Every access and every refusal is recorded here, newest first. The log holds IDs only — never client names, A-numbers or filenames. To see who opened a client’s file, ask the caseworker for the case ID (shown on the case page) and enter it below." }
        (filters(&q))
        @if !found_person { p.notice.error role="alert" { "No account has that username." } }
        @if p.entries.is_empty() { p.empty { "No entries match." } } @else { (table(&p)) }
        nav.pager aria-label="Pages" {
            @if q.before > 0 { a href="/audit" { "← Newest entries" } " " }
            @if let Some(l) = p.next_after { a href=(next_link(&q, l)) { "Older entries →" } }
        }
    };
    Ok(page("Audit log", Some(&s), None, body).into_response())
}
