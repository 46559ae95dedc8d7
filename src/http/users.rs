//! User administration: list, create, disable, enable, reset a password or TOTP.
//!
//! Invariants: who may manage whom is the vault's decision (`ManageUsers`, with the
//! target's role), never the handler's; passwords stay in wiping types.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::StepUpBody;
use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{PathParams, UserPath};
use super::{ApiResult, AppState};
use crate::vault::{NewUser, StepUp, UserView};

/// Users.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserList {
    users: Vec<UserView>,
}

/// `GET /api/v1/users`.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = UserList)))]
pub(super) async fn list_users(
    State(st): State<AppState>,
    Session(s): Session,
) -> ApiResult<Json<UserList>> {
    let users = st.vault.list_users(&s.actor).await?;
    Ok(Json(UserList { users }))
}

/// New user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
    /// 3 to 64 of `a-z`, `0-9`, `.`, `_` and `-`, starting with a letter.
    #[schema(pattern = "^[a-z][a-z0-9._-]{2,63}$")]
    username: String,
    #[schema(value_type = Role)]
    role: String,
    /// The office (admins and caseworkers; no other role has one).
    #[serde(default)]
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: Option<String>,
    /// The partner organisation (partners).
    #[serde(default)]
    org: Option<String>,
    /// A caseworker who supervises the office's caseworkers.
    #[serde(default)]
    supervisor: bool,
    /// At least 12 characters, not a common password.
    #[schema(value_type = String, min_length = 12)]
    password: Zeroizing<String>,
    /// A fresh code (step-up), needed when this gives a caseworker account a way in
    /// and the session proved none recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// A role (the document's name for the values the vault accepts; the body carries a
/// string).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Role {
    Superadmin,
    Admin,
    Caseworker,
    Partner,
    Auditor,
}

/// `POST /api/v1/users`.
#[utoipa::path(post, path = "/api/v1/users", request_body = UserBody, responses(
    (status = 201, body = UserView),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_username, invalid_role, invalid_office, weak_password or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "exists: an account has that username")))]
pub(super) async fn create_user(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(b): JsonBody<UserBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let u = st
        .vault
        .create_user(
            &s.actor,
            NewUser {
                username: b.username,
                role: b.role,
                office: b.office,
                org: b.org,
                supervisor: b.supervisor,
                password: b.password,
            },
            StepUp::if_stale(b.totp),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// `POST /api/v1/users/{user}/disable`: the account can no longer sign in; its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{user}/disable", params(UserPath), responses(
    (status = 204, description = "Disabled")))]
pub(super) async fn disable_user(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(UserPath { user }): PathParams<UserPath>,
) -> ApiResult<StatusCode> {
    st.vault
        .set_user_disabled(&s.actor, &user, true, StepUp::none())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{user}/enable`.
#[utoipa::path(post, path = "/api/v1/users/{user}/enable", params(UserPath), request_body = StepUpBody, responses(
    (status = 204, description = "Enabled"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn enable_user(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(UserPath { user }): PathParams<UserPath>,
    JsonBody(b): JsonBody<StepUpBody>,
) -> ApiResult<StatusCode> {
    st.vault
        .set_user_disabled(&s.actor, &user, false, StepUp::if_stale(b.totp))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    /// At least 12 characters, not a common password.
    #[schema(value_type = String, min_length = 12)]
    password: Zeroizing<String>,
    /// A fresh code (step-up), needed when this gives a caseworker account a way in
    /// and the session proved none recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// `POST /api/v1/users/{user}/reset-password`: sets a new password and ends the user's sessions.
#[utoipa::path(post, path = "/api/v1/users/{user}/reset-password", params(UserPath), request_body = PasswordBody, responses(
    (status = 204, description = "The password is set and the account's sessions ended"),
    (status = 400, body = ErrorBody, description = "invalid_json, weak_password or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn reset_password(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(UserPath { user }): PathParams<UserPath>,
    JsonBody(b): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    st.vault
        .reset_password(&s.actor, &user, b.password, StepUp::if_stale(b.totp))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{user}/reset-totp`: the user must enrol again.
#[utoipa::path(post, path = "/api/v1/users/{user}/reset-totp", params(UserPath), request_body = StepUpBody, responses(
    (status = 204, description = "The account must enrol an authenticator again"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn reset_totp(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(UserPath { user }): PathParams<UserPath>,
    JsonBody(b): JsonBody<StepUpBody>,
) -> ApiResult<StatusCode> {
    st.vault
        .reset_totp(&s.actor, &user, StepUp::if_stale(b.totp))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirmation of an account's power to read client data.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmBody {
    /// A fresh code (step-up), unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
    /// The office passphrase: how an office administrator confirms (a supervisor
    /// needs none).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    passphrase: Option<Zeroizing<String>>,
}

/// `POST /api/v1/users/{user}/confirm` (step-up): a supervisor of the account's office,
/// or its administrator with the office passphrase, confirms an account that an
/// administrator made, enabled or reset; until then it reads nothing.
#[utoipa::path(post, path = "/api/v1/users/{user}/confirm", params(UserPath), request_body = ConfirmBody, responses(
    (status = 204, description = "Confirmed"),
    (status = 400, body = ErrorBody, description = "invalid_json, unseal_failed (the passphrase does not open the office) or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn confirm_access(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(UserPath { user }): PathParams<UserPath>,
    JsonBody(b): JsonBody<ConfirmBody>,
) -> ApiResult<StatusCode> {
    let passphrase = b
        .passphrase
        .filter(|p| !p.trim().is_empty())
        .map(|p| age::secrecy::SecretString::from(p.trim().to_string()));
    st.vault
        .confirm_access(&s.actor, &user, passphrase, StepUp::if_stale(b.totp))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
