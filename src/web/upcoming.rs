//! "Coming up": the next 30 days of hearings, deadlines and appointments across the
//! cases a person works on, grouped by date, and its calendar download (`.ics`).
//!
//! Invariants: the list is `Vault::upcoming`, decided and audited there (the download
//! is audited as such); the calendar is built on request and never stored, sent with
//! `Cache-Control: no-store`, and leaves out client names and descriptions unless
//! `detail=full` is asked for; a sealed office is named as sealed, never guessed at.
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::casework::kind_words;
use super::error::PageError;
use super::layout::page;
use super::session::PageSession;
use crate::edge::AppState;
use crate::ics::Detail;
use crate::vault::{Upcoming, UpcomingItem, UpcomingQuery};

/// "Tuesday 15 December 2026" for `YYYY-MM-DD` (as given when it does not parse).
fn long_day(d: &str) -> String {
    match crate::clock::parse_day(d) {
        Some(t) => format!("{} {} {} {}", t.weekday(), t.day(), t.month(), t.year()),
        None => d.to_owned(),
    }
}

fn item(it: &UpcomingItem) -> Markup {
    let e = &it.event;
    html! {
        li.event {
            p.event-when {
                strong { @match &e.time { Some(t) => (t), None => "All day" } }
                " — " (kind_words(&e.kind)) " for "
                a href={ "/cases/" (it.case_id) "#events" } { (it.client_name) }
                @if let Some(p) = &e.place { " · " (p) }
            }
            @if let Some(d) = &e.description { p.event-what { (d) } }
        }
    }
}

fn body(list: &Upcoming, today: &str) -> Markup {
    let mut days: Vec<(&str, Vec<&UpcomingItem>)> = Vec::new();
    for it in &list.events {
        match days.last_mut() {
            Some((d, items)) if *d == it.event.date => items.push(it),
            _ => days.push((&it.event.date, vec![it])),
        }
    }
    html! {
        h1 { "Coming up" }
        p { "Hearings, deadlines and appointments of your cases from " (long_day(&list.from)) " to " (long_day(&list.to)) "." }
        @for o in &list.sealed_offices {
            div.banner.sealed role="status" {
                p { strong { "Office " (o) " is sealed: " } "its hearings cannot be shown until an administrator unseals it." }
            }
        }
        @if list.truncated {
            p.banner role="status" { "Not everything fits on this page: it shows the earliest 500 hearings and deadlines of your newest cases. Choose fewer days to see the rest." }
        }
        @if days.is_empty() {
            p.empty { "Nothing in the next 30 days." }
        }
        @for (d, items) in &days {
            section aria-labelledby={ "day-" (d) } {
                h2 id={ "day-" (d) } { (long_day(d)) @if *d == today { " (today)" } }
                ol.events { @for it in items { (item(it)) } }
            }
        }
        section.card aria-labelledby="calendar" {
            h2 #calendar { "Put it in your calendar" }
            p.inline {
                a.button href="/upcoming.ics" download { "Download calendar (.ics)" }
                a.button href="/upcoming.ics?detail=full" download { "Download calendar with client names (.ics)" }
            }
            p.help { "The first file holds only the kind, date, time, place and a short case number; the second also holds client names and descriptions. The file is made when you click and is not kept here. "
                strong { "Do not import it into a cloud calendar (Google, Outlook online, iCloud) if client names must not leave the office." } }
        }
    }
}

/// `GET /upcoming`.
pub(super) async fn upcoming_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
) -> Result<Response, PageError> {
    let list = st
        .vault
        .upcoming(&s.actor, &UpcomingQuery::default(), None)
        .await?;
    let today = crate::clock::rfc3339(st.vault.clock().now());
    let markup = body(&list, super::layout::iso_day(&today));
    Ok((StatusCode::OK, page("Coming up", Some(&s), None, markup)).into_response())
}

/// `?detail=full` (or `minimal`, the default); nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IcsQuery {
    #[serde(default)]
    detail: Option<String>,
}

/// `GET /upcoming.ics`: the same list as an iCalendar file.
pub(super) async fn upcoming_ics(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<IcsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let Ok(Query(q)) = q else {
        return Err(PageError::BadForm);
    };
    let detail = match q.detail.as_deref() {
        None | Some("minimal") => Detail::Minimal,
        Some("full") => Detail::Full,
        Some(_) => return Err(PageError::BadForm),
    };
    let list = st
        .vault
        .upcoming(&s.actor, &UpcomingQuery::default(), Some(detail))
        .await?;
    let now = st.vault.clock().now();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let cal = crate::ics::calendar(&list, detail, &stamp);
    let mut resp = (StatusCode::OK, cal).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"casevault-coming-up.ics\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_in_words() {
        assert_eq!(long_day("2026-12-15"), "Tuesday 15 December 2026");
        assert_eq!(long_day("soon"), "soon");
    }
}
