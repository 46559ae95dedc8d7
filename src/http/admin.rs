//! Administrators' routes: the audit log, legal holds, purge, closing a case. Thin
//! handlers: parse, prove a step-up code when one is sent, one vault call.
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::AppState;
use super::auth::StepUpBody;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, Session};
use super::params::{CasePath, DocPath, OfficePath, PathParams};
use axum::response::{IntoResponse, Response};

use crate::vault::{
    ApprovalTicket, AuditPage, AuditQuery, Decided, PurgeReport, SessionInfo, StepUp,
};

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/audit", get(read_audit))
        .route("/cases/{case}/close", post(close_case))
        .route("/cases/{case}/hold", put(hold_case).delete(lift_case_hold))
        .route("/cases/{case}/purge", post(purge_case))
        .route("/cases/{case}/documents/{doc}/purge", post(purge_document))
        .route(
            "/offices/{office}/hold",
            put(hold_office).delete(lift_office_hold),
        )
        .route("/offices/{office}/purge", post(purge_office))
}

/// `?after=&limit=&actor=&action=&target=&since=&until=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditParams {
    /// Only entries after this sequence number.
    #[param(minimum = 0)]
    after: Option<i64>,
    /// Page size: default 100, at most 1000 (a larger or smaller one is brought into
    /// that range).
    limit: Option<i64>,
    /// Only this actor id.
    #[param(max_length = 200)]
    actor: Option<String>,
    /// Only this action (e.g. `purge_case`).
    #[param(max_length = 200)]
    action: Option<String>,
    /// Only entries whose target contains this (e.g. `case:<id>`).
    #[param(max_length = 200)]
    target: Option<String>,
    /// Only entries at or after this RFC 3339 time.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only entries before this RFC 3339 time.
    #[param(format = DateTime)]
    until: Option<String>,
}

/// `GET /api/v1/audit`: office admins read their office's entries, auditors all;
/// oldest first.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses(
    (status = 200, body = AuditPage),
    (status = 400, body = ErrorBody, description = "invalid_query: an unknown parameter, a number or time that is not one, a value too long")))]
pub(super) async fn read_audit(
    State(st): State<AppState>,
    Session(s): Session,
    q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "parameters: after, limit (numbers), actor, action, target, since, until",
        )
    })?;
    let query = AuditQuery {
        after: q.after,
        limit: q.limit,
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
        names: false,
        ..AuditQuery::default()
    };
    Ok(Json(st.vault.read_audit(&s.actor, query).await?))
}

/// A legal-hold change.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HoldBody {
    /// Why (stored encrypted; never logged): at most 2000 characters, no control
    /// characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2000)]
    reason: Option<Zeroizing<String>>,
    /// A fresh authenticator code, when the session's is older than the step-up window.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

async fn case_hold(
    st: AppState,
    s: SessionInfo,
    case: String,
    body: HoldBody,
    place: bool,
) -> ApiResult<Response> {
    let reason = body.reason.as_deref().map(|r| r.as_str());
    let d = st
        .vault
        .set_case_hold(&s.actor, &case, place, reason, StepUp::if_stale(body.totp))
        .await?;
    Ok(no_content_or_pending(d))
}

async fn office_hold(
    st: AppState,
    s: SessionInfo,
    office: String,
    body: HoldBody,
    place: bool,
) -> ApiResult<Response> {
    let reason = body.reason.as_deref().map(|r| r.as_str());
    let d = st
        .vault
        .set_office_hold(
            &s.actor,
            &office,
            place,
            reason,
            StepUp::if_stale(body.totp),
        )
        .await?;
    Ok(no_content_or_pending(d))
}

/// 204, or 202 with the request when the change waits for approval.
fn no_content_or_pending(d: Decided<()>) -> Response {
    match d {
        Decided::Done(()) => StatusCode::NO_CONTENT.into_response(),
        Decided::Pending(t) => (StatusCode::ACCEPTED, Json(t)).into_response(),
    }
}

/// `PUT /api/v1/cases/{case}/hold` (step-up): places a legal hold.
#[utoipa::path(put, path = "/api/v1/cases/{case}/hold", params(CasePath), request_body = HoldBody, responses(
    (status = 204, description = "Held"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_reason (a reason too long or with control characters) or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn hold_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<HoldBody>,
) -> ApiResult<Response> {
    case_hold(st, s, case, body, true).await
}

/// `DELETE /api/v1/cases/{case}/hold` (step-up): lifts it.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/hold", params(CasePath), request_body = HoldBody, responses(
    (status = 204, description = "Lifted"),
    (status = 202, body = ApprovalTicket, description = "The lift waits for another administrator's approval (see /approvals); nothing was done yet"),
    (status = 403, body = ErrorBody, description = "not allowed"),
    (status = 409, body = ErrorBody, description = "conflict"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_reason or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn lift_case_hold(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<HoldBody>,
) -> ApiResult<Response> {
    case_hold(st, s, case, body, false).await
}

/// `PUT /api/v1/offices/{office}/hold` (step-up): a hold on every case of the office.
#[utoipa::path(put, path = "/api/v1/offices/{office}/hold", params(OfficePath), request_body = HoldBody, responses(
    (status = 204, description = "Held"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_reason or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn hold_office(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<HoldBody>,
) -> ApiResult<Response> {
    office_hold(st, s, office, body, true).await
}

/// `DELETE /api/v1/offices/{office}/hold` (step-up).
#[utoipa::path(delete, path = "/api/v1/offices/{office}/hold", params(OfficePath), request_body = HoldBody, responses(
    (status = 204, description = "Lifted"),
    (status = 202, body = ApprovalTicket, description = "The lift waits for another administrator's approval (see /approvals); nothing was done yet"),
    (status = 403, body = ErrorBody, description = "not allowed"),
    (status = 409, body = ErrorBody, description = "conflict"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_reason or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn lift_office_hold(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<HoldBody>,
) -> ApiResult<Response> {
    office_hold(st, s, office, body, false).await
}

/// `POST /api/v1/cases/{case}/purge` (step-up): crypto-shreds the case; afterwards it
/// answers 404 like one that never existed.
#[utoipa::path(post, path = "/api/v1/cases/{case}/purge", params(CasePath), request_body = StepUpBody, responses(
    (status = 200, body = PurgeReport),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "legal_hold")))]
pub(super) async fn purge_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<PurgeReport>> {
    let step = StepUp::if_stale(body.totp);
    Ok(Json(st.vault.purge_case(&s.actor, &case, step).await?))
}

/// `POST /api/v1/cases/{case}/documents/{doc}/purge` (step-up): crypto-shreds one document.
#[utoipa::path(post, path = "/api/v1/cases/{case}/documents/{doc}/purge", params(DocPath), request_body = StepUpBody, responses(
    (status = 200, body = PurgeReport),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "legal_hold")))]
pub(super) async fn purge_document(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(DocPath { case, doc }): PathParams<DocPath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<PurgeReport>> {
    let step = StepUp::if_stale(body.totp);
    Ok(Json(
        st.vault.purge_document(&s.actor, &case, &doc, step).await?,
    ))
}

/// `POST /api/v1/offices/{office}/purge` (step-up): crypto-shreds the whole office.
#[utoipa::path(post, path = "/api/v1/offices/{office}/purge", params(OfficePath), request_body = StepUpBody, responses(
    (status = 200, body = PurgeReport),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 202, body = ApprovalTicket, description = "The purge waits for another administrator's approval (see /approvals); nothing was done yet"),
    (status = 409, body = ErrorBody, description = "legal_hold")))]
pub(super) async fn purge_office(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Response> {
    let step = StepUp::if_stale(body.totp);
    Ok(
        match st.vault.purge_office(&s.actor, &office, step).await? {
            Decided::Done(r) => Json(r).into_response(),
            Decided::Pending(t) => (StatusCode::ACCEPTED, Json(t)).into_response(),
        },
    )
}

/// `POST /api/v1/cases/{case}/close`: closes the case; retention counts from now.
#[utoipa::path(post, path = "/api/v1/cases/{case}/close", params(CasePath), responses(
    (status = 204, description = "Closed: retention counts from now")))]
pub(super) async fn close_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
) -> ApiResult<StatusCode> {
    st.vault.close_case(&s.actor, &case).await?;
    Ok(StatusCode::NO_CONTENT)
}
