//! Two-person approvals (issue 26): the caller's requests and those they may answer;
//! approve, deny (fresh second factor) and withdraw. Thin handlers: one vault call.
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::auth::StepUpBody;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, Session};
use super::params::PathParams;
use crate::vault::{ApprovalList, ApprovalView, StepUp};

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(list))
        .route("/approvals/{approval}/approve", post(approve))
        .route("/approvals/{approval}/deny", post(deny))
        .route("/approvals/{approval}/withdraw", post(withdraw))
}

/// `{approval}`: a request's id.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct ApprovalPath {
    /// The request's id.
    #[param(format = Uuid)]
    approval: String,
}

/// `GET /api/v1/approvals`: the requests the caller made or may approve, newest first.
#[utoipa::path(get, path = "/api/v1/approvals", responses(
    (status = 200, body = ApprovalList)))]
pub(super) async fn list(
    State(st): State<AppState>,
    Session(s): Session,
) -> ApiResult<Json<ApprovalList>> {
    Ok(Json(st.vault.list_approvals(&s.actor).await?))
}

/// `POST /api/v1/approvals/{approval}/approve` (step-up): approves; when enough people
/// approved, the action runs as decided now and the request records its outcome.
#[utoipa::path(post, path = "/api/v1/approvals/{approval}/approve", params(ApprovalPath), request_body = StepUpBody, responses(
    (status = 200, body = ApprovalView, description = "The request as it now stands (`done` once the action ran)"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 403, body = ErrorBody, description = "forbidden: the requester, a waiting or disabled account"),
    (status = 404, body = ErrorBody, description = "no request the caller may see"),
    (status = 409, body = ErrorBody, description = "not_pending, already_approved, legal_hold (the action was refused when it ran), no_longer_allowed, target_gone")))]
pub(super) async fn approve(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(ApprovalPath { approval }): PathParams<ApprovalPath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<ApprovalView>> {
    let step = StepUp::if_stale(body.totp);
    Ok(Json(
        st.vault.approve_request(&s.actor, &approval, step).await?,
    ))
}

/// `POST /api/v1/approvals/{approval}/deny` (step-up): ends the request; nothing is done.
#[utoipa::path(post, path = "/api/v1/approvals/{approval}/deny", params(ApprovalPath), request_body = StepUpBody, responses(
    (status = 200, body = ApprovalView, description = "The request, now `denied`"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 403, body = ErrorBody, description = "forbidden: the requester, a waiting or disabled account"),
    (status = 404, body = ErrorBody, description = "no request the caller may see"),
    (status = 409, body = ErrorBody, description = "not_pending")))]
pub(super) async fn deny(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(ApprovalPath { approval }): PathParams<ApprovalPath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<ApprovalView>> {
    let step = StepUp::if_stale(body.totp);
    Ok(Json(
        st.vault.deny_request(&s.actor, &approval, step).await?,
    ))
}

/// `POST /api/v1/approvals/{approval}/withdraw`: the requester ends their own request.
#[utoipa::path(post, path = "/api/v1/approvals/{approval}/withdraw", params(ApprovalPath), responses(
    (status = 200, body = ApprovalView, description = "The request, now `withdrawn`"),
    (status = 403, body = ErrorBody, description = "forbidden: not the requester"),
    (status = 404, body = ErrorBody, description = "no request the caller may see"),
    (status = 409, body = ErrorBody, description = "not_pending")))]
pub(super) async fn withdraw(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(ApprovalPath { approval }): PathParams<ApprovalPath>,
) -> ApiResult<Json<ApprovalView>> {
    Ok(Json(st.vault.withdraw_request(&s.actor, &approval).await?))
}
