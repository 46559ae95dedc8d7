//! Limits on a request's head, checked before anything else looks at the request: a
//! path and query longer than [`MAX_URI`] answer 414, and headers above
//! [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`] fields answer 431 — in the API's JSON error
//! under `/api/` and in plain words elsewhere. hyper's own limits (the HTTP/1.1 buffer
//! and the HTTP/2 header list in `app/connection.rs`) sit above these, so a head that
//! is too big gets an answer that says why; only one too big even for hyper gets
//! hyper's empty one.
//!
//! Invariant: nothing of a refused request is read, decided, audited or logged.
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The longest path and query accepted, in bytes.
pub const MAX_URI: usize = 8 * 1024;

/// The most header bytes accepted (each field counted as `name: value` and its line
/// end, as HTTP/1.1 sends it).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most header fields accepted (below hyper's HTTP/1.1 default of 100).
pub const MAX_HEADERS: usize = 64;

/// Why a head was refused.
#[derive(Debug, PartialEq, Eq)]
enum TooBig {
    Uri,
    Headers,
}

fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), TooBig> {
    if uri.path_and_query().map_or(0, |p| p.as_str().len()) > MAX_URI {
        return Err(TooBig::Uri);
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(TooBig::Headers);
    }
    Ok(())
}

/// The middleware: the outermost check on every request.
pub async fn limit_request_head(req: Request, next: Next) -> Response {
    let Err(too_big) = check(req.uri(), req.headers()) else {
        return next.run(req).await;
    };
    let api = req.uri().path().starts_with("/api/");
    let (status, code, message) = match too_big {
        TooBig::Uri => (
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "the path and query may have at most 8 KiB",
        ),
        TooBig::Headers => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "the request headers may have at most 16 KiB in 64 fields",
        ),
    };
    if api {
        let body = serde_json::json!({"error": {"code": code, "message": message}});
        return (status, axum::Json(body)).into_response();
    }
    let mut resp = (status, format!("{message}.\n")).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path and query of exactly `len` bytes.
    fn uri(len: usize) -> Uri {
        let prefix = "/api/v1/cases?a_number=";
        let u: Uri = format!("{prefix}{}", "1".repeat(len - prefix.len()))
            .parse()
            .unwrap();
        assert_eq!(u.path_and_query().unwrap().as_str().len(), len);
        u
    }

    #[test]
    fn the_limits_are_where_they_say() {
        let none = HeaderMap::new();
        assert_eq!(check(&uri(MAX_URI), &none), Ok(()));
        assert_eq!(check(&uri(MAX_URI + 1), &none), Err(TooBig::Uri));

        // One field of exactly the limit passes; a byte more does not.
        let mut h = HeaderMap::new();
        let value = "x".repeat(MAX_HEADER_BYTES - "cookie".len() - 4);
        h.insert(header::COOKIE, value.parse().unwrap());
        assert_eq!(check(&uri(100), &h), Ok(()));
        h.insert(header::COOKIE, format!("{value}x").parse().unwrap());
        assert_eq!(check(&uri(100), &h), Err(TooBig::Headers));

        let mut h = HeaderMap::new();
        for _ in 0..MAX_HEADERS {
            h.append("x-a", HeaderValue::from_static("1"));
        }
        assert_eq!(check(&uri(100), &h), Ok(()));
        h.append("x-a", HeaderValue::from_static("1"));
        assert_eq!(check(&uri(100), &h), Err(TooBig::Headers));
    }
}
