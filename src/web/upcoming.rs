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
use super::layout::{long_day, page};
use super::session::PageSession;
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::ics::Detail;
use crate::vault::{Upcoming, UpcomingItem, UpcomingQuery};

fn item(it: &UpcomingItem) -> Markup {
    let e = &it.event;
    html! {
        li.event {
            p.event-when {
                strong { @match &e.time { Some(tm) => (tm), None => (t("upcoming-all-day")) } }
                " — " (kind_words(&e.kind)) " " (t("upcoming-for")) " "
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
        h1 { (t("upcoming-heading")) }
        p { (ta("upcoming-intro", &[("date", &long_day(&list.from)), ("when", &long_day(&list.to))])) }
        @for o in &list.sealed_offices {
            div.banner.sealed role="status" {
                p { strong { (ta("upcoming-sealed-lead", &[("office", o)])) " " } (t("upcoming-sealed")) }
            }
        }
        @if list.truncated {
            p.banner role="status" { (t("upcoming-truncated")) }
        }
        @if days.is_empty() {
            p.empty { (t("upcoming-none")) }
        }
        @for (d, items) in &days {
            section aria-labelledby={ "day-" (d) } {
                h2 id={ "day-" (d) } { (long_day(d)) @if *d == today { " " (t("upcoming-today")) } }
                ol.events { @for it in items { (item(it)) } }
            }
        }
        section.card aria-labelledby="calendar" {
            h2 #calendar { (t("upcoming-calendar-heading")) }
            p.inline {
                a.button href="/upcoming.ics" download { (t("upcoming-download")) }
                a.button href="/upcoming.ics?detail=full" download { (t("upcoming-download-full")) }
            }
            p.help { (t("upcoming-calendar-help")) " "
                strong { (t("upcoming-calendar-warning")) } }
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
    Ok((
        StatusCode::OK,
        page(&t("upcoming-title"), Some(&s), None, markup),
    )
        .into_response())
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
        crate::i18n::LANG.sync_scope(crate::i18n::Lang::Es, || {
            assert_eq!(long_day("2026-12-15"), "martes 15 de diciembre de 2026");
            assert_eq!(
                super::super::layout::Zone::named("America/Chicago").minute("2026-12-15T20:03:00Z"),
                "15 de diciembre de 2026, 14:03 CST"
            );
        });
    }
}
