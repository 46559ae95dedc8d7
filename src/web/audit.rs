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

use super::error::PageError;
use super::layout::{minute, page};
use super::session::PageSession;
use crate::clock::parse_day;
use crate::edge::AppState;
use crate::vault::{AuditPage, AuditQuery as VaultQuery};

const PAGE_SIZE: i64 = 50;

/// Actions a person can filter by, with their plain-English names.
const ACTIONS: &[(&str, &str)] = &[
    ("read_case", "Opened a case or document"),
    ("create_case", "Opened a new case"),
    ("upload_document", "Added a document"),
    ("share_case", "Shared or revoked a share"),
    ("list_cases", "Listed cases"),
    ("login", "Signed in"),
    ("logout", "Signed out"),
    ("step_up", "Confirmed a code"),
    ("seal_office", "Sealed an office"),
    ("unseal_office", "Unsealed an office"),
    ("seal_all", "Emergency seal"),
    ("manage_users", "Managed accounts"),
    ("hold_case", "Legal hold on a case"),
    ("hold_office", "Legal hold on an office"),
    ("purge_case", "Destroyed a case"),
    ("purge_office", "Destroyed an office"),
    ("close_case", "Closed a case"),
    ("list_office_cases", "Listed the office’s cases"),
    (
        "run_retention",
        "Retention (scheduled deletion) run or preview",
    ),
    ("read_office_audit", "Read the audit log"),
    ("read_all_audit", "Read the audit log (all offices)"),
    ("csrf_check", "Refused a forged or expired form"),
    ("totp_enrol", "Set up an authenticator"),
];

/// Plain words for an entry's outcome code ("" when it adds nothing).
fn outcome_words(o: &str) -> &str {
    match o {
        "ok" | "denied" => "",
        "sealed" => "the office was sealed",
        "step_up_required" => "a fresh code was needed",
        "invalid_credentials" => "wrong username, password or code",
        "invalid_code" => "wrong code",
        "totp_required" => "code missing",
        "throttled" => "too many attempts",
        "csrf_invalid" => "form without its security code",
        "must_enrol" => "must set up an authenticator",
        "recovery_code" => "signed in with a recovery code",
        "wrong_secret" => "wrong passphrase",
        "not_found" => "not found",
        "placed" => "hold placed",
        "lifted" => "hold lifted",
        "legal_hold" => "refused: under a legal hold",
        "already_closed" => "was already closed",
        "no_longer_allowed" => "refused: no longer allowed when it finished",
        other => other,
    }
}

/// [`outcome_words`], also for an entry that stands for many refusals before sign-in
/// (`throttled x 397 addresses=1 since=…`, see `vault/refusals.rs`).
fn outcome_text(o: &str) -> String {
    match o.split_once(" x ") {
        Some((code, rest)) => {
            let n = rest.split(' ').next().unwrap_or("");
            format!("{} — {n} more, counted together", outcome_words(code))
        }
        None => outcome_words(o).to_string(),
    }
}

/// What an entry means, in words: `read_case` is told apart by its target.
fn entry_words<'a>(action: &'a str, target: &str) -> &'a str {
    if action == "read_case" {
        if target.contains(" doc:") {
            return "Opened a document";
        }
        if target.ends_with(" documents") {
            return "Viewed the document list";
        }
        return "Opened the case";
    }
    action_words(action)
}

fn action_words(a: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(k, _)| *k == a)
        .map(|(_, v)| *v)
        .unwrap_or(a)
}

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
    #[serde(default)]
    after: i64,
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

fn next_link(q: &AuditQuery, after: i64) -> String {
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
    format!("/audit?{s}after={after}")
}

fn table(p: &AuditPage) -> Markup {
    html! {
        div.table-wrap { table.audit {
            caption.visually-hidden { "Audit entries, oldest first" }
            thead { tr {
                th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" }
                th scope="col" { "What" } th scope="col" { "On (IDs)" } th scope="col" { "Result" }
            } }
            tbody { @for e in &p.entries { tr.(if e.decision == "deny" { "deny" } else { "allow" }) {
                td { (e.seq) }
                td.date { (e.time.get(..10).unwrap_or("")) br; span.muted { (minute(&e.time).get(11..).unwrap_or("")) } }
                td { (p.names.get(&e.actor).map(String::as_str).unwrap_or(if e.actor == "-" { "(not signed in)" } else { e.actor.as_str() }))
                     br; span.muted { (e.role) } }
                td { (entry_words(&e.action, &e.target)) }
                td.ids { @for t in e.target.split(' ') { span { (t) } " " } }
                td { @if e.decision == "deny" { strong { "Refused" } } @else { "Allowed" }
                     @let w = outcome_text(&e.outcome);
                     @if !w.is_empty() { br; span.muted { (w) } } }
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
    let mut f = VaultQuery {
        after: Some(q.after.max(0)),
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
    let p = st.vault.read_audit(&s.actor, f).await?;
    let scope = match &p.office {
        Some(o) => format!("Entries that concern the {o} office."),
        None => "Entries of every office.".to_string(),
    };
    let body = html! {
        h1 { "Audit log" }
        p { (scope) " Every access and every refusal is recorded here, oldest first. The log holds IDs only — never client names, A-numbers or filenames. To see who opened a client’s file, ask the caseworker for the case ID (shown on the case page) and enter it below." }
        (filters(&q))
        @if !found_person { p.notice.error role="alert" { "No account has that username." } }
        @if p.entries.is_empty() { p.empty { "No entries match." } } @else { (table(&p)) }
        nav.pager aria-label="Pages" {
            @if q.after > 0 { a href="/audit" { "← First page" } " " }
            @if let Some(l) = p.next_after { a href=(next_link(&q, l)) { "Next page →" } }
        }
    };
    Ok(page("Audit log", Some(&s), None, body).into_response())
}
