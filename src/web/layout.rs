//! The frame every page shares: language, title, the one stylesheet, a skip link,
//! the navigation for the signed-in role, a notice area and the sign-out form.
//! Everything interpolated is escaped by `maud`; the only pre-escaped markup on
//! any page is the QR code SVG the server itself generates.
use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

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

/// Plain-English name of a role.
pub fn role_name(role: Option<Role>) -> &'static str {
    match role {
        // These two read well as they are stored.
        Some(r @ (Role::Caseworker | Role::Auditor)) => r.as_str(),
        Some(Role::Partner) => "partner attorney",
        Some(Role::Admin) => "office administrator",
        Some(Role::Superadmin) => "coalition operator",
        None => "user",
    }
}

fn nav(s: &SessionInfo) -> Markup {
    // Navigation only: which pages exist for a role. What a page then shows or
    // allows is decided by the policy when it is asked for.
    let role = s.actor.role();
    let is = |r: Role| role == Some(r);
    html! {
        nav aria-label="Main" {
            ul {
                @if is(Role::Caseworker) || is(Role::Partner) {
                    li { a href="/cases" { @if is(Role::Partner) { "Shared cases" } @else { "Cases" } } }
                    li { a href="/upcoming" { "Coming up" } }
                }
                @if is(Role::Admin) || is(Role::Superadmin) {
                    li { a href="/admin" { "Office" } }
                    @if is(Role::Admin) { li { a href="/admin/cases" { "Cases" } } }
                    li { a href="/admin/users" { "Users" } }
                }
                @if is(Role::Admin) || is(Role::Auditor) {
                    li { a href="/audit" { "Audit log" } }
                }
            }
        }
        div.who {
            a href="/account" { "Your account" }
            span { "Signed in as " strong { (s.actor.username()) } " (" (role_name(role))
                @if let Some(o) = s.actor.office() { ", " (o) } ")" }
            form method="post" action="/logout" {
                (csrf_field(s))
                button.link type="submit" { "Sign out" }
            }
        }
    }
}

/// What a caseworker whose account is not yet confirmed reads on every page.
pub const WAITING: &str = "Your account is waiting for a supervisor of your office to confirm it; until then you cannot open client files.";

/// A whole page.
pub fn page(
    title: &str,
    session: Option<&SessionInfo>,
    notice: Option<&Notice>,
    body: Markup,
) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — casevault" }
                link rel="stylesheet" href=(super::css_url());
            }
            body {
                a.skip href="#main" { "Skip to main content" }
                header.top {
                    a.brand href="/" { "casevault" }
                    @if let Some(s) = session { (nav(s)) }
                }
                main #main tabindex="-1" {
                    @if session.is_some_and(|s| s.actor.waiting()) {
                        div.banner.waiting role="status" { strong { (WAITING) } }
                    }
                    @match notice {
                        Some(Notice::Done(m)) => p.notice.done role="status" { (m) },
                        Some(Notice::Error(m)) => p.notice.error role="alert" { (m) },
                        None => {},
                    }
                    (body)
                }
                footer {
                    p { "casevault keeps every client file encrypted with keys your office holds." }
                    @if session.is_some() { p { "Times are shown in " (zone().name()) " time." } }
                }
                script src=(super::passkey_js_url()) {}
            }
        }
    };
    Html(markup.into_string())
}

/// A fixed message for a `?done=` word after a successful post (never echoed).
pub fn done_message(word: Option<&str>) -> Option<Notice> {
    let m = match word? {
        "case_created" => "The case was opened.",
        "uploaded" => "The document was uploaded and encrypted.",
        "shared" => "The case was shared. The partner can see it until the date shown.",
        "passkey_added" => "The passkey was added. Next time, choose “Sign in with a passkey”.",
        "passkey_removed" => "The passkey was removed. It can no longer sign in to your account.",
        "share_changed" => {
            "This partner already had the case: their share now allows what you chose, until the date shown."
        }
        "revoked" => "The share was revoked. The partner can no longer see this case.",
        "link_revoked" => "The link was revoked. It takes no more files.",
        "sealed" => "The office is sealed. Nobody can read its files until it is unsealed.",
        "unsealed" => "The office is unsealed. Its files can be read again.",
        "sealed_all" => "Every office you administer is sealed.",
        "time_zone" => "The time zone is saved. Pages of this office now show times in it.",
        "holder_invited" => {
            "The administrator is invited. They set up their own key from this page (Who holds the office key)."
        }
        "holder_removed" => {
            "The key holder is removed and the office key was replaced: their passphrase opens nothing from now on."
        }
        "holder_passkey" => {
            "Your passkey now unseals the office: on this page, “Unseal with my passkey”. Your passphrase still works too."
        }
        "rotated" => {
            "The office key was replaced. Every case was re-wrapped to the new key; everyone keeps their own passphrase."
        }
        "user_created" => {
            "The account was created. Give the person their username and password; they will set up their authenticator app when they first sign in. A caseworker account opens no case until a supervisor of the office confirms it."
        }
        "disabled" => "The account is disabled and signed out everywhere.",
        "enabled" => "The account can sign in again.",
        "password_reset" => "The password was changed and the person was signed out everywhere.",
        "totp_reset" => {
            "The authenticator was reset. The person sets up their app again when they next sign in (a caseworker then waits for confirmation again)."
        }
        "password_changed" => {
            "Your password is changed. You were signed out on every other device, and browsers remembered for your account are forgotten."
        }
        "signed_out" => "You are signed out.",
        "access_confirmed" => {
            "The account is confirmed: it can now open the cases its role allows."
        }
        "held" => {
            "The legal hold is in place. Nothing in this case can be deleted until the hold is lifted."
        }
        "lifted" => {
            "The legal hold is lifted. The case can be deleted again (by hand or by the retention schedule)."
        }
        "office_held" => {
            "The whole office is under a legal hold. None of its cases can be deleted until the hold is lifted."
        }
        "office_lifted" => "The office-wide legal hold is lifted.",
        "purged" => {
            "The case was permanently deleted. Its keys are destroyed: nobody can read it any more."
        }
        "office_purged" => {
            "The office was permanently deleted with all its cases, documents and accounts, including yours."
        }
        "closed" => "The case is closed. It stays readable until the retention period ends.",
        "details_saved" => "The details were saved. The earlier version is kept in the history.",
        "details_unchanged" => "Nothing was changed: the details are the same as before.",
        "note_added" => "The note was added.",
        "note_corrected" => {
            "The correction was added. The original note stays, marked as corrected."
        }
        "event_added" => "The date was added. It shows on the Coming up page.",
        "event_changed" => "The date was changed. The old one stays on the case, marked as moved.",
        "renamed" => "The document was renamed.",
        "document_deleted" => {
            "The document was permanently deleted. Its key is destroyed: nobody can read it any more."
        }
        _ => return None,
    };
    Some(Notice::Done(m.into()))
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

    /// "7 December 2026, 18:15 CST" from an RFC 3339 time.
    pub fn minute(&self, t: &str) -> String {
        self.zoned(t)
            .map(|z| z.strftime("%-d %B %Y, %H:%M %Z").to_string())
            .unwrap_or_else(|| t.to_string())
    }

    /// "7 December 2026" from an RFC 3339 time (the day in this zone).
    pub fn day(&self, t: &str) -> String {
        self.zoned(t)
            .map(|z| z.strftime("%-d %B %Y").to_string())
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
        .map(|d| d.strftime("%-d %B %Y").to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// RFC 3339 for a unix time (empty when out of range).
pub fn unix_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(crate::clock::rfc3339)
        .unwrap_or_default()
}
