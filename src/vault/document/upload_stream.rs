//! The upload pump: request bytes in batches through a small channel to a blocking
//! thread that encrypts them into a temporary blob, a few reused buffers carrying the
//! whole upload. Memory stays small and fixed whatever the size.
//!
//! Invariant: a failed, interrupted, oversized or empty stream leaves nothing behind
//! (the temporary blob is removed and the failure audited); the row is written only
//! after the last byte, by `finish_upload`.
use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::vault::{Upload, Vault, VaultError};

enum Chunk {
    /// A batch of request bytes in a buffer that goes back to the network side once
    /// written, so the same few buffers carry the whole upload (no allocation per
    /// TLS record crosses threads).
    Data(Vec<u8>),
    End,
}

/// Buffers in flight per upload (one filling, one queued, one being encrypted).
const BUFFERS: usize = 3;

/// How much data crosses the thread boundary at once.
const BATCH: usize = 256 * 1024;

/// The refusal of a document of zero bytes (its code, and its audit outcome).
pub(in crate::vault) const EMPTY_FILE: &str = "empty_file";

/// An upload of zero bytes, refused.
pub(in crate::vault) fn empty_file() -> VaultError {
    VaultError::bad(
        EMPTY_FILE,
        "The file is empty (0 bytes); choose the file again.",
    )
}

/// What the client says about a document before its bytes arrive.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    /// The original filename (validated; stored only encrypted to the case key).
    pub filename: String,
    /// The content type the client declared, if any.
    pub content_type: Option<String>,
    /// The size the client declared (`Content-Length`), if any: a larger one than the
    /// limit is refused before a byte is read.
    pub declared_size: Option<u64>,
}

impl Vault {
    /// Refuses an upload by the size its client declared, before a byte is read: over
    /// the limit, or zero. The refusal is audited; nothing is stored.
    pub(in crate::vault) async fn check_declared_size(
        self: &Arc<Self>,
        up: Upload,
        declared: Option<u64>,
    ) -> Result<Upload, VaultError> {
        let limit = up.limit();
        let (outcome, refusal) = match declared {
            Some(n) if n > limit => ("too_large", VaultError::TooLarge(limit)),
            Some(0) => (EMPTY_FILE, empty_file()),
            _ => return Ok(up),
        };
        self.run(move |v| v.abort_upload(up, outcome)).await?;
        Err(refusal)
    }

    /// Encrypts a stream of plaintext chunks into the prepared upload `up` and stores
    /// it; returns the new document's id and size. Memory stays bounded: chunks pass
    /// in batches through a small channel to a blocking writer. A failed or oversized
    /// stream leaves nothing behind (the temporary blob is removed and the failure
    /// audited).
    pub(in crate::vault) async fn store_stream<S, E>(
        self: &Arc<Self>,
        up: Upload,
        chunks: S,
    ) -> Result<(String, u64), VaultError>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>>,
    {
        use futures_util::StreamExt;
        let limit = up.limit();
        let (tx, mut rx) = mpsc::channel::<Chunk>(BUFFERS);
        let (back_tx, mut back_rx) = mpsc::channel::<Vec<u8>>(BUFFERS);
        let v = self.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<(String, u64), VaultError> {
            let mut w = match v.upload_writer(&up) {
                Ok(w) => w,
                Err(e) => {
                    let _ = v.abort_upload(up, "failed");
                    return Err(e);
                }
            };
            let mut written = 0;
            loop {
                match rx.blocking_recv() {
                    Some(Chunk::Data(mut buf)) => {
                        if let Err(e) = w.write_all(&buf) {
                            drop(w);
                            let _ = v.abort_upload(up, "failed");
                            return Err(VaultError::blob("writing blob", e));
                        }
                        written += buf.len();
                        buf.clear();
                        let _ = back_tx.blocking_send(buf);
                    }
                    // Zero bytes: a file chosen again while it was being written, a copy
                    // cut short. Stored, it would look like a document and hold nothing;
                    // refused, nothing is stored (dropping the writer removes the
                    // temporary file) and the person tries again.
                    Some(Chunk::End) if written == 0 => {
                        drop(w);
                        v.abort_upload(up, EMPTY_FILE)?;
                        return Err(empty_file());
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
        let mut failure: Option<VaultError> = None;
        let new_buf = || Vec::with_capacity(BATCH + 64 * 1024);
        let mut buf = new_buf();
        let mut created = 1;
        while let Some(item) = chunks.next().await {
            match item {
                Ok(data) => {
                    total += data.len() as u64;
                    if total > limit {
                        failure = Some(VaultError::TooLarge(limit));
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
                    failure = Some(VaultError::bad(
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
        result
    }
}
