//! The Users page: the accounts an administrator may manage (create, disable, enable,
//! reset password or authenticator, confirm a waiting caseworker with the office
//! passphrase).
//!
//! Invariant: the pages only offer; the vault decides. A form shown to someone the
//! policy refuses still ends in the vault's audited denial, never in a change.
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::admin::require_admin;
use super::error::PageError;
use super::layout::{Notice, csrf_field, done_message, page, role_name};
use super::parts::{DoneQuery, Nothing};
use super::session::{PageForm, PageSession};
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::policy::Role;
use crate::vault::{NewUser, SessionInfo, StepUp, UserView, VaultError};

/// What the person typed into "Add a person", kept when the vault refuses it (never
/// the password).
#[derive(Default)]
struct Typed {
    username: String,
    role: String,
    office: String,
    org: String,
    supervisor: bool,
}

fn users_body(s: &SessionInfo, users: &[UserView], typed: &Typed) -> Markup {
    let superadmin = s.actor.is(Role::Superadmin);
    let admin = s.actor.is(Role::Admin);
    html! {
        h1 { (t("users-heading")) }
        div.table-wrap { table {
            caption.visually-hidden { (t("users-caption")) }
            thead { tr {
                th scope="col" { (t("users-col-username")) } th scope="col" { (t("users-col-role")) } th scope="col" { (t("users-col-office")) }
                th scope="col" { (t("users-col-authenticator")) } th scope="col" { (t("users-col-status")) } th scope="col" { (t("users-col-actions")) }
            } }
            tbody { @for u in users { tr {
                td { (u.username) }
                td data-label=(t("users-col-role")) { (role_name(Role::parse(&u.role))) @if u.supervisor { " " (t("users-supervisor-mark")) } }
                td data-label=(t("users-col-office")) { (u.office.as_deref().or(u.org.as_deref()).unwrap_or("—")) }
                td data-label=(t("users-col-authenticator")) { (t(if u.totp_enrolled { "users-totp-set-up" } else { "users-totp-not-yet" })) }
                td data-label=(t("users-col-status")) { (t(if u.disabled { "users-status-disabled" } else if u.access_pending { "users-status-waiting" } else { "users-status-active" })) }
                td.actions {
                    @if u.id != s.actor.id() {
                        form.inline method="post" action={ "/admin/users/" (u.id) (if u.disabled { "/enable" } else { "/disable" }) } {
                            (csrf_field(s))
                            @if u.disabled { (super::parts::code_field(s, &format!("en-{}", u.id), false, &t("users-code-way-in"))) }
                            button.secondary type="submit" { (t(if u.disabled { "users-enable" } else { "users-disable" })) span.visually-hidden { " " (u.username) } }
                        }
                        @if admin && u.access_pending && !u.disabled {
                            details.confirm {
                                summary { (t("users-confirm")) span.visually-hidden { " " (u.username) } }
                                form method="post" action={ "/admin/users/" (u.id) "/confirm" } {
                                    (csrf_field(s))
                                    p.help { (t("users-confirm-help")) }
                                    label for={ "cp-" (u.id) } { (t("users-office-passphrase")) }
                                    input id={ "cp-" (u.id) } name="passphrase" type="password" autocomplete="off" required spellcheck="false" autocapitalize="none";
                                    (super::parts::code_field(s, &format!("cc-{}", u.id), false, &t("users-code-confirm")))
                                    button type="submit" { (ta("users-confirm-button", &[("username", &u.username)])) }
                                }
                            }
                        }
                        @if u.totp_enrolled {
                            details {
                                summary { (t("users-reset-totp")) span.visually-hidden { " " (ta("users-for-hidden", &[("username", &u.username)])) } }
                                form method="post" action={ "/admin/users/" (u.id) "/reset-totp" } {
                                    (csrf_field(s))
                                    p.help { (t("users-reset-totp-help")) }
                                    (super::parts::code_field(s, &format!("rt-{}", u.id), false, &t("users-code-new-totp")))
                                    button type="submit" { (t("users-reset-totp")) }
                                }
                            }
                        }
                        details {
                            summary { (t("users-reset-password")) span.visually-hidden { " " (ta("users-for-hidden", &[("username", &u.username)])) } }
                            form method="post" action={ "/admin/users/" (u.id) "/password" } {
                                (csrf_field(s))
                                label for={ "pw-" (u.id) } { (ta("users-new-password-for", &[("username", &u.username)])) }
                                input id={ "pw-" (u.id) } name="password" type="password" autocomplete="new-password" minlength="12" required;
                                (super::parts::code_field(s, &format!("pwc-{}", u.id), false, &t("users-code-way-in")))
                                button type="submit" { (t("users-set-password")) }
                            }
                        }
                    }
                }
            } } }
        } }
        section aria-labelledby="new-user" {
            h2 #new-user { (t("users-add-heading")) }
            form.card method="post" action="/admin/users" {
                (csrf_field(s))
                div.field {
                    label for="username" { (t("users-username")) }
                    input #username name="username" value=(typed.username) required autocapitalize="none" spellcheck="false" autocomplete="off" aria-describedby="username-help";
                    p.help #username-help { (t("users-username-help")) }
                }
                @if superadmin {
                    div.field {
                        label for="role" { (t("users-role")) }
                        select #role name="role" {
                            @for (r, words) in [(Role::Caseworker, "users-role-caseworker"), (Role::Admin, "users-role-admin"), (Role::Partner, "users-role-partner"), (Role::Auditor, "users-role-auditor")] {
                                option value=(r) selected[typed.role == r.as_str()] { (t(words)) }
                            }
                        }
                    }
                    div.field {
                        label for="office" { (t("users-office")) }
                        input #office name="office" value=(typed.office) autocapitalize="none";
                    }
                    div.field {
                        label for="org" { (t("users-org")) }
                        input #org name="org" value=(typed.org);
                    }
                } @else {
                    input type="hidden" name="role" value=(Role::Caseworker);
                    p { (ta("users-new-here", &[("office", s.actor.office().unwrap_or(""))])) }
                }
                div.field {
                    label.choice { input type="checkbox" name="supervisor" value="yes" checked[typed.supervisor]; " " (t("users-supervisor")) }
                }
                div.field {
                    label for="new-password" { (t("users-first-password")) }
                    input #new-password name="password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="pw-help";
                    p.help #pw-help { (t("users-first-password-help")) }
                }
                (super::parts::code_field(s, "new-user-code", false, &t("users-code-way-in")))
                button type="submit" { (t("users-create")) }
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
    users_response_typed(st, s, status, notice, &Typed::default()).await
}

async fn users_response_typed(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
    typed: &Typed,
) -> Result<Response, PageError> {
    require_admin(&s)?;
    let users = st.vault.list_users(&s.actor).await?;
    let body = users_body(&s, &users, typed);
    Ok((
        status,
        page(&t("users-title"), Some(&s), notice.as_ref(), body),
    )
        .into_response())
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
    typed: &Typed,
) -> Result<Response, PageError> {
    let e = match result {
        Ok(()) => return Ok(super::see_other(&format!("/admin/users?done={done}"))),
        Err(e) => e,
    };
    let (status, _) = crate::edge::status::of(&e);
    let words = match e {
        VaultError::BadInput { message: m, .. } | VaultError::Conflict { message: m, .. } => {
            super::error::field_words(&m)
        }
        e
        @ (VaultError::StepUpRequired | VaultError::InvalidCode | VaultError::WrongPassphrase) => {
            super::error::words(e)
        }
        e => return Err(e.into()),
    };
    users_response_typed(st, s, status, Some(Notice::Error(words)), typed).await
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
    let typed = Typed {
        username: f.username.trim().to_string(),
        role: f.role.clone(),
        office: f.office.trim().to_string(),
        org: f.org.trim().to_string(),
        supervisor: f.supervisor.is_some(),
    };
    let nu = NewUser {
        username: typed.username.clone(),
        role: f.role,
        office,
        org: Some(typed.org.clone()).filter(|o| !o.is_empty()),
        supervisor: typed.supervisor,
        password: f.password,
    };
    let step = StepUp::typed(&f.totp);
    let result = st.vault.create_user(&s.actor, nu, step).await.map(|_| ());
    user_result(&st, s, result, "user_created", &typed).await
}

#[derive(Deserialize)]
pub(super) struct ConfirmForm {
    #[serde(default)]
    passphrase: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /admin/users/{user}/confirm`: the office administrator confirms a waiting
/// caseworker with the office passphrase (policy rule 18) and a fresh code.
pub(super) async fn confirm(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, f): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let passphrase = Some(f.passphrase.trim())
        .filter(|p| !p.is_empty())
        .map(|p| age::secrecy::SecretString::from(p.to_string()));
    let step = StepUp::typed(&f.totp);
    let result = st
        .vault
        .confirm_access(&s.actor, &user, passphrase, step)
        .await;
    user_result(&st, s, result, "access_confirmed", &Typed::default()).await
}

/// `POST /admin/users/{user}/reset-totp`: the person sets up their authenticator
/// again at their next sign-in.
pub(super) async fn reset_totp(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let step = StepUp::typed(&f.totp);
    let result = st.vault.reset_totp(&s.actor, &user, step).await;
    user_result(&st, s, result, "totp_reset", &Typed::default()).await
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
    user_result(&st, s, result, "disabled", &Typed::default()).await
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
    user_result(&st, s, result, "enabled", &Typed::default()).await
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
    user_result(&st, s, result, "password_reset", &Typed::default()).await
}
