//! The HTTPS client of `casevault seal-all`: it signs in to a running server and calls
//! the panic seal, over reqwest (the HTTP client the S3 store brings) with rustls on the
//! ring provider.
//!
//! Invariants: credentials travel only over TLS verified against the given CA
//! certificate (or the system's roots), or over plain HTTP only when the URL says
//! `http://` explicitly; no redirect is followed; nothing secret is logged or put into
//! an error message.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Where the server is, and how to trust it.
#[derive(Clone)]
pub struct Target {
    base: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("base", &self.base).finish()
    }
}

/// A signed-in session (its cookie is wiped on drop).
pub struct RemoteSession {
    cookie: Zeroizing<String>,
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

fn root_store(ca_cert: Option<&Path>) -> Result<rustls::RootCertStore, String> {
    let path = match ca_cert {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("SSL_CERT_FILE")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                SYSTEM_BUNDLES
                    .iter()
                    .map(std::path::PathBuf::from)
                    .find(|p| p.exists())
            })
            .ok_or("no CA certificates found; pass --ca-cert FILE")?,
    };
    let pem = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(roots)
}

impl Target {
    /// Parses `https://HOST[:PORT]` (or, explicitly, `http://…`) and prepares TLS.
    pub fn new(url: &str, ca_cert: Option<&Path>) -> Result<Target, String> {
        let tls = if url.starts_with("https://") {
            true
        } else if url.starts_with("http://") {
            false
        } else {
            return Err("the URL must start with https:// (or http://)".into());
        };
        let parsed = reqwest::Url::parse(url).map_err(|_| "the URL does not parse")?;
        // An IPv6 host comes back in brackets, as a URL needs it.
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host in the URL")?;
        let port = parsed
            .port_or_known_default()
            .ok_or("bad port in the URL")?;
        let base = format!("{}://{host}:{port}", parsed.scheme());
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60));
        if tls {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(root_store(ca_cert)?)
                .with_no_client_auth();
            builder = builder.use_preconfigured_tls(config).https_only(true);
        }
        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Target { base, client })
    }

    /// Signs in with password and TOTP code.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp: &str,
    ) -> Result<RemoteSession, String> {
        let body = Zeroizing::new(
            serde_json::to_vec(&json!({"username": username, "password": password, "totp": totp}))
                .map_err(|e| e.to_string())?,
        );
        let resp = self.request("/api/v1/login", None, body.to_vec()).await?;
        resp.ok()?;
        let cookie = resp
            .cookies
            .iter()
            .filter_map(|v| v.split(';').next())
            .find(|kv| kv.starts_with(&format!("{}=", crate::edge::cookie::COOKIE)))
            .ok_or("the server set no session cookie")?;
        Ok(RemoteSession {
            cookie: Zeroizing::new(cookie.to_string()),
        })
    }

    /// `POST /api/v1/seal-all`; returns the offices sealed.
    pub async fn seal_all(&self, s: &RemoteSession) -> Result<Vec<String>, String> {
        let resp = self
            .request("/api/v1/seal-all", Some(&s.cookie), Vec::new())
            .await?;
        let v = resp.ok()?;
        Ok(v["sealed"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Ends the session (best effort).
    pub async fn logout(&self, s: RemoteSession) {
        let _ = self
            .request("/api/v1/logout", Some(&s.cookie), Vec::new())
            .await;
    }

    /// One JSON `POST` (every unsafe request to the API says it is JSON, an empty body
    /// included).
    async fn request(
        &self,
        path: &str,
        cookie: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Response, String> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(c) = cookie {
            let mut v = reqwest::header::HeaderValue::from_str(c)
                .map_err(|_| "the session cookie is not a header value")?;
            v.set_sensitive(true);
            req = req.header(reqwest::header::COOKIE, v);
        }
        // reqwest's error names the URL and the cause, never a header or the body.
        let resp = req.send().await.map_err(|e| {
            let why = cause(&e);
            if why.contains("certificate") || why.contains("handshake") {
                format!("TLS: {} is not trusted: {why}", self.base)
            } else {
                format!("cannot reach {}: {why}", self.base)
            }
        })?;
        let status = resp.status().as_u16();
        let cookies = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("talking to the server: {}", cause(&e)))?
            .to_vec();
        Ok(Response {
            status,
            cookies,
            body,
        })
    }
}

/// The innermost cause of a client error (a TLS or connection failure says more than
/// "error sending request").
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

struct Response {
    status: u16,
    cookies: Vec<String>,
    body: Vec<u8>,
}

impl Response {
    /// The JSON body of a 2xx answer, or the server's error code and message.
    fn ok(&self) -> Result<Value, String> {
        let v: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        if (200..300).contains(&self.status) {
            return Ok(v);
        }
        Err(format!(
            "the server answered {}: {} ({})",
            self.status,
            v["error"]["code"].as_str().unwrap_or("?"),
            v["error"]["message"].as_str().unwrap_or("")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::new("http://127.0.0.1:8443/", None).unwrap();
        assert_eq!(t.base, "http://127.0.0.1:8443");
        let t = Target::new("http://[::1]/", None).unwrap();
        assert_eq!(t.base, "http://[::1]:80");
        assert!(Target::new("ftp://x", None).is_err());
        assert!(Target::new("http://:80", None).is_err());
    }
}
