//! Cases: list and search, create, read, the document list, shares and assignments.
//! Uploads and downloads are in `transfer.rs`; holds, closing and purge in `admin.rs`.
//!
//! Invariant: a case id goes to the vault as the client sent it, and a case that is
//! missing and one the actor may not see get the same answer (the vault decides which
//! and says 404 for both).
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::StepUpBody;
use super::extract::{JsonBody, Session};
use super::{ApiError, ApiResult, AppState};
use crate::vault::{CaseInput, CasePage, CaseView, DocumentPage, PageQuery, StepUp};

/// `?a_number=` or `?client_name=` (blind-index searches; one at a time), and the page.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseQuery {
    /// A-number in any usual spelling (`A012345678`, `012-345-678`, 8 digits).
    a_number: Option<String>,
    /// Client name; compared ignoring case and extra spaces.
    client_name: Option<String>,
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The previous page's `next_after` (a case id).
    after: Option<String>,
}

/// `?limit=&after=` on a document list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct PageParams {
    /// Page size: 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The previous page's `next_after` (a document id).
    after: Option<String>,
}

/// `GET /api/v1/cases`.
#[utoipa::path(get, path = "/api/v1/cases", params(CaseQuery), responses((status = 200, body = CasePage)))]
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
    office: String,
    client_name: String,
    a_number: Option<String>,
    date_of_birth: Option<String>,
    country_of_birth: Option<String>,
    notes: Option<String>,
}

/// An id.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct IdAnswer {
    id: String,
}

/// `POST /api/v1/cases`.
#[utoipa::path(post, path = "/api/v1/cases", request_body = CaseInputDoc, responses((status = 201, body = IdAnswer)))]
pub(super) async fn create_case(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<CaseInput>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let id = st.vault.create_case(&s.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })))
}

/// `GET /api/v1/cases/{case}`.
#[utoipa::path(get, path = "/api/v1/cases/{case}", responses(
    (status = 200, body = CaseView), (status = 404, body = super::error::ErrorBody), (status = 423, body = super::error::ErrorBody)))]
pub(super) async fn get_case(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
) -> ApiResult<Json<CaseView>> {
    Ok(Json(st.vault.get_case(&s.actor, &case).await?))
}

/// `GET /api/v1/cases/{case}/documents`.
#[utoipa::path(get, path = "/api/v1/cases/{case}/documents", params(PageParams), responses((status = 200, body = DocumentPage)))]
pub(super) async fn list_documents(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<DocumentPage>> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "the query parameters are limit (1 to 500) and after",
        )
    })?;
    let page = PageQuery {
        limit: q.limit,
        after: q.after,
    };
    Ok(Json(st.vault.list_documents(&s.actor, &case, &page).await?))
}

/// A share.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShareBody {
    username: String,
    permission: String,
    expires_at: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// `POST /api/v1/cases/{case}/shares` (step-up).
#[utoipa::path(post, path = "/api/v1/cases/{case}/shares", request_body = ShareBody, responses((status = 201, body = IdAnswer)))]
pub(super) async fn create_share(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
    JsonBody(body): JsonBody<ShareBody>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let step = StepUp::if_stale(body.totp);
    let id = st
        .vault
        .share_case(
            &s.actor,
            &case,
            &body.username,
            &body.permission,
            &body.expires_at,
            step,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })))
}

/// `DELETE /api/v1/cases/{case}/shares/{share}`.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/shares/{share}", responses((status = 204)))]
pub(super) async fn revoke_share(
    State(st): State<AppState>,
    Session(s): Session,
    Path((case, share)): Path<(String, String)>,
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
    user_id: String,
}

/// `POST /api/v1/cases/{case}/assignments` (office admin).
#[utoipa::path(post, path = "/api/v1/cases/{case}/assignments", request_body = AssignBody, responses((status = 204)))]
pub(super) async fn assign_case(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<StatusCode> {
    st.vault.assign_case(&s.actor, &case, &body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
