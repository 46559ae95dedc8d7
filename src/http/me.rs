//! A person's own account: a new password, new recovery codes.
//!
//! Invariant: both need a fresh second factor, as in the vault (`account/own.rs`);
//! passwords and codes stay in wiping types and appear in no error.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::auth::{RecoveryCodes, StepUpBody};
use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::{ApiResult, AppState};
use crate::vault::StepUp;

/// A new password for oneself.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    /// The password in use now.
    #[schema(value_type = String)]
    current_password: Zeroizing<String>,
    /// The new password: at least 12 characters and not a common one.
    #[schema(value_type = String)]
    new_password: Zeroizing<String>,
    /// A fresh code (step-up), unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// `POST /api/v1/me/password` (step-up): changes one's own password; every other
/// session of the account ends and remembered browsers are forgotten.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordBody, responses(
    (status = 204, description = "Changed; this session stays signed in"),
    (status = 400, body = ErrorBody, description = "invalid_json, wrong_password (the current password), weak_password or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 429, body = ErrorBody, description = "too many wrong current passwords")))]
pub(super) async fn change_password(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(b): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    st.vault
        .change_own_password(
            &s,
            b.current_password,
            b.new_password,
            StepUp::if_stale(b.totp),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/me/recovery-codes` (step-up): ten new recovery codes, shown once; the
/// old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/recovery-codes", request_body = StepUpBody, responses(
    (status = 201, body = RecoveryCodes),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "not_enrolled (no authenticator app set up)")))]
pub(super) async fn recovery_codes(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(b): JsonBody<StepUpBody>,
) -> ApiResult<(StatusCode, Json<RecoveryCodes>)> {
    let codes = st
        .vault
        .new_recovery_codes(&s, StepUp::if_stale(b.totp))
        .await?;
    Ok((StatusCode::CREATED, Json(RecoveryCodes::of(&codes))))
}
