//! Office administration: seal, unseal (passphrase and a fresh code), panic seal,
//! and the accounts of the office (create, disable, enable, reset password).
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
use super::layout::{Notice, csrf_field, done_message, page, role_name};
use super::parts::{DoneQuery, Nothing};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::policy::Role;
use crate::vault::{NewUser, OfficeCases, SessionInfo, StepUp, UserView, VaultError};

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
    let body = html! {
        h1 { "Office" }
        p { "Sealing removes an office’s keys from the server’s memory at once: nobody, not even the server, can read its files until a key holder unseals it with their passphrase." }
        @for (slug, sealed) in &mine { (office_card(&s, slug, *sealed, life_of(slug).map(|l| &l.0), holders_of(slug))) }
        @if let Some((o, r)) = &life { (super::office_lifecycle::retention_section(o, r, days)) }
        @if let Some(runs) = &backups { (backup_section(runs, &st.vault.settings().backup)) }
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
                Some(last) if last.outcome.starts_with("failed") => p.state.sealed { strong { "The last backup failed" } " (" (last.started_at) "). The server log says why." }
                Some(last) if last.outcome == "running" => p { "A backup is running (started " (last.started_at) ")." }
                Some(last) => p.state.open { strong { "Last backup: " (last.finished_at.as_deref().unwrap_or(&last.started_at)) } ", " (size(last)) "." }
            }
            @if !runs.is_empty() {
                div.table-wrap { table {
                    caption.visually-hidden { "Recent backups" }
                    thead { tr { th scope="col" { "Backup" } th scope="col" { "Started" } th scope="col" { "Size" } th scope="col" { "Outcome" } th scope="col" { "Where" } } }
                    tbody { @for r in runs { tr {
                        td { code { (r.id) } }
                        td { (r.started_at) }
                        td { (size(r)) }
                        td { (r.outcome) @if r.scheduled { " (scheduled)" } }
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

fn users_body(s: &SessionInfo, users: &[UserView]) -> Markup {
    let superadmin = s.actor.is(Role::Superadmin);
    html! {
        h1 { "Users" }
        div.table-wrap { table {
            caption.visually-hidden { "Accounts" }
            thead { tr {
                th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Office" }
                th scope="col" { "Authenticator" } th scope="col" { "Status" } th scope="col" { "Actions" }
            } }
            tbody { @for u in users { tr {
                td { (u.username) }
                td { (role_name(Role::parse(&u.role))) @if u.supervisor { " (supervisor)" } }
                td { (u.office.as_deref().or(u.org.as_deref()).unwrap_or("—")) }
                td { (if u.totp_enrolled { "Set up" } else { "Not yet" }) }
                td { (if u.disabled { "Disabled" } else if u.access_pending { "Waiting for a supervisor to confirm" } else { "Active" }) }
                td.actions {
                    @if u.id != s.actor.id() {
                        form.inline method="post" action={ "/admin/users/" (u.id) (if u.disabled { "/enable" } else { "/disable" }) } {
                            (csrf_field(s))
                            @if u.disabled { (super::parts::code_field(s, &format!("en-{}", u.id), false, "Your own code: giving a caseworker account a way in needs a fresh one.")) }
                            button.secondary type="submit" { (if u.disabled { "Enable" } else { "Disable" }) span.visually-hidden { " " (u.username) } }
                        }
                        details {
                            summary { "Reset password" span.visually-hidden { " for " (u.username) } }
                            form method="post" action={ "/admin/users/" (u.id) "/password" } {
                                (csrf_field(s))
                                label for={ "pw-" (u.id) } { "New password for " (u.username) }
                                input id={ "pw-" (u.id) } name="password" type="password" autocomplete="new-password" minlength="12" required;
                                (super::parts::code_field(s, &format!("pwc-{}", u.id), false, "Your own code: giving a caseworker account a way in needs a fresh one."))
                                button type="submit" { "Set password" }
                            }
                        }
                    }
                }
            } } }
        } }
        section aria-labelledby="new-user" {
            h2 #new-user { "Add a person" }
            form.card method="post" action="/admin/users" {
                (csrf_field(s))
                div.field {
                    label for="username" { "Username" }
                    input #username name="username" required autocapitalize="none" spellcheck="false" autocomplete="off" aria-describedby="username-help";
                    p.help #username-help { "3 to 64 lower-case letters, digits, dots, dashes or underscores, starting with a letter." }
                }
                @if superadmin {
                    div.field {
                        label for="role" { "Role" }
                        select #role name="role" {
                            option value=(Role::Caseworker) { "Caseworker" }
                            option value=(Role::Admin) { "Office administrator" }
                            option value=(Role::Partner) { "Partner attorney" }
                            option value=(Role::Auditor) { "Auditor" }
                        }
                    }
                    div.field {
                        label for="office" { "Office (caseworkers and administrators)" }
                        input #office name="office" autocapitalize="none";
                    }
                    div.field {
                        label for="org" { "Organisation (partner attorneys)" }
                        input #org name="org";
                    }
                } @else {
                    input type="hidden" name="role" value=(Role::Caseworker);
                    p { "New accounts here are caseworkers of the " (s.actor.office().unwrap_or("")) " office." }
                }
                div.field {
                    label.choice { input type="checkbox" name="supervisor" value="yes"; " Supervisor (can see every case of the office)" }
                }
                div.field {
                    label for="new-password" { "First password" }
                    input #new-password name="password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="pw-help";
                    p.help #pw-help { "At least 12 characters and not a common password. Give it to the person in private; they set up their authenticator app when they first sign in." }
                }
                (super::parts::code_field(s, "new-user-code", false, "Your own code: giving a caseworker account a way in needs a fresh one."))
                button type="submit" { "Create account" }
            }
        }
    }
}

async fn users_response(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    require_admin(&s)?;
    let users = st.vault.list_users(&s.actor).await?;
    let body = users_body(&s, &users);
    Ok((status, page("Users", Some(&s), notice.as_ref(), body)).into_response())
}

/// `GET /admin/users`.
pub(super) async fn users_page(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    q: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let notice = q.ok().and_then(|q| done_message(q.0.done.as_deref()));
    users_response(&st, s, StatusCode::OK, notice).await
}

#[derive(Deserialize)]
pub(super) struct NewUserForm {
    username: String,
    role: String,
    #[serde(default)]
    office: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    supervisor: Option<String>,
    password: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// A form whose only field is an optional fresh code.
#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

async fn user_result(
    st: &AppState,
    s: SessionInfo,
    result: Result<(), VaultError>,
    done: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(super::see_other(&format!("/admin/users?done={done}"))),
        Err(VaultError::BadInput { message: m, .. } | VaultError::Conflict { message: m, .. }) => {
            users_response(st, s, StatusCode::BAD_REQUEST, Some(Notice::Error(m))).await
        }
        Err(e @ (VaultError::StepUpRequired | VaultError::InvalidCode)) => {
            let (status, _) = crate::edge::status::of(&e);
            users_response(st, s, status, Some(Notice::Error(super::error::words(e)))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users`.
pub(super) async fn create_user(
    State(st): State<AppState>,
    PageForm(s, f): PageForm<NewUserForm>,
) -> Result<Response, PageError> {
    let office = if s.actor.is(Role::Admin) {
        s.actor.office().map(str::to_string)
    } else {
        Some(f.office.trim().to_string()).filter(|o| !o.is_empty())
    };
    let nu = NewUser {
        username: f.username.trim().to_string(),
        role: f.role,
        office,
        org: Some(f.org.trim().to_string()).filter(|o| !o.is_empty()),
        supervisor: f.supervisor.is_some(),
        password: f.password,
    };
    let step = StepUp::typed(&f.totp);
    let result = st.vault.create_user(&s.actor, nu, step).await.map(|_| ());
    user_result(&st, s, result, "user_created").await
}

/// `POST /admin/users/{user}/disable`.
pub(super) async fn disable(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, _): PageForm<Nothing>,
) -> Result<Response, PageError> {
    let result = st
        .vault
        .set_user_disabled(&s.actor, &user, true, StepUp::none())
        .await;
    user_result(&st, s, result, "disabled").await
}

/// `POST /admin/users/{user}/enable`.
pub(super) async fn enable(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let step = StepUp::typed(&f.totp);
    let result = st
        .vault
        .set_user_disabled(&s.actor, &user, false, step)
        .await;
    user_result(&st, s, result, "enabled").await
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    password: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /admin/users/{user}/password`.
pub(super) async fn reset_password(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, f): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let step = StepUp::typed(&f.totp);
    let result = st
        .vault
        .reset_password(&s.actor, &user, f.password, step)
        .await;
    user_result(&st, s, result, "password_reset").await
}
