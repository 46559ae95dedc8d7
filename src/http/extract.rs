//! Extractors: the session (a handler that takes [`Session`] cannot run signed out),
//! and a JSON body reader with a size limit and error messages that never echo values.
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::edge::AppState;
use crate::edge::cookie::session_token;
use crate::vault::{SessionInfo, VaultError};

/// The largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A signed-in session that has its second factor in order.
pub struct Session(pub SessionInfo);

/// A signed-in session that may still have to enrol TOTP (enrolment routes only).
pub struct EnrollingSession(pub SessionInfo);

async fn resolve(parts: &Parts, state: &AppState) -> Result<SessionInfo, ApiError> {
    let token = session_token(&parts.headers).ok_or(VaultError::Unauthenticated)?;
    let vault = state.vault.clone();
    Ok(vault.session(&token).await?)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = resolve(parts, state).await?;
        if s.must_add_passkey {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "passkey_enrolment_required",
                "your role signs in with a passkey: add one first (POST /api/v1/me/passkeys/register/start, then …/finish)",
            ));
        }
        if s.must_enrol {
            return Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "totp_enrolment_required",
                "set up your authenticator app first: POST /api/v1/totp/enrol, then /api/v1/totp/confirm",
            ));
        }
        Ok(Session(s))
    }
}

impl FromRequestParts<AppState> for EnrollingSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(EnrollingSession(resolve(parts, state).await?))
    }
}

/// A JSON body: at most [`JSON_LIMIT`] bytes, `application/json`, unknown fields
/// refused by the target types. An empty body (with the JSON content type) reads as
/// `{}` when `T` allows it.
pub struct JsonBody<T>(pub T);

/// Describes a serde error without echoing any value from the input.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof => format!("the body is not valid JSON ({at})"),
        Category::Io => "the body could not be read".into(),
        Category::Data => {
            let msg = e.to_string();
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                if let Some(name) = rest.split('`').next()
                    && name.len() <= 40
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return format!("unknown field \"{name}\" ({at})");
                }
                return format!("unknown field ({at})");
            }
            if let Some(rest) = msg.strip_prefix("missing field `")
                && let Some(name) = rest.split('`').next()
            {
                return format!("missing field \"{name}\"");
            }
            format!("a field has the wrong type or value ({at})")
        }
    }
}

/// Whether reading a body failed because it was longer than the limit (rather than
/// because it stopped arriving).
fn over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        // The content type is checked before the body is read, for an empty body too: a form or
        // `text/plain` post from another site must never read as `{}`.
        if ct.as_deref() != Some("application/json") {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), JSON_LIMIT)
            .await
            .map_err(|e| {
                if over_limit(&e) {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        format!("a JSON body may have at most {JSON_LIMIT} bytes"),
                    )
                } else {
                    // The client stopped sending (or the connection failed) mid-body.
                    ApiError::bad("incomplete_body", "the request body did not arrive whole")
                }
            })?;
        let bytes = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            bytes::Bytes::from_static(b"{}")
        } else {
            bytes
        };
        // Every body is an object: serde would read an array as the fields in order,
        // which no route documents.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad(
                "invalid_json",
                "the body must be a JSON object ({…})",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad("invalid_json", describe(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    // Only used to make deserialization fail; the field is never read.
    #[allow(dead_code)]
    struct T {
        password: u32,
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_told_from_one_that_stopped() {
        let long = axum::body::Body::from(vec![b'x'; 100]);
        let e = axum::body::to_bytes(long, 10).await.unwrap_err();
        assert!(over_limit(&e));
        let broken = axum::body::Body::from_stream(futures_util::stream::iter([
            Ok(bytes::Bytes::from_static(b"{")),
            Err(std::io::Error::other("stopped")),
        ]));
        let e = axum::body::to_bytes(broken, 10).await.unwrap_err();
        assert!(!over_limit(&e));
    }

    #[test]
    fn messages_never_echo_values() {
        let e = serde_json::from_str::<T>(r#"{"password":"hunter2-secret"}"#).unwrap_err();
        assert!(!describe(&e).contains("hunter2"), "{}", describe(&e));
        let e = serde_json::from_str::<T>(r#"{"hunter2":1}"#).unwrap_err();
        assert!(describe(&e).contains("unknown field"));
        let e = serde_json::from_str::<T>(r#"{"password":"#).unwrap_err();
        assert!(describe(&e).starts_with("the body is not valid JSON"));
    }
}
