//! Streaming upload and download. Memory stays small and fixed whatever the size:
//! request chunks pass through a bounded channel to a blocking thread that encrypts
//! into a temporary blob file; downloads decrypt in a blocking thread into a bounded
//! channel that feeds the response body. No plaintext touches disk.
use std::io::Read;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::Session;
use super::params::{CasePath, DocPath, PathParams};
use crate::vault::UploadMeta;

/// `?filename=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadQuery {
    /// The document's original filename: 1 to 255 bytes, no slashes, backslashes,
    /// control or invisible formatting characters, no surrounding spaces.
    #[param(min_length = 1, max_length = 255)]
    filename: String,
}

/// Stored document.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Uploaded {
    #[schema(format = Uuid)]
    id: String,
    size: u64,
}

/// How much data crosses a thread boundary at once (downloads).
const BATCH: usize = 256 * 1024;

/// `POST /api/v1/cases/{case}/documents?filename=NAME`: the raw body is the document.
#[utoipa::path(post, path = "/api/v1/cases/{case}/documents", params(CasePath, UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The document's bytes, as they are (any Content-Type; it is kept as the document's type)"),
    responses(
        (status = 201, body = Uploaded),
        (status = 400, body = ErrorBody, description = "missing_filename, invalid_filename, empty_file (a body of 0 bytes: nothing is stored), or incomplete (the body stopped arriving)"),
        (status = 413, body = ErrorBody, description = "too_large: over the configured document limit")))]
pub(super) async fn upload(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(CasePath { case }): PathParams<CasePath>,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let filename = q
        .ok()
        .map(|Query(q)| q.filename)
        .ok_or_else(|| ApiError::bad("missing_filename", "add ?filename=NAME to the URL"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let meta = UploadMeta {
        filename,
        content_type,
        declared_size: headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok()),
    };
    let (id, size) = st
        .vault
        .store_document(&s.actor, &case, meta, body.into_data_stream())
        .await?;
    Ok((StatusCode::CREATED, Json(Uploaded { id, size })))
}

/// RFC 5987 encoding of a filename for Content-Disposition.
fn disposition(filename: &str) -> String {
    let mut enc = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            enc.push(char::from(b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

/// `GET /api/v1/cases/{case}/documents/{doc}`: the document's bytes.
#[utoipa::path(get, path = "/api/v1/cases/{case}/documents/{doc}", params(DocPath),
    responses(
        (status = 200, content_type = "*/*", body = Vec<u8>,
            description = "The document's bytes, with the Content-Type given at upload and a Content-Disposition: attachment"),
        (status = 423, body = ErrorBody, description = "office_sealed")))]
pub(super) async fn download(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(DocPath { case, doc }): PathParams<DocPath>,
) -> Result<Response, ApiError> {
    let v = st.vault.clone();
    let opened = v.open_document(&s.actor, &case, &doc).await?;
    let (filename, content_type, size) = (
        opened.filename.clone(),
        opened.content_type.clone(),
        opened.size,
    );
    let mut reader = opened.reader;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            // Fill a whole batch (several age chunks) before handing it over.
            let mut buf = vec![0u8; BATCH];
            let mut filled = 0;
            let mut failed = None;
            while filled < BATCH {
                match reader.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    // The keys left memory (a seal, a purge): the download stops here.
                    tracing::info!("document stream stopped: its keys left memory");
                } else {
                    tracing::error!(error = %e, "document stream failed authentication or i/o");
                }
                let _ = tx.blocking_send(Err(e));
                break;
            }
            if filled == 0 {
                break;
            }
            buf.truncate(filled);
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() || filled < BATCH {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    // Served as a download, never rendered: a stored HTML file cannot run here.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition(&filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn disposition_is_safe() {
        let d = disposition("a\"b;c é.pdf");
        assert!(d.starts_with("attachment; filename=\"a_b_c _.pdf\""), "{d}");
        assert!(d.ends_with("UTF-8''a%22b%3Bc%20%C3%A9.pdf"), "{d}");
    }
}
