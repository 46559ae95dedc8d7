//! The last step of every upload, by an account or by a client through a link: the
//! age stream closed, the blob committed, the upload decided again on the case (or
//! the link) as it is now, and the row and its audit entry written in one transaction.
//!
//! Invariant: a row exists only for a blob that is complete and an upload that was
//! still allowed when its last byte arrived; whatever is refused leaves no row, its
//! blob is removed and the refusal is audited in the transaction that would have
//! written the row.
use zeroize::Zeroizing;

use crate::crypto::{self, DocumentWriter};
use crate::policy::{Action, Resource};
use crate::store::{BlobName, BlobWriter};
use crate::vault::document::documents::{Upload, Uploader};
use crate::vault::{Vault, VaultError};

/// Why a finished upload got no row.
enum Refused {
    /// The actor or the link may no longer add it (audited): "not found".
    NotAllowed,
    /// A link's upload of no bytes (audited).
    Empty,
}

impl Vault {
    /// Finishes an upload: closes the age stream, commits the blob, decides the upload
    /// again on the case as it is now (a share revoked, an account disabled or the
    /// case purged while the bytes streamed; for a link, the link revoked, expired or
    /// used up meanwhile), and writes the row and the audit entry in one transaction.
    /// Refused: no row, the blob removed, the refusal audited, and the same "not
    /// found" as a missing case (a link's empty file: `empty_file`). Returns (id, size).
    pub(crate) fn finish_upload(
        &self,
        mut up: Upload,
        w: DocumentWriter<BlobWriter>,
    ) -> Result<(String, u64), VaultError> {
        // The store going away while the last bytes go out is a 503 like any other
        // blob write; the refusal is audited (the dropped writer leaves nothing).
        let written = match w.finish() {
            Ok(f) => {
                let (header, size, padded) = (f.header, f.size, f.padded_size);
                f.sink
                    .commit()
                    .map(|b| (header, size, padded, b))
                    .map_err(|e| VaultError::blob("blob commit", e))
            }
            Err(crypto::CryptoError::Io(e)) => Err(VaultError::blob("blob write", e)),
            Err(e) => Err(e.into()),
        };
        let (header, size, padded_size, blob) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = self.record_now(&up.allowed, "failed");
                return Err(e);
            }
        };
        up.meta.size = size;
        let meta_json = Zeroizing::new(
            serde_json::to_vec(&up.meta).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let meta_ct = crypto::seal_to(&up.recipient, &meta_json)?;
        let stored = i64::try_from(padded_size).unwrap_or(i64::MAX);
        let plain = i64::try_from(size).unwrap_or(i64::MAX);
        let now = self.now_str();
        let res = self
            .db
            .write(|tx| -> Result<Result<(), Refused>, VaultError> {
                let (created_by, via_link) = match &up.by {
                    Uploader::Account(actor) => {
                        let facts = match tx.case(&up.case_id)? {
                            Some(case) => Some(self.case_facts(tx, &case)?),
                            None => None,
                        };
                        let resource = facts.as_ref().map(Resource::Case);
                        let action = Action::UploadDocument;
                        if !self.decide_again(tx, &up.allowed, actor, action, resource.as_ref())? {
                            return Ok(Err(Refused::NotAllowed));
                        }
                        (actor.id(), None)
                    }
                    Uploader::Link { id, made_by } => {
                        if size == 0 {
                            self.record_refusal(tx, &up.allowed, "empty")?;
                            return Ok(Err(Refused::Empty));
                        }
                        if !self.link_takes(tx, &up.allowed, &up.case_id, id, plain)? {
                            return Ok(Err(Refused::NotAllowed));
                        }
                        tx.count_link_file(id, &up.case_id, plain)?;
                        (made_by.as_str(), Some(id.as_str()))
                    }
                };
                tx.insert_document(&crate::store::NewDocRow {
                    id: &up.doc_id,
                    case_id: &up.case_id,
                    header: &header,
                    blob: blob.as_str(),
                    meta: &meta_ct,
                    stored_size: stored,
                    created_by,
                    created_at: &now,
                    via_link,
                })?;
                self.record(tx, &up.allowed, "ok")?;
                Ok(Ok(()))
            });
        match res {
            Ok(Ok(())) => Ok((up.doc_id.clone(), size)),
            Ok(Err(refused)) => {
                self.remove_refused_blob(&blob);
                Err(match refused {
                    Refused::NotAllowed => VaultError::NotFound,
                    Refused::Empty => VaultError::bad("empty_file", "the file is empty"),
                })
            }
            Err(e) => {
                self.remove_refused_blob(&blob);
                Err(e)
            }
        }
    }

    /// Unlinks the blob of an upload that got no row; a leftover is swept at the next
    /// start, so a failure here is logged, not reported.
    fn remove_refused_blob(&self, blob: &BlobName) {
        if let Err(e) = self.blobs.delete(blob) {
            tracing::warn!(error = %e, "blob unlink after a refused upload failed; swept at next start");
        }
    }
}
