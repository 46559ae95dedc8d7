//! Client upload links of a case: make one (its URL answered once), list them, revoke
//! one. The client's own page (`/u/TOKEN`) is a page of `web/`, not of the API.
//!
//! Invariant: the token leaves the server once, in the 201 answer to the one who made
//! the link; no other answer, log line or error carries it.
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{CasePath, PathParams};
use super::passkeys::Empty;
use super::{ApiResult, AppState};
use crate::vault::{LinkInput, LinkView};

/// A new link (every field optional).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkBody {
    /// Days the link works: 1 to 30 (default 7).
    #[schema(minimum = 1, maximum = 30)]
    expires_in_days: Option<i64>,
    /// Files it lets in at most: 1 to 50 (default 10).
    #[schema(minimum = 1, maximum = 50)]
    max_files: Option<i64>,
    /// The language of the client's page (default `en`).
    #[schema(value_type = Option<LinkLanguage>)]
    language: Option<String>,
}

/// The languages of the client's page (the document's name for the values the vault
/// accepts; the body carries a string).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum LinkLanguage {
    /// English.
    En,
    /// Spanish.
    Es,
}

/// A link just made: its URL is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LinkAnswer {
    #[schema(format = Uuid)]
    id: String,
    /// The address to send the client (`https://HOST/u/TOKEN`); never shown again.
    url: String,
    /// RFC 3339: the link stops working then.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// A case's links.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LinkList {
    /// Newest first; never a token.
    links: Vec<LinkView>,
}

/// `{case}` and `{link}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct LinkPath {
    /// The case's id (a UUID).
    #[param(format = Uuid)]
    case: String,
    /// The link's id (a UUID).
    #[param(format = Uuid)]
    link: String,
}

/// A number the vault then checks (out of range reads as out of range, never as a
/// different number).
fn small(n: Option<i64>) -> Option<u32> {
    n.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// `POST /api/v1/cases/{case}/upload-links`.
#[utoipa::path(post, path = "/api/v1/cases/{case}/upload-links", params(CasePath), request_body = LinkBody, responses(
    (status = 201, body = LinkAnswer, description = "A new link; its URL is shown this once"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_days, invalid_max_files or invalid_language")))]
pub(super) async fn make(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    JsonBody(body): JsonBody<LinkBody>,
) -> ApiResult<(StatusCode, Json<LinkAnswer>)> {
    let input = LinkInput {
        expires_in_days: small(body.expires_in_days),
        max_files: small(body.max_files),
        language: body.language,
    };
    let made = st.vault.make_upload_link(&s.actor, &case, input).await?;
    let base = crate::edge::public_base(&st.vault, &headers, &uri);
    Ok((
        StatusCode::CREATED,
        Json(LinkAnswer {
            url: format!("{base}/u/{}", made.token.as_str()),
            id: made.id,
            expires_at: made.expires_at,
        }),
    ))
}

/// `GET /api/v1/cases/{case}/upload-links`.
#[utoipa::path(get, path = "/api/v1/cases/{case}/upload-links", params(CasePath), responses(
    (status = 200, body = LinkList, description = "The case's links, newest first")))]
pub(super) async fn list(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
) -> ApiResult<Json<LinkList>> {
    let links = st.vault.list_upload_links(&s.actor, &case).await?;
    Ok(Json(LinkList { links }))
}

/// `DELETE /api/v1/cases/{case}/upload-links/{link}`.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/upload-links/{link}", params(LinkPath), request_body = Empty, responses(
    (status = 204, description = "Revoked: the link works no more"),
    (status = 400, body = ErrorBody, description = "invalid_json")))]
pub(super) async fn revoke(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(LinkPath { case, link }): PathParams<LinkPath>,
    JsonBody(_): JsonBody<Empty>,
) -> ApiResult<StatusCode> {
    st.vault.revoke_upload_link(&s.actor, &case, &link).await?;
    Ok(StatusCode::NO_CONTENT)
}
