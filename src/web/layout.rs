//! The frame every page shares: language, title, the one stylesheet, a skip link,
//! the navigation for the signed-in role, a notice area and the sign-out form.
//! Everything interpolated is escaped by `maud`; the only pre-escaped markup on
//! any page is the QR code SVG the server itself generates.
use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

use crate::i18n::{Lang, lang, t, ta};
use crate::policy::Role;
use crate::vault::SessionInfo;

/// A message shown at the top of the main content.
#[derive(Debug, Clone)]
pub enum Notice {
    /// Something worked.
    Done(String),
    /// Something did not work (fixed text, never a value the visitor sent).
    Error(String),
}

/// The hidden CSRF field every changing form carries.
pub fn csrf_field(s: &SessionInfo) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// The name of a role, in the page's language.
pub fn role_name(role: Option<Role>) -> String {
    t(match role {
        Some(Role::Caseworker) => "role-caseworker",
        Some(Role::Auditor) => "role-auditor",
        Some(Role::Partner) => "role-partner",
        Some(Role::Admin) => "role-admin",
        Some(Role::Superadmin) => "role-superadmin",
        None => "role-user",
    })
}

fn nav(s: &SessionInfo) -> Markup {
    // Navigation only: which pages exist for a role. What a page then shows or
    // allows is decided by the policy when it is asked for.
    let role = s.actor.role();
    let is = |r: Role| role == Some(r);
    html! {
        nav aria-label=(t("nav-main")) {
            ul {
                @if is(Role::Caseworker) || is(Role::Partner) {
                    li { a href="/cases" { @if is(Role::Partner) { (t("nav-shared-cases")) } @else { (t("nav-cases")) } } }
                    li { a href="/upcoming" { (t("nav-coming-up")) } }
                }
                @if is(Role::Admin) || is(Role::Superadmin) {
                    li { a href="/admin" { (t("nav-office")) } }
                    @if is(Role::Admin) { li { a href="/admin/cases" { (t("nav-cases")) } } }
                    li { a href="/admin/users" { (t("nav-users")) } }
                }
                @if is(Role::Admin) || is(Role::Auditor) {
                    li { a href="/audit" { (t("nav-audit")) } }
                }
            }
        }
        div.who {
            a href="/account" { (t("your-account")) }
            span { (t("signed-in-as")) " " strong { (s.actor.username()) } " (" (role_name(role))
                @if let Some(o) = s.actor.office() { ", " (o) } ")" }
            form method="post" action="/logout" {
                (csrf_field(s))
                button.link type="submit" { (t("sign-out")) }
            }
        }
    }
}

/// A whole page.
pub fn page(
    title: &str,
    session: Option<&SessionInfo>,
    notice: Option<&Notice>,
    body: Markup,
) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang().as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (t("title-suffix")) }
                link rel="stylesheet" href=(super::css_url());
            }
            body {
                a.skip href="#main" { (t("skip-to-main")) }
                header.top {
                    a.brand href="/" { "casevault" }
                    @if let Some(s) = session { (nav(s)) }
                    a.lang href={ "/language/" (lang().other().as_str()) "?back=" (HERE.try_with(String::clone).unwrap_or_else(|_| "/".into())) } hreflang=(lang().other().as_str()) lang=(lang().other().as_str()) title=(t("switch-language-label")) { (t("switch-language")) }
                }
                main #main tabindex="-1" {
                    @if session.is_some_and(|s| s.actor.waiting()) {
                        div.banner.waiting role="status" { strong { (t("waiting-banner")) } }
                    }
                    @match notice {
                        Some(Notice::Done(m)) => p.notice.done role="status" { (m) },
                        Some(Notice::Error(m)) => p.notice.error role="alert" { (m) },
                        None => {},
                    }
                    (body)
                }
                footer {
                    p { (t("footer-keys")) }
                    @if session.is_some() { p { (ta("footer-zone", &[("zone", zone().name())])) } }
                }
                script src=(super::passkey_js_url()) {}
            }
        }
    };
    Html(markup.into_string())
}

/// The `?done=` words a page knows (each is the message `done-WORD`).
const DONE: &[&str] = &[
    "case_created",
    "uploaded",
    "shared",
    "passkey_added",
    "passkey_removed",
    "share_changed",
    "revoked",
    "link_revoked",
    "sealed",
    "unsealed",
    "sealed_all",
    "time_zone",
    "holder_invited",
    "holder_removed",
    "holder_passkey",
    "rotated",
    "user_created",
    "disabled",
    "enabled",
    "password_reset",
    "totp_reset",
    "password_changed",
    "signed_out",
    "access_confirmed",
    "held",
    "lifted",
    "office_held",
    "office_lifted",
    "purged",
    "office_purged",
    "approval_pending",
    "approval_approved",
    "approval_denied",
    "approval_withdrawn",
    "closed",
    "details_saved",
    "details_unchanged",
    "note_added",
    "note_corrected",
    "event_added",
    "event_changed",
    "renamed",
    "document_deleted",
    "language",
];

/// A fixed message for a `?done=` word after a successful post (never echoed: only a
/// word of [`DONE`] names a message).
pub fn done_message(word: Option<&str>) -> Option<Notice> {
    let word = DONE.iter().find(|w| Some(**w) == word)?;
    Some(Notice::Done(t(&format!("done-{}", word.replace('_', "-")))))
}

/// A size in bytes, for people.
pub fn size_words(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} bytes")
    } else if f < K * K {
        format!("{:.0} KB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MB", f / K / K)
    } else {
        format!("{:.2} GB", f / K / K / K)
    }
}

tokio::task_local! {
    /// The time zone the page being drawn shows times in (set per request by
    /// `error::frame` from the signed-in person's office).
    pub static ZONE: Zone;
    /// The path of the page being drawn (a GET), for the language switch to come back to.
    pub static HERE: String;
}

/// The zone of the page being drawn (UTC outside a page request).
pub fn zone() -> Zone {
    ZONE.try_with(Zone::clone).unwrap_or_else(|_| Zone::utc())
}

/// The date part of an RFC 3339 time as a form field takes it ("2026-09-21", UTC).
pub fn iso_day(t: &str) -> &str {
    t.get(..10).unwrap_or(t)
}

/// "21 September 2026" from an RFC 3339 time, in the page's time zone.
pub fn day(t: &str) -> String {
    zone().day(t)
}

/// "21 September 2026, 09:03 CDT" from an RFC 3339 time, in the page's time zone.
pub fn minute(t: &str) -> String {
    zone().minute(t)
}

/// How a page shows times: in the office's time zone, with the zone named. Stored
/// times stay UTC; only the words on the page change.
#[derive(Clone)]
pub struct Zone {
    tz: jiff::tz::TimeZone,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Zone {
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone named (`UTC` when the name is unknown).
    pub fn named(name: &str) -> Self {
        jiff::tz::db()
            .get(name)
            .map(|tz| Zone { tz })
            .unwrap_or_else(|_| Zone::utc())
    }

    /// The time zone of an office (`UTC` for none).
    pub async fn of_office(st: &crate::edge::AppState, office: Option<&str>) -> Self {
        match office {
            Some(o) => Zone::named(&st.vault.office_time_zone(o).await),
            None => Zone::utc(),
        }
    }

    /// The zone's IANA name ("America/Chicago").
    pub fn name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }

    fn zoned(&self, t: &str) -> Option<jiff::Zoned> {
        t.parse::<jiff::Timestamp>()
            .ok()
            .map(|ts| ts.to_zoned(self.tz.clone()))
    }

    /// "7 December 2026, 18:15 CST" from an RFC 3339 time ("7 de diciembre de 2026,
    /// 18:15 CST" on a Spanish page).
    pub fn minute(&self, t: &str) -> String {
        self.zoned(t)
            .map(|z| format!("{}, {}", civil_words(z.date()), z.strftime("%H:%M %Z")))
            .unwrap_or_else(|| t.to_string())
    }

    /// "7 December 2026" from an RFC 3339 time (the day in this zone).
    pub fn day(&self, t: &str) -> String {
        self.zoned(t)
            .map(|z| civil_words(z.date()))
            .unwrap_or_else(|| iso_day(t).to_string())
    }

    /// "7 December 2026" for a moment.
    pub fn long_date(&self, t: time::OffsetDateTime) -> String {
        self.day(&crate::clock::rfc3339(t))
    }
}

/// "7 December 2026" from a plain date ("2026-12-07"), as a person reads it; the
/// date as given when it is not one.
pub fn date_words(d: &str) -> String {
    d.parse::<jiff::civil::Date>()
        .map(civil_words)
        .unwrap_or_else(|_| d.to_string())
}

/// "Tuesday 15 December 2026" ("martes 15 de diciembre de 2026") from a plain date;
/// the date as given when it is not one.
pub fn long_day(d: &str) -> String {
    match d.parse::<jiff::civil::Date>() {
        Ok(c) if lang() == Lang::Es => {
            let wd = c.weekday().to_monday_zero_offset();
            let name = usize::try_from(wd).ok().and_then(|i| ES_WEEKDAYS.get(i));
            format!("{} {}", name.unwrap_or(&""), civil_words(c))
        }
        Ok(c) => c.strftime("%A %-d %B %Y").to_string(),
        Err(_) => d.to_string(),
    }
}

/// Month names on a Spanish page (lower case, as Spanish writes them).
const ES_MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// Weekday names on a Spanish page, Monday first.
const ES_WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];

/// "7 December 2026", or "7 de diciembre de 2026" on a Spanish page.
fn civil_words(c: jiff::civil::Date) -> String {
    let month = usize::try_from(c.month() - 1)
        .ok()
        .and_then(|i| ES_MONTHS.get(i));
    match month {
        Some(m) if lang() == Lang::Es => format!("{} de {m} de {}", c.day(), c.year()),
        _ => c.strftime("%-d %B %Y").to_string(),
    }
}

/// RFC 3339 for a unix time (empty when out of range).
pub fn unix_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(crate::clock::rfc3339)
        .unwrap_or_default()
}
