//! Streaming upload and download. Memory stays small and fixed whatever the size:
//! request chunks pass through a bounded channel to a blocking thread that encrypts
//! into a temporary blob file; downloads decrypt in a blocking thread into a bounded
//! channel that feeds the response body. No plaintext touches disk.
use std::io::{Read, Write};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::extract::Session;
use super::{AppState, blocking};
use crate::vault::VaultError;

/// `?filename=`.
#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct UploadQuery {
    /// The document's original filename.
    filename: Option<String>,
}

/// Stored document.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Uploaded {
    id: String,
    size: u64,
}

enum Chunk {
    /// A batch of request bytes in a buffer that goes back to the network side once
    /// written, so the same few buffers carry the whole upload (no allocation per
    /// TLS record crosses threads).
    Data(Vec<u8>),
    End,
}

/// Buffers in flight per upload (one filling, one queued, one being encrypted).
const BUFFERS: usize = 3;

/// How much data crosses a thread boundary at once (both directions).
const BATCH: usize = 256 * 1024;

/// `POST /api/v1/cases/{case}/documents?filename=NAME`: the raw body is the document.
#[utoipa::path(post, path = "/api/v1/cases/{case}/documents", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded), (status = 413, body = super::error::ErrorBody)))]
pub(super) async fn upload(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let filename = q
        .ok()
        .and_then(|Query(q)| q.filename)
        .ok_or_else(|| ApiError::bad("missing_filename", "add ?filename=NAME to the URL"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let v = st.vault.clone();
    let up = blocking(move || v.begin_upload(&s.actor, &case, &filename, content_type.as_deref()))
        .await?;
    let limit = up.limit();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        let v = st.vault.clone();
        blocking(move || v.abort_upload(up, "too_large")).await?;
        return Err(VaultError::TooLarge(limit).into());
    }

    let (id, size) = store_stream(&st, up, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(Uploaded { id, size })))
}

/// Encrypts a stream of plaintext chunks into the prepared upload `up` and stores
/// it; returns the new document's id and size. Memory stays bounded: chunks pass
/// in batches through a small channel to a blocking writer. A failed or oversized
/// stream leaves nothing behind (the temporary blob is removed and the failure
/// audited). The HTTP API and the no-JavaScript upload form of the pages share this.
pub(crate) async fn store_stream<S, E>(
    st: &AppState,
    up: crate::vault::Upload,
    chunks: S,
) -> Result<(String, u64), ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>>,
{
    use futures_util::StreamExt;
    let limit = up.limit();
    let (tx, mut rx) = mpsc::channel::<Chunk>(BUFFERS);
    let (back_tx, mut back_rx) = mpsc::channel::<Vec<u8>>(BUFFERS);
    let v = st.vault.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<(String, u64), VaultError> {
        let mut w = match v.upload_writer(&up) {
            Ok(w) => w,
            Err(e) => {
                let _ = v.abort_upload(up, "failed");
                return Err(e);
            }
        };
        loop {
            match rx.blocking_recv() {
                Some(Chunk::Data(mut buf)) => {
                    if let Err(e) = w.write_all(&buf) {
                        drop(w);
                        let _ = v.abort_upload(up, "failed");
                        return Err(VaultError::Internal(format!("writing blob: {e}")));
                    }
                    buf.clear();
                    let _ = back_tx.blocking_send(buf);
                }
                Some(Chunk::End) => return v.finish_upload(up, w),
                // The request side went away without End: the client disconnected or
                // broke the limit. Dropping the writer removes the temporary file.
                None => {
                    drop(w);
                    v.abort_upload(up, "incomplete")?;
                    return Err(VaultError::bad("incomplete", "the upload did not complete"));
                }
            }
        }
    });

    let mut chunks = std::pin::pin!(chunks);
    let mut total: u64 = 0;
    let mut failure: Option<ApiError> = None;
    let new_buf = || Vec::with_capacity(BATCH + 64 * 1024);
    let mut buf = new_buf();
    let mut created = 1;
    while let Some(item) = chunks.next().await {
        match item {
            Ok(data) => {
                total += data.len() as u64;
                if total > limit {
                    failure = Some(VaultError::TooLarge(limit).into());
                    break;
                }
                buf.extend_from_slice(&data);
                if buf.len() >= BATCH {
                    let next = match back_rx.try_recv() {
                        Ok(b) => b,
                        Err(_) if created < BUFFERS => {
                            created += 1;
                            new_buf()
                        }
                        Err(_) => back_rx.recv().await.unwrap_or_else(new_buf),
                    };
                    if tx
                        .send(Chunk::Data(std::mem::replace(&mut buf, next)))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
            Err(_) => {
                failure = Some(ApiError::bad(
                    "incomplete",
                    "the upload was interrupted; nothing was stored",
                ));
                break;
            }
        }
    }
    if failure.is_none() {
        if !buf.is_empty() {
            let _ = tx.send(Chunk::Data(buf)).await;
        }
        let _ = tx.send(Chunk::End).await;
    }
    drop(tx);
    let result = writer
        .await
        .map_err(|e| VaultError::Internal(format!("upload task: {e}")))?;
    if let Some(f) = failure {
        return Err(f);
    }
    result.map_err(ApiError::from)
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
#[utoipa::path(get, path = "/api/v1/cases/{case}/documents/{doc}",
    responses((status = 200, content_type = "application/octet-stream", description = "The document"),
              (status = 404, body = super::error::ErrorBody), (status = 423, body = super::error::ErrorBody)))]
pub(super) async fn download(
    State(st): State<AppState>,
    Session(s): Session,
    Path((case, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let v = st.vault.clone();
    let opened = blocking(move || v.open_document(&s.actor, &case, &doc)).await?;
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
                tracing::error!(error = %e, "document stream failed authentication or i/o");
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
