//! Every unsafe request (POST, PUT, PATCH, DELETE) must prove it comes from our own
//! origin or from a client that is not a browser. SameSite cookies alone do not do
//! that: a sibling subdomain is "same-site", and a cross-site `text/plain` or form POST
//! needs no preflight.
//!
//! The rule, before any body is read and before the session is looked up:
//! - `Sec-Fetch-Site`, when present, must be `same-origin` or `none` (a typed URL, a
//!   bookmark); `same-site` and `cross-site` are refused;
//! - `Origin`, when present, must name this server (its host and port equal the
//!   request's `Host`); `null` passes only with `Sec-Fetch-Site: same-origin` (what a
//!   browser sends for our own form under `Referrer-Policy: no-referrer`);
//! - a request with neither header comes from curl, the CLI or a script, and proceeds
//!   (browsers send `Origin` on every cross-origin POST);
//! - under `/api/v1`, a request that carries or expects a JSON body must say
//!   `Content-Type: application/json` (an empty body included), so a form or
//!   `text/plain` post never reaches a JSON route; the raw-body document upload is the
//!   one exception, and is covered by the origin rule.
//!
//! A refusal changes nothing and is audited once, by a fixed name.
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    CrossOrigin,
    NotJson,
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The authority (`host[:port]`) of an `Origin` value, lower-cased; `None` for
/// `null` or anything that is not `scheme://authority`.
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    // The server speaks TLS (plain HTTP only behind a TLS-terminating proxy, whose
    // pages are https too), so an `http://` origin on the same host:port is elsewhere.
    if scheme != "https" || rest.is_empty() || rest.contains(['/', '@']) {
        return None;
    }
    Some(rest.to_ascii_lowercase())
}

fn from_elsewhere(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().map(str::trim).unwrap_or(""));
    if let Some(site) = site
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    // One Origin header is what browsers send; more than one is refused outright.
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let first = origins.next();
    if origins.next().is_some() {
        return true;
    }
    if let Some(origin) = first {
        let origin = origin.to_str().unwrap_or("").trim();
        // Browsers send `Origin: null` for a same-origin form post under our
        // `Referrer-Policy: no-referrer`; then only the browser's own `Sec-Fetch-Site:
        // same-origin` vouches for it (a sandboxed frame elsewhere also says `null`).
        if origin == "null" {
            return site != Some("same-origin");
        }
        // HTTP/1.1 names the server in `Host`, HTTP/2 in the `:authority` of the URI.
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(authority)
            .map(|h| h.trim().to_ascii_lowercase());
        return match (origin_authority(origin), host) {
            (Some(o), Some(h)) => o != h,
            _ => true,
        };
    }
    false
}

/// The raw-body upload: `POST /api/v1/cases/{case}/documents`.
fn is_raw_upload(method: &Method, path: &str) -> bool {
    if *method != Method::POST {
        return false;
    }
    let mut seg = path.trim_start_matches("/api/v1/").split('/');
    matches!(
        (seg.next(), seg.next(), seg.next(), seg.next()),
        (Some("cases"), Some(_), Some("documents"), None)
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn check(
    method: &Method,
    path: &str,
    authority: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    if !unsafe_method(method) {
        return Ok(());
    }
    if from_elsewhere(headers, authority) {
        return Err(Refusal::CrossOrigin);
    }
    if path.starts_with("/api/v1/") && !is_raw_upload(method, path) && !is_json(headers) {
        return Err(Refusal::NotJson);
    }
    Ok(())
}

/// The middleware: refuses, audits and answers before anything reads the body.
pub async fn same_origin_only(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str());
    let refusal = check(req.method(), req.uri().path(), authority, req.headers());
    match refusal {
        Ok(()) => next.run(req).await,
        Err(r) => {
            let kind = match r {
                Refusal::CrossOrigin => crate::vault::Refusal::CrossOrigin,
                Refusal::NotJson => crate::vault::Refusal::NotJson,
            };
            let client = super::client_ip(
                req.extensions()
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>(),
            );
            // Counted per address like every refusal before sign-in: a flood of
            // forged posts writes a few rows that say how many there were.
            if let Err(e) = st.vault.audit_refusal(&client, kind).await {
                tracing::error!(error = %e, "audit of a refused request failed");
            }
            let (status, code, message) = match r {
                Refusal::CrossOrigin => (
                    StatusCode::FORBIDDEN,
                    "cross_origin",
                    "this request came from another website; nothing was changed",
                ),
                Refusal::NotJson => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the request as Content-Type: application/json (an empty body is {})",
                ),
            };
            let body = serde_json::json!({"error": {"code": code, "message": message}});
            (status, axum::Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn foreign_origins_and_sites_are_refused() {
        let post = Method::POST;
        let p = "/admin/offices/bronx/purge";
        let host = ("host", "vault.example.org");
        assert_eq!(check(&post, p, None, &h(&[host])), Ok(()));
        assert_eq!(
            check(
                &post,
                p,
                None,
                &h(&[host, ("origin", "https://vault.example.org")])
            ),
            Ok(())
        );
        for bad in [
            "https://evil.example.org",
            "https://sub.vault.example.org",
            "null",
            "https://vault.example.org.evil.org",
            "https://vault.example.org/x",
            "http://vault.example.org",
            "https://vault.example.org@evil.org",
        ] {
            let mut m = h(&[host]);
            m.insert("origin", bad.parse().unwrap());
            assert_eq!(
                check(&post, p, None, &m),
                Err(Refusal::CrossOrigin),
                "{bad}"
            );
        }
        for site in ["same-site", "cross-site", "garbage"] {
            let mut m = h(&[host]);
            m.insert("sec-fetch-site", site.parse().unwrap());
            assert_eq!(
                check(&post, p, None, &m),
                Err(Refusal::CrossOrigin),
                "{site}"
            );
        }
        assert_eq!(
            check(
                &post,
                p,
                None,
                &h(&[host, ("sec-fetch-site", "same-origin")])
            ),
            Ok(())
        );
        let ours_null = h(&[host, ("origin", "null"), ("sec-fetch-site", "same-origin")]);
        assert_eq!(check(&post, p, None, &ours_null), Ok(()));
        let sandboxed = h(&[host, ("origin", "null"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(check(&post, p, None, &sandboxed), Err(Refusal::CrossOrigin));
        // Two Origin headers: refused, whatever the first says.
        let mut two = h(&[host, ("origin", "https://vault.example.org")]);
        two.append("origin", "https://evil.example.org".parse().unwrap());
        assert_eq!(check(&post, p, None, &two), Err(Refusal::CrossOrigin));
        // HTTP/2 names the server in the URI's authority instead of `Host`.
        let h2 = h(&[("origin", "https://vault.example.org:8443")]);
        assert_eq!(check(&post, p, Some("vault.example.org:8443"), &h2), Ok(()));
        assert_eq!(
            check(&post, p, Some("evil.example.org:8443"), &h2),
            Err(Refusal::CrossOrigin)
        );
        // Reads are never refused here.
        let evil = h(&[host, ("origin", "https://evil.example.org")]);
        assert_eq!(check(&Method::GET, p, None, &evil), Ok(()));
    }

    #[test]
    fn json_routes_need_the_json_content_type() {
        let json = h(&[("content-type", "application/json; charset=utf-8")]);
        let form = h(&[("content-type", "application/x-www-form-urlencoded")]);
        let none = HeaderMap::new();
        let purge = "/api/v1/cases/x/purge";
        assert_eq!(check(&Method::POST, purge, None, &json), Ok(()));
        assert_eq!(
            check(&Method::POST, purge, None, &form),
            Err(Refusal::NotJson)
        );
        assert_eq!(
            check(&Method::POST, purge, None, &none),
            Err(Refusal::NotJson)
        );
        assert_eq!(
            check(&Method::DELETE, "/api/v1/cases/x/hold", None, &none),
            Err(Refusal::NotJson)
        );
        // The raw upload takes any content type; pages take forms.
        let upload = "/api/v1/cases/x/documents";
        assert_eq!(check(&Method::POST, upload, None, &none), Ok(()));
        assert_eq!(check(&Method::POST, "/cases/x/shares", None, &form), Ok(()));
    }
}
