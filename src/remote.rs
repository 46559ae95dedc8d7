//! A minimal HTTPS client for `casevault seal-all`: it signs in to a running server and
//! calls the panic seal. Written by hand (HTTP/1.1 over tokio-rustls with the ring
//! provider, one request per connection) so the binary carries no HTTP client stack
//! for one command.
//!
//! Invariants: credentials travel only over TLS verified against the given CA
//! certificate (or the system's roots), or over plain HTTP only when the URL says
//! `http://` explicitly; nothing secret is logged or put into an error message.
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

/// Where the server is, and how to trust it.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
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
        let (tls, rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
            (true, r, 443)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r, 80)
        } else {
            return Err("the URL must start with https:// (or http://)".into());
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || (h.starts_with('[') && h.ends_with(']')) => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.parse::<u16>().map_err(|_| "bad port in the URL")?,
            ),
            _ => (authority.to_string(), default_port),
        };
        if host.is_empty() {
            return Err("no host in the URL".into());
        }
        let tls = if tls {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(root_store(ca_cert)?)
                .with_no_client_auth();
            Some(TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Target { host, port, tls })
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
        let resp = self.request("POST", "/api/v1/login", None, &body).await?;
        resp.ok()?;
        let cookie = resp
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next())
            .find(|kv| kv.starts_with(&format!("{}=", crate::edge::cookie::COOKIE)))
            .ok_or("the server set no session cookie")?;
        Ok(RemoteSession {
            cookie: Zeroizing::new(cookie.to_string()),
        })
    }

    /// `POST /api/v1/seal-all`; returns the offices sealed.
    pub async fn seal_all(&self, s: &RemoteSession) -> Result<Vec<String>, String> {
        let resp = self
            .request("POST", "/api/v1/seal-all", Some(&s.cookie), b"")
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
            .request("POST", "/api/v1/logout", Some(&s.cookie), b"")
            .await;
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: &[u8],
    ) -> Result<Response, String> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))?;
        let _ = tcp.set_nodelay(true);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n",
            self.host,
            self.port,
            body.len()
        );
        // Every unsafe request to the API says it is JSON, an empty body included.
        if method != "GET" {
            head.push_str("Content-Type: application/json\r\n");
        }
        let mut head = Zeroizing::new(head);
        if let Some(c) = cookie {
            head.push_str("Cookie: ");
            head.push_str(c);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        match &self.tls {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|_| "the URL's host is not a valid TLS name")?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                exchange(stream, head.as_bytes(), body).await
            }
            None => exchange(tcp, head.as_bytes(), body).await,
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
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

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    head: &[u8],
    body: &[u8],
) -> Result<Response, String> {
    let io = |e: std::io::Error| format!("talking to the server: {e}");
    s.write_all(head).await.map_err(io)?;
    s.write_all(body).await.map_err(io)?;
    s.flush().await.map_err(io)?;
    let mut buf = Vec::new();
    // A peer that closes without TLS close_notify still delivered a whole answer;
    // what counts is whether the bytes parse.
    if let Err(e) = s.read_to_end(&mut buf).await
        && buf.is_empty()
    {
        return Err(io(e));
    }
    parse_response(&buf).ok_or_else(|| "the server's answer is not HTTP/1.1".to_string())
}

fn parse_response(buf: &[u8]) -> Option<Response> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(raw)?
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        raw.get(..n)?.to_vec()
    } else {
        raw.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"{}"[..]));
        let r = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, &r.body[..]), (401, &b"abcde"[..]));
        assert!(parse_response(b"garbage").is_none());
    }

    #[test]
    fn urls() {
        let t = Target::new("http://127.0.0.1:8443/", None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8443));
        assert!(Target::new("ftp://x", None).is_err());
        assert!(Target::new("http://:80", None).is_err());
    }
}
