//! The HTTP API under `/api/v1` (described by `/api/v1/openapi.json`): thin handlers
//! that parse, call `vault/` off the async executor, and map errors in one place
//! (`error.rs`). No SQL, no policy here. This module also assembles the whole router:
//! the API, `/healthz` and the pages of `web/`.
//!
//! Invariants: every response carries the security headers below (and `no-store`
//! unless a handler chose otherwise); the request log names the route template, never
//! the concrete path or query.
mod admin;
mod approvals;
mod auth;
mod cases;
mod casework;
mod error;
mod extract;
mod holder_passkeys;
mod holders;
mod me;
mod offices;
mod openapi;
mod params;
mod passkeys;
mod routes;
mod transfer;
mod upload_links;
mod users;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use error::ApiError;
pub use extract::{EnrollingSession, JsonBody, Session};

pub(crate) use crate::edge::AppState;

/// What a handler returns; the error becomes a response in `error.rs` alone.
type ApiResult<T> = Result<T, ApiError>;

/// Security headers on every response.
async fn security_headers(req: axum::extract::Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        );
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    resp
}

/// Logs each request at debug level: method, the route *template* (never the
/// concrete path or query, which can carry ids, filenames or A-numbers) and status.
async fn request_log(req: axum::extract::Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "-".into());
    let resp = next.run(req).await;
    tracing::debug!(%method, %route, status = resp.status().as_u16(), "request");
    resp
}

/// The API's routes: everything under `/api/v1`, and `/healthz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .nest("/api/v1", routes::api())
        .merge(routes::root())
}

/// The layers every response passes through (API and pages alike): security
/// headers and the request log. `app.rs` puts them around the whole router.
pub fn layers(router: Router) -> Router {
    router
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(request_log))
}
