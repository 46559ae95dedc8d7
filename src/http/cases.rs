//! Cases: list and search, create, read, the document list, shares and assignments.
//! Uploads and downloads are in `transfer.rs`; holds, closing and purge in `admin.rs`.
//!
//! Invariant: a case id goes to the vault as the client sent it, and a case that is
//! missing and one the actor may not see get the same answer (the vault decides which
//! and says 404 for both).
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::StepUpBody;
use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{CasePath, PathParams, SharePath};
use super::{ApiError, ApiResult, AppState};
use crate::vault::{CaseInput, CasePage, CaseView, DocumentPage, PageQuery, StepUp};

/// `?a_number=` or `?client_name=` (blind-index searches; one at a time), and the page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseQuery {
    /// A-number in any usual spelling (`A012345678`, `012-345-678`, 8 digits).
    a_number: Option<String>,
    /// Any words of the client's name, in any order (at most 12): finds the cases whose
    /// name holds every one of them as a whole word, ignoring case and accents
    /// ("hernandez" finds "José Hernández Ruiz"; "Hern" does not).
    client_name: Option<String>,
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The previous page's `next_after` (a case id).
    after: Option<String>,
}

/// `?limit=&after=` on a list of a case's documents, notes, events or versions.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct PageParams {
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The previous page's `next_after`.
    after: Option<String>,
}

/// The page a list's query asks for; a query that does not parse is a 400.
pub(super) fn page_query(
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<PageQuery, ApiError> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "the query parameters are limit (1 to 500) and after",
        )
    })?;
    Ok(PageQuery {
        limit: q.limit,
        after: q.after,
        bytes: None,
    })
}

/// `GET /api/v1/cases`.
#[utoipa::path(get, path = "/api/v1/cases", params(CaseQuery), responses(
    (status = 200, body = CasePage),
    (status = 400, body = ErrorBody, description = "invalid_query (an unknown parameter, both searches at once, a limit outside 1..=500), invalid_a_number, invalid_field (a client_name with no word, or more than 12) or invalid_cursor (a cursor that names no case of the caller's list)"),
    (status = 423, body = ErrorBody, description = "office_sealed (a search needs the office's index key)")))]
pub(super) async fn list_cases(
    State(st): State<AppState>,
    Session(s): Session,
    q: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CasePage>> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "the query parameters are a_number or client_name, and limit (1 to 500) and after",
        )
    })?;
    let page = PageQuery {
        limit: q.limit,
        after: q.after,
        bytes: None,
    };
    let cases = st
        .vault
        .search_cases(
            &s.actor,
            q.a_number.as_deref(),
            q.client_name.as_deref(),
            &page,
        )
        .await?;
    Ok(Json(cases))
}

/// New case body (see CaseInput).
// Not dead: it is the request-body schema of `create_case` in the OpenAPI document. The
// handler deserializes into `vault::CaseInput`, which has no `ToSchema`, so nothing
// reads these fields; hence the `dead_code` allowance.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct CaseInputDoc {
    /// The office's slug.
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: String,
    /// The client's name (not blank).
    #[schema(min_length = 1, max_length = 200)]
    client_name: String,
    /// A-number: 8 or 9 digits, optionally after an `A`, in any usual spelling.
    a_number: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    #[schema(max_length = 100)]
    country_of_birth: Option<String>,
    #[schema(max_length = 20000)]
    notes: Option<String>,
}

/// An id.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct IdAnswer {
    #[schema(format = Uuid)]
    id: String,
}

impl IdAnswer {
    pub(super) fn new(id: String) -> Self {
        IdAnswer { id }
    }
}

/// `POST /api/v1/cases`.
#[utoipa::path(post, path = "/api/v1/cases", request_body = CaseInputDoc, responses(
    (status = 201, body = IdAnswer),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field or invalid_a_number"),
    (status = 404, body = ErrorBody, description = "no such office, or not one the caller may open cases in")))]
pub(super) async fn create_case(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<CaseInput>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let id = st.vault.create_case(&s.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })))
}

/// `GET /api/v1/cases/{case}`.
#[utoipa::path(get, path = "/api/v1/cases/{case}", params(CasePath), responses(
    (status = 200, body = CaseView, headers(("ETag" = String, description = "The version of the details, for If-Match on PATCH"))),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn get_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let view = st.vault.get_case(&s.actor, &case).await?;
    let tag = super::casework::etag(view.version);
    let mut resp = Json(view).into_response();
    if let Some(v) = tag {
        resp.headers_mut().insert(axum::http::header::ETAG, v);
    }
    Ok(resp)
}

/// `GET /api/v1/cases/{case}/documents`.
#[utoipa::path(get, path = "/api/v1/cases/{case}/documents", params(CasePath, PageParams), responses(
    (status = 200, body = DocumentPage),
    (status = 400, body = ErrorBody, description = "invalid_query (a limit outside 1..=500) or invalid_cursor"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn list_documents(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<DocumentPage>> {
    let page = page_query(q)?;
    Ok(Json(st.vault.list_documents(&s.actor, &case, &page).await?))
}

/// A share.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShareBody {
    /// The partner's username.
    username: String,
    /// What the partner may do.
    #[schema(value_type = Permission)]
    permission: String,
    /// When the share ends: an RFC 3339 time in the future.
    #[schema(format = DateTime)]
    expires_at: String,
    /// Whether the partner also sees the case's notes and events (default: no).
    #[serde(default)]
    notes: bool,
    /// A fresh authenticator code (step-up), unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// What a partner may do with a shared case (the document's name for the values
/// the vault accepts; the body carries a string).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Permission {
    /// Read the case and download its documents.
    Read,
    /// Also upload documents.
    Upload,
}

/// `POST /api/v1/cases/{case}/shares` (step-up).
#[utoipa::path(post, path = "/api/v1/cases/{case}/shares", params(CasePath), request_body = ShareBody, responses(
    (status = 201, body = IdAnswer, description = "A new share"),
    (status = 200, body = IdAnswer, description = "The partner's live share of the case, changed to what the body says (one live share per partner per case)"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_permission, invalid_time, unknown_partner or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn create_share(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<ShareBody>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let step = StepUp::if_stale(body.totp);
    let out = st
        .vault
        .share_case(
            &s.actor,
            &case,
            &crate::vault::ShareInput {
                username: body.username.clone(),
                permission: body.permission.clone(),
                expires_at: body.expires_at.clone(),
                notes: body.notes,
            },
            step,
        )
        .await?;
    let status = if out.changed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(IdAnswer { id: out.id })))
}

/// `DELETE /api/v1/cases/{case}/shares/{share}`.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/shares/{share}", params(SharePath), request_body = StepUpBody, responses(
    (status = 204, description = "Revoked"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn revoke_share(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(SharePath { case, share }): PathParams<SharePath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<StatusCode> {
    let step = StepUp::if_stale(body.totp);
    st.vault.revoke_share(&s.actor, &case, &share, step).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assignment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssignBody {
    /// The caseworker's account id.
    #[schema(format = Uuid)]
    user_id: String,
}

/// `POST /api/v1/cases/{case}/assignments` (office admin).
#[utoipa::path(post, path = "/api/v1/cases/{case}/assignments", params(CasePath), request_body = AssignBody, responses(
    (status = 204, description = "Assigned"),
    (status = 400, body = ErrorBody, description = "invalid_json or unknown_user (no caseworker of the case's office has that id)")))]
pub(super) async fn assign_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<StatusCode> {
    st.vault.assign_case(&s.actor, &case, &body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
