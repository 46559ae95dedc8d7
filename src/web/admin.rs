//! Office administration: seal, unseal (passphrase and a fresh code), panic seal,
//! and the office page (users live in users.rs).
//!
//! Invariant: the pages only offer; the vault decides. A form shown to someone the
//! policy refuses still ends in the vault's audited denial, never in a change.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, done_message, minute, page};
use super::parts::{DoneQuery, Nothing};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::policy::Role;
use crate::vault::{OfficeCases, SessionInfo, StepUp, VaultError};

pub(super) fn require_admin(s: &SessionInfo) -> Result<(), PageError> {
    if s.actor.is(Role::Admin) || s.actor.is(Role::Superadmin) {
        Ok(())
    } else {
        Err(PageError::Vault(VaultError::Forbidden))
    }
}

fn office_card(
    s: &SessionInfo,
    slug: &str,
    sealed: bool,
    life: Option<&OfficeCases>,
    holders: Option<&[crate::vault::HolderView]>,
) -> Markup {
    html! {
        section.card aria-labelledby={ "office-" (slug) } {
            h2 id={ "office-" (slug) } { "Office " (slug) }
            @if sealed {
                p.state.sealed { strong { "Sealed." } " Nobody can read this office’s case files. New cases and uploads still work." }
                @if s.actor.is(Role::Admin) {
                    form method="post" action={ "/admin/offices/" (slug) "/unseal" } {
                        (csrf_field(s))
                        div.field {
                            label for={ "pass-" (slug) } { "Your holder passphrase (or the office passphrase)" }
                            input id={ "pass-" (slug) } name="passphrase" type="password" autocomplete="off" required;
                        }
                        div.field {
                            label for={ "code-" (slug) } { "6-digit code from your authenticator app" }
                            input id={ "code-" (slug) } name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                        }
                        button type="submit" { "Unseal " (slug) }
                    }
                    (super::custody::share_form(s, slug, holders))
                }
            } @else {
                p.state.open { strong { "Unsealed." } " Staff can read this office’s case files." }
                form method="post" action={ "/admin/offices/" (slug) "/seal" } {
                    (csrf_field(s))
                    button.danger type="submit" { "Seal " (slug) " now" }
                }
            }
            @if s.actor.is(Role::Admin) { (time_zone_form(s, slug)) }
            @if let Some(o) = life {
                p { a href="/admin/cases" { "The office’s " (o.cases.len()) " cases" } " (IDs, dates, status and legal holds; no client names)" }
                (super::office_lifecycle::hold_section(s, o))
            }
        }
        @if let Some(h) = holders { (super::custody::holders_section(s, slug, sealed, h)) }
    }
}

/// `GET /admin`: the offices the caller administers and their seal state.
pub(super) async fn office_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    require_admin(&s)?;
    let notice = q.ok().and_then(|q| done_message(q.0.done.as_deref()));
    office_response(&st, s, StatusCode::OK, notice).await
}

pub(super) async fn office_response(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let v = st.vault.clone();
    let actor = s.actor.clone();
    // An office administrator also sees the holds and the retention preview of
    // their office (two decisions, each audited); the coalition operator does not
    // administer offices' records.
    let offices = v.offices()?;
    let life = match (actor.is(Role::Admin), actor.office()) {
        (true, Some(o)) => Some((
            v.office_cases_for_admin(&actor, o).await?,
            v.retention_preview(&actor, o).await?,
        )),
        _ => None,
    };
    let days = st.vault.settings().retention.closed_case_days;
    // The coalition operator sees how the backups are doing (times, sizes, outcomes).
    let backups = if actor.is(Role::Superadmin) {
        Some(v.backup_runs(5)?)
    } else {
        None
    };
    let mine: Vec<(String, bool)> = offices
        .into_iter()
        .filter(|(slug, _)| s.actor.is(Role::Superadmin) || s.actor.office() == Some(slug))
        .collect();
    let life_of = |slug: &str| life.as_ref().filter(|(o, _)| o.office == slug);
    // An office administrator sees who holds their office's key (one more decision).
    let holders = match (actor.is(Role::Admin), actor.office()) {
        (true, Some(o)) => Some((o.to_string(), v.list_holders(&actor, o).await?)),
        _ => None,
    };
    let holders_of = |slug: &str| {
        holders
            .as_ref()
            .filter(|(o, _)| o == slug)
            .map(|(_, h)| h.as_slice())
    };
    // Requests waiting for a second person: the requester's and the approvers'.
    let approvals = v.list_approvals(&actor).await?;
    let body = html! {
        h1 { "Office" }
        (super::approvals::section(&s, &approvals.approvals))
        p { "Sealing removes an office’s keys from the server’s memory at once: nobody, not even the server, can read its files until a key holder unseals it with their passphrase." }
        @for (slug, sealed) in &mine { (office_card(&s, slug, *sealed, life_of(slug).map(|l| &l.0), holders_of(slug))) }
        @if let Some((o, r)) = &life { (super::office_lifecycle::retention_section(o, r, days)) }
        @if let Some(runs) = &backups { (backup_section(runs, &st.vault.settings().backup)) }
        @if s.actor.is(Role::Superadmin) { (new_office_section(&s)) }
        section.card.panic aria-labelledby="panic" {
            h2 #panic { "Emergency: seal everything" }
            p { "Use this if you think the server or an account is being misused (for example, someone is demanding access). It seals every office you administer immediately." }
            form method="post" action="/admin/seal-all" {
                (csrf_field(&s))
                button.danger type="submit" { "Seal every office now" }
            }
        }
    };
    Ok((status, page("Office", Some(&s), notice.as_ref(), body)).into_response())
}

/// A backup run's outcome, as a person reads it.
fn outcome_words(o: &str) -> &str {
    match o {
        "ok" => "Worked",
        "running" => "Running",
        o if o.starts_with("failed") => "Failed",
        o => o,
    }
}

/// Why a backup failed, in a sentence that says what to do.
fn backup_failure_words(outcome: &str) -> &'static str {
    match outcome.strip_prefix("failed: ").unwrap_or("") {
        "full" => {
            "the backup place is full. Make room there (or keep fewer backups in policy/backup.toml), then run a backup again."
        }
        "permission" => {
            "casevault may not write to the backup place. Check that the service's user can write there (or that the S3 key may write to the bucket)."
        }
        "unreachable" => {
            "the backup place could not be reached. Check that the disk is mounted or the S3 server is up, and the address in policy/backup.toml."
        }
        "missing" => {
            "the backup place does not exist. Create the folder (or bucket) named in policy/backup.toml."
        }
        "busy" => {
            "another backup to the same place was still running. The next scheduled backup will try again."
        }
        "damaged" => {
            "what was written did not read back the same. The backup place may be failing: check the disk, then run a backup again."
        }
        "interrupted" => "the server stopped while it ran. The next backup starts afresh.",
        _ => {
            "something went wrong while writing it; the server log says what. Run a backup again from the command line to see the message."
        }
    }
}

/// The last backups: when, how big, and whether they worked. A failure stands out.
fn backup_section(
    runs: &[crate::store::BackupRunRow],
    b: &crate::config::BackupSettings,
) -> Markup {
    let size = |r: &crate::store::BackupRunRow| {
        r.bytes
            .and_then(|b| u64::try_from(b).ok())
            .map(crate::backup::progress::human_bytes)
            .unwrap_or_else(|| "—".into())
    };
    html! {
        section.card aria-labelledby="backups" {
            h2 #backups { "Backups" }
            @if b.enabled() {
                p { "The server makes a backup every " (b.every_hours) " hours to " code { (b.target) } " and keeps the newest " (b.keep) "." }
            } @else {
                p { "The server makes no scheduled backups (" code { "policy/backup.toml" } "). Backups made from the command line are listed here too." }
            }
            @match runs.first() {
                None => p.state.sealed { strong { "No backup yet." } " One dead disk would lose every client file: see “Backups” in the README." }
                Some(last) if last.outcome.starts_with("failed") => p.state.sealed { strong { "The last backup failed" } " (" (minute(&last.started_at)) "): " (backup_failure_words(&last.outcome)) }
                Some(last) if last.outcome == "running" => p { "A backup is running (started " (minute(&last.started_at)) ")." }
                Some(last) => p.state.open { strong { "Last backup: " (minute(last.finished_at.as_deref().unwrap_or(&last.started_at))) } ", " (size(last)) "." }
            }
            @if !runs.is_empty() {
                div.table-wrap { table {
                    caption.visually-hidden { "Recent backups" }
                    thead { tr { th scope="col" { "Backup" } th scope="col" { "Started" } th scope="col" { "Size" } th scope="col" { "Outcome" } th scope="col" { "Where" } } }
                    tbody { @for r in runs { tr {
                        td { code { (r.id) } }
                        td { (minute(&r.started_at)) }
                        td { (size(r)) }
                        td { (outcome_words(&r.outcome)) @if r.scheduled { " (scheduled)" } }
                        td { code { (r.location) } }
                    } } }
                } }
            }
        }
    }
}

/// `POST /admin/offices/{office}/seal`.
pub(super) async fn seal(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, _): PageForm<Nothing>,
) -> Result<Response, PageError> {
    st.vault.seal(&s.actor, &office).await?;
    Ok(super::see_other("/admin?done=sealed"))
}

/// `POST /admin/seal-all`: panic seal.
pub(super) async fn seal_all(
    State(st): State<AppState>,
    PageForm(s, _): PageForm<Nothing>,
) -> Result<Response, PageError> {
    st.vault.seal_all(&s.actor).await?;
    Ok(super::see_other("/admin?done=sealed_all"))
}

#[derive(Deserialize)]
pub(super) struct UnsealForm {
    passphrase: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /admin/offices/{office}/unseal`: always asks for a fresh code.
pub(super) async fn unseal(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<UnsealForm>,
) -> Result<Response, PageError> {
    let secret = age::secrecy::SecretString::from(f.passphrase.trim().to_string());
    let result = st
        .vault
        .unseal(&s.actor, &office, secret, StepUp::typed(&f.totp))
        .await;
    match result {
        Ok(()) => Ok(super::see_other("/admin?done=unsealed")),
        Err(
            e @ (VaultError::InvalidCode
            | VaultError::StepUpRequired
            | VaultError::WrongPassphrase
            | VaultError::BadInput { .. }),
        ) => {
            office_response(
                &st,
                s,
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(super::error::words(e))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Time zones offered first (the offices casevault serves are mostly in the US); any
/// IANA name is accepted.
const COMMON_ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "UTC",
];

fn time_zone_form(s: &SessionInfo, slug: &str) -> Markup {
    let now = super::layout::zone();
    html! {
        details {
            summary { "Time zone: " (now.name()) }
            form method="post" action={ "/admin/offices/" (slug) "/time-zone" } {
                (csrf_field(s))
                div.field {
                    label for={ "tz-" (slug) } { "Time zone of the office" }
                    input id={ "tz-" (slug) } name="time_zone" list="zones" value=(now.name()) required autocomplete="off" spellcheck="false" aria-describedby={ "tz-help-" (slug) };
                    datalist #zones { @for z in COMMON_ZONES { option value=(z) {} } }
                    p.help id={ "tz-help-" (slug) } { "Pages show times and dates in this zone, e.g. America/Chicago. What is stored stays in UTC." }
                }
                button type="submit" { "Save time zone" }
            }
        }
    }
}

fn new_office_section(s: &SessionInfo) -> Markup {
    html! {
        section.card aria-labelledby="new-office" {
            h2 #new-office { "Add an office" }
            p { "casevault makes the office's key and a passphrase that unseals it. The passphrase is shown once: print it or write it down for the office's administrator, who keeps it somewhere safe." }
            form method="post" action="/admin/offices" {
                (csrf_field(s))
                div.field {
                    label for="office-slug" { "Short name" }
                    input #office-slug name="slug" required minlength="2" maxlength="32" pattern="[a-z0-9-]{2,32}" autocapitalize="none" spellcheck="false" autocomplete="off" aria-describedby="office-slug-help";
                    p.help #office-slug-help { "2 to 32 lower-case letters, digits or dashes, e.g. bronx or el-paso." }
                }
                div.field {
                    label for="office-tz" { "Time zone" }
                    input #office-tz name="time_zone" list="new-zones" value="UTC" required autocomplete="off" spellcheck="false";
                    datalist #new-zones { @for z in COMMON_ZONES { option value=(z) {} } }
                }
                button type="submit" { "Create office" }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NewOfficeForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    time_zone: String,
}

/// `POST /admin/offices` (the coalition operator): the office and its passphrase,
/// shown once.
pub(super) async fn create_office(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<NewOfficeForm>,
) -> Result<Response, PageError> {
    let slug = f.slug.trim().to_string();
    let zone = Some(f.time_zone.trim())
        .filter(|z| !z.is_empty())
        .unwrap_or("UTC");
    let refused = |e: VaultError| (crate::edge::status::of(&e).0, super::error::words(e));
    let created = st
        .vault
        .create_office_in_zone(&s.actor, &slug, crate::vault::OfficeMode::Passphrase, zone)
        .await;
    let creds = match created {
        Ok(c) => c,
        Err(
            e @ (VaultError::BadInput { .. }
            | VaultError::Conflict { .. }
            | VaultError::InvalidCode
            | VaultError::StepUpRequired),
        ) => {
            let (status, words) = refused(e);
            return office_response(&st, s, status, Some(Notice::Error(words))).await;
        }
        Err(e) => return Err(e.into()),
    };
    let passphrase = creds
        .passphrase
        .as_ref()
        .map(crate::vault::expose)
        .unwrap_or_default();
    let body = html! {
        h1 { "Office " (slug) " is created" }
        p { "This is the office passphrase. " strong { "It is shown only this once." } " Print this page or write the passphrase down exactly, and give it to the office's administrator in person. With it they unseal the office and invite the other key holders." }
        p.passphrase { code.secret { (passphrase) } }
        p { "It is sealed until its administrator unseals it. Next: create the office's administrator on the " a href="/admin/users" { "Users" } " page." }
        p { a.button href="/admin" { "I have written it down — back to the Office page" } }
    };
    Ok(page("Office created", Some(&s), None, body).into_response())
}

#[derive(Deserialize)]
pub(super) struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// `POST /admin/offices/{office}/time-zone` (the office's administrator).
pub(super) async fn set_time_zone(
    State(st): State<AppState>,
    Path(office): Path<String>,
    PageForm(s, f): PageForm<TimeZoneForm>,
) -> Result<Response, PageError> {
    match st
        .vault
        .set_office_time_zone(&s.actor, &office, &f.time_zone)
        .await
    {
        Ok(()) => Ok(super::see_other("/admin?done=time_zone")),
        Err(e @ VaultError::BadInput { .. }) => {
            let status = crate::edge::status::of(&e).0;
            office_response(&st, s, status, Some(Notice::Error(super::error::words(e)))).await
        }
        Err(e) => Err(e.into()),
    }
}
