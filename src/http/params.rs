//! The parameters in an API path: one type per shape of path, which both extracts the
//! values and describes them in the OpenAPI document (so the two cannot disagree).
//!
//! Invariant: a path whose parameters cannot be read (a segment that is not UTF-8 once
//! percent-decoded) answers the API's JSON 404, like an id that names nothing; the
//! value goes nowhere else, neither to the vault nor to a log.
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The path's parameters, or the API's 404.
pub(super) struct PathParams<T>(pub(super) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(PathParams(t)),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}

/// `{case}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct CasePath {
    /// The case's id (a UUID). Any other value, and a case the caller may not see,
    /// answers 404.
    #[param(format = Uuid)]
    pub(super) case: String,
}

/// `{case}` and `{doc}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct DocPath {
    /// The case's id (a UUID).
    #[param(format = Uuid)]
    pub(super) case: String,
    /// The document's id (a UUID).
    #[param(format = Uuid)]
    pub(super) doc: String,
}

/// `{case}` and `{share}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct SharePath {
    /// The case's id (a UUID).
    #[param(format = Uuid)]
    pub(super) case: String,
    /// The share's id (a UUID).
    #[param(format = Uuid)]
    pub(super) share: String,
}

/// `{office}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct OfficePath {
    /// The office's slug: 2 to 32 of `a-z`, `0-9` and `-`, starting with a letter.
    #[param(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    pub(super) office: String,
}

/// `{user}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct UserPath {
    /// The account's id (a UUID).
    #[param(format = Uuid)]
    pub(super) user: String,
}
