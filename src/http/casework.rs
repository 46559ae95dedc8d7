//! Casework: editing a case's details (with versions and `If-Match`), notes, events,
//! "Coming up", and renaming a document. Shredding a wrong upload is the existing
//! document purge route (`admin.rs`), now decided by policy rule 22.
//!
//! Invariant: as everywhere, ids go to the vault as sent and a case the caller may not
//! see answers like a missing one; an edit that names the version it saw (`If-Match`
//! or `"version"`, as the pages always do) is stored only if that is still the current
//! version, so two editors never silently overwrite each other.
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::cases::{IdAnswer, PageParams, page_query};
use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{CasePath, DocPath, PathParams};
use super::{ApiError, ApiResult, AppState};
use crate::vault::{
    CasePatch, CaseVersions, EventInput, EventList, NoteInput, NoteList, RenameInput, Upcoming,
    UpcomingQuery,
};
use axum::extract::rejection::QueryRejection;

/// The version an `If-Match` header names: `"3"`, `W/"3"` or `3`. `Err` for a header
/// that is there but names no version.
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad(
            "invalid_version",
            "If-Match must name a version of the case, e.g. If-Match: \"3\" (the ETag of GET /api/v1/cases/{case})",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    let s = s
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s);
    match s.parse::<i64>() {
        Ok(n) if n >= 1 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(bad()),
    }
}

/// The ETag of a case version.
pub(super) fn etag(version: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{version}\"")).ok()
}

/// The fields of a change to a case's details (any subset; `null` clears an optional
/// field), and the version being changed unless `If-Match` names it.
// The request-body schema of `edit_case`: the handler reads `vault::CasePatch`.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct CasePatchDoc {
    #[schema(min_length = 1, max_length = 200)]
    client_name: Option<String>,
    /// 8 or 9 digits, optionally after an `A`; `null` clears it.
    a_number: Option<String>,
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    #[schema(max_length = 100)]
    country_of_birth: Option<String>,
    #[schema(max_length = 20000)]
    notes: Option<String>,
    /// The version being changed (the case's `version`), if no `If-Match` header.
    #[schema(minimum = 1)]
    version: Option<i64>,
}

/// The new version.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct VersionAnswer {
    /// The details' version now (unchanged when the edit changed nothing).
    version: i64,
}

/// `PATCH /api/v1/cases/{case}`: changes the client's details.
#[utoipa::path(patch, path = "/api/v1/cases/{case}", params(CasePath,
    ("If-Match" = Option<String>, Header, description = "The version being changed, as GET gave it in ETag (e.g. \"3\"); or \"version\" in the body. Without either the change applies to the current details")),
    request_body = CasePatchDoc, responses(
    (status = 200, body = VersionAnswer, headers(("ETag" = String, description = "The new version"))),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field, invalid_a_number or invalid_version"),
    (status = 409, body = ErrorBody, description = "edit_conflict: the case changed since that version; nothing was saved"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn edit_case(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CasePatch>,
) -> ApiResult<Response> {
    // A version below 1 never existed: it is bad input, not an edit conflict (409
    // would tell the editor someone else changed the case).
    if body.version.is_some_and(|v| v < 1) {
        return Err(ApiError::bad(
            "invalid_version",
            "\"version\" must name a version of the case (1 or more), as GET /api/v1/cases/{case} gave it",
        ));
    }
    let expected = match (if_match(&headers)?, body.version) {
        (Some(h), Some(b)) if h != b => {
            return Err(ApiError::bad(
                "invalid_version",
                "If-Match and \"version\" name different versions",
            ));
        }
        (Some(v), _) | (None, Some(v)) => Some(v),
        // No version named: the change applies to the details as they are now (the
        // pages always name the version their form showed).
        (None, None) => None,
    };
    let version = st.vault.edit_case(&s.actor, &case, &body, expected).await?;
    let mut resp = Json(VersionAnswer { version }).into_response();
    if let Some(v) = etag(version) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// `GET /api/v1/cases/{case}/versions`: the versions of the details, newest first,
/// a page at a time (`after` is the last version number of the previous page).
#[utoipa::path(get, path = "/api/v1/cases/{case}/versions", params(CasePath, PageParams), responses(
    (status = 200, body = CaseVersions),
    (status = 400, body = ErrorBody, description = "invalid_query (a limit outside 1..=500) or invalid_cursor"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn case_versions(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    q: Result<Query<PageParams>, QueryRejection>,
) -> ApiResult<Json<CaseVersions>> {
    let page = page_query(q)?;
    Ok(Json(st.vault.case_versions(&s.actor, &case, &page).await?))
}

/// A new note.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct NoteInputDoc {
    #[schema(min_length = 1, max_length = 20000)]
    text: String,
    /// The id of an earlier note of this case that this one corrects.
    #[schema(format = Uuid)]
    corrects: Option<String>,
}

/// `POST /api/v1/cases/{case}/notes`.
#[utoipa::path(post, path = "/api/v1/cases/{case}/notes", params(CasePath), request_body = NoteInputDoc, responses(
    (status = 201, body = IdAnswer),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field or unknown_note")))]
pub(super) async fn add_note(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<NoteInput>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let id = st.vault.add_note(&s.actor, &case, &body).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer::new(id))))
}

/// `GET /api/v1/cases/{case}/notes`: newest first, a page at a time (a page of long
/// notes ends early: follow `next_after`).
#[utoipa::path(get, path = "/api/v1/cases/{case}/notes", params(CasePath, PageParams), responses(
    (status = 200, body = NoteList),
    (status = 400, body = ErrorBody, description = "invalid_query (a limit outside 1..=500) or invalid_cursor"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn list_notes(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    q: Result<Query<PageParams>, QueryRejection>,
) -> ApiResult<Json<NoteList>> {
    let page = page_query(q)?;
    Ok(Json(st.vault.list_notes(&s.actor, &case, &page).await?))
}

/// The kinds of event (the document's name for the values; the body carries a string).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum EventKind {
    Hearing,
    Deadline,
    Appointment,
    Other,
}

/// A new event.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct EventInputDoc {
    #[schema(value_type = EventKind)]
    kind: String,
    #[schema(format = Date)]
    date: String,
    /// `HH:MM`, 24-hour.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    time: Option<String>,
    #[schema(max_length = 300)]
    place: Option<String>,
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// The id of an earlier event of this case that this one replaces.
    #[schema(format = Uuid)]
    replaces: Option<String>,
}

/// `POST /api/v1/cases/{case}/events`.
#[utoipa::path(post, path = "/api/v1/cases/{case}/events", params(CasePath), request_body = EventInputDoc, responses(
    (status = 201, body = IdAnswer),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field or unknown_event")))]
pub(super) async fn add_event(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    JsonBody(body): JsonBody<EventInput>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let id = st.vault.add_event(&s.actor, &case, &body).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer::new(id))))
}

/// `GET /api/v1/cases/{case}/events`: a page at a time in the order they were added,
/// each page by date, earliest first.
#[utoipa::path(get, path = "/api/v1/cases/{case}/events", params(CasePath, PageParams), responses(
    (status = 200, body = EventList),
    (status = 400, body = ErrorBody, description = "invalid_query (a limit outside 1..=500) or invalid_cursor"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn list_events(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    q: Result<Query<PageParams>, QueryRejection>,
) -> ApiResult<Json<EventList>> {
    let page = page_query(q)?;
    Ok(Json(st.vault.list_events(&s.actor, &case, &page).await?))
}

/// `?from=&days=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct UpcomingParams {
    /// First day, `YYYY-MM-DD`; today (UTC) by default.
    #[param(format = Date)]
    from: Option<String>,
    /// How many days: 1 to 366, default 30.
    #[param(minimum = 1, maximum = 366)]
    days: Option<u32>,
}

/// The vault's query from the parameters.
fn upcoming_query(
    q: Result<Query<UpcomingParams>, axum::extract::rejection::QueryRejection>,
) -> Result<UpcomingQuery, ApiError> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "the query parameters are from (YYYY-MM-DD) and days (1 to 366)",
        )
    })?;
    Ok(UpcomingQuery {
        from: q.from,
        days: q.days,
    })
}

/// `GET /api/v1/upcoming`: the caller's hearings, deadlines and appointments of the
/// next days (their cases; a supervisor's office; a partner's shares with notes).
#[utoipa::path(get, path = "/api/v1/upcoming", params(UpcomingParams), responses(
    (status = 200, body = Upcoming),
    (status = 400, body = ErrorBody, description = "invalid_query")))]
pub(super) async fn upcoming(
    State(st): State<AppState>,
    Session(s): Session,
    q: Result<Query<UpcomingParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Upcoming>> {
    let q = upcoming_query(q)?;
    Ok(Json(st.vault.upcoming(&s.actor, &q, None).await?))
}

/// A rename.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct RenameDoc {
    /// 1 to 255 bytes, no slashes or control characters.
    #[schema(min_length = 1, max_length = 255)]
    filename: String,
}

/// `PATCH /api/v1/cases/{case}/documents/{doc}`: renames a document.
#[utoipa::path(patch, path = "/api/v1/cases/{case}/documents/{doc}", params(DocPath), request_body = RenameDoc, responses(
    (status = 204, description = "Renamed"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_filename"),
    (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn rename_document(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(DocPath { case, doc }): PathParams<DocPath>,
    JsonBody(body): JsonBody<RenameInput>,
) -> ApiResult<StatusCode> {
    st.vault
        .rename_document(&s.actor, &case, &doc, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
