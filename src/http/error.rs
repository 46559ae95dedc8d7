//! The API's error responses. The status and code come from `edge::status::of` (which
//! the pages use too); this adds the API's words. Bodies are always
//! `{"error":{"code","message"}}`; an internal error answers a generic message with a
//! request id and the detail goes to the log (ids only), never to the client.
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::vault::VaultError;

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
/// The error envelope.
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
/// Code and message.
pub struct ErrorDetail {
    /// Machine-readable snake_case code.
    #[schema(pattern = "^[a-z][a-z0-9_]*$")]
    pub code: String,
    /// Human-readable message (never a secret or a plaintext).
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// 405: the path exists but does not take this method (axum adds `Allow`).
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not take that method; the Allow header lists the ones it takes",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds until retry, for 429.
    pub fn retry_after(&self) -> Option<i64> {
        self.retry_after
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        let (status, code) = crate::edge::status::of(&e);
        let message = match e {
            VaultError::Forbidden => "you are not allowed to do that".to_string(),
            VaultError::StepUpRequired => "this action needs a fresh code from your authenticator: repeat it with \"totp\" in the body".to_string(),
            VaultError::OfficeSealed(o) => format!(
                "office {o} is sealed; an administrator of {o} must unseal it before its cases can be read"
            ),
            VaultError::Unauthenticated => "sign in first (or again: your session ended)".to_string(),
            VaultError::TotpRequired => "enter the 6-digit code from your authenticator app".to_string(),
            VaultError::PasskeyRequired => "this account signs in with its passkey (POST /api/v1/login/passkey/start, then …/finish); a password and code are not enough for its role".to_string(),
            VaultError::Busy(secs) => {
                return ApiError {
                    status,
                    code,
                    message: format!("too many passkey requests are waiting on this server; try again in {secs} seconds"),
                    retry_after: Some(secs),
                };
            }
            VaultError::NetworkThrottled(secs) => {
                return ApiError {
                    status,
                    code,
                    message: format!("too many failed sign-ins from your network (many accounts tried); every sign-in from it waits {secs} seconds, except from a browser that signed in before"),
                    retry_after: Some(secs),
                };
            }
            VaultError::Throttled(secs) => {
                return ApiError {
                    status,
                    code,
                    message: format!("too many failed attempts on this account; this account waits {secs} seconds (other accounts are not affected)"),
                    retry_after: Some(secs),
                };
            }
            VaultError::StoreUnavailable(detail) => {
                tracing::warn!(error = %detail, "blob store unavailable; the request was refused with 503");
                return ApiError {
                    status,
                    code,
                    message: VaultError::StoreUnavailable(String::new()).to_string(),
                    retry_after: Some(30),
                };
            }
            VaultError::Internal(detail) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(request_id = %id, error = %detail, "internal error");
                format!("something went wrong on the server (request {id}); nothing was changed")
            }
            // The rest say what they mean in their own fixed words.
            other => other.to_string(),
        };
        ApiError {
            status,
            code,
            message,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
