//! Documents: streaming upload (allowed while sealed: only the case's public key is
//! needed), listing and streaming download. The header goes to SQLite, the payload to
//! the blob store; a blob only becomes visible by rename after fsync, and its row is
//! written after that, so a crash or a dropped connection never leaves a partial
//! document (a leftover blob is collected at the next start).
use std::io::BufReader;
use std::sync::Arc;

use bytes::Bytes;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{self, DocumentReader, DocumentWriter};
use crate::policy::Action;
use crate::store::{BlobName, BlobReader, BlobWriter};
use crate::vault::document::filename::{INVALID_FILENAME, valid_filename};
use crate::vault::document::live::KeyLease;
use crate::vault::document::upload_stream::UploadMeta;
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{
    Actor, Allowed, DocumentStream, PageQuery, Vault, VaultError, new_id, parse_id,
};

/// The encrypted per-document metadata.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(in crate::vault) struct DocMeta {
    pub(in crate::vault) filename: String,
    pub(in crate::vault) content_type: String,
    pub(in crate::vault) size: u64,
}

/// A page of a case's documents.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentPage {
    /// The documents, oldest first.
    pub documents: Vec<DocumentView>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// A document as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// Document id.
    pub id: String,
    /// Original filename.
    pub filename: String,
    /// Content type given at upload.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// RFC 3339.
    pub created_at: String,
    /// Uploader's account id (for a file a client sent: the account that made the link).
    pub uploaded_by: String,
    /// The upload link a client sent it through; absent when an account added it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_link: Option<String>,
    /// When that link was made (RFC 3339), for "from the client, via link of DATE".
    #[serde(skip)]
    #[schema(ignore)]
    pub via_link_made: Option<String>,
    /// What the asker may do with it, as the policy decided (pages offer only these).
    #[serde(skip)]
    #[schema(ignore)]
    pub may: DocMay,
}

/// The policy's answer for the actions a document row offers (decided as if a fresh
/// code were given; decided again, and audited, when asked for).
#[derive(Debug, Clone, Copy, Default)]
pub struct DocMay {
    /// Rename it.
    pub rename: bool,
    /// Shred it.
    pub purge: bool,
}

/// An upload in progress.
pub struct Upload {
    pub(in crate::vault) case_id: String,
    pub(in crate::vault) doc_id: String,
    pub(in crate::vault) recipient: String,
    pub(in crate::vault) meta: DocMeta,
    pub(in crate::vault) allowed: Allowed,
    /// Who uploads, as decided at the start: decided again before the row is written.
    pub(in crate::vault) by: Uploader,
    pub(in crate::vault) limit: u64,
}

/// Who an upload is by.
pub(in crate::vault) enum Uploader {
    /// An account: the policy decides it again before the row is written.
    Account(Actor),
    /// A client through an upload link: the link's state and limits are checked again
    /// before the row is written. The document is recorded as added by the account
    /// that made the link, through the link.
    Link {
        /// The link's id.
        id: String,
        /// The account that made it.
        made_by: String,
    },
}

impl Upload {
    /// The new document's id.
    pub fn id(&self) -> &str {
        &self.doc_id
    }

    /// The size limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

/// A document opened for reading.
pub struct OpenDocument {
    /// The plaintext stream; it fails once the office is sealed or the case purged.
    pub reader: DocumentStream,
    /// Original filename.
    pub filename: String,
    /// Content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// A document opened in the blocking half of [`Vault::open_document`], before its
/// reader is wrapped in a [`DocumentStream`].
pub(in crate::vault) struct Opened {
    reader: DocumentReader<BufReader<BlobReader>>,
    lease: KeyLease,
    filename: String,
    content_type: String,
    size: u64,
}

fn valid_content_type(ct: &str) -> bool {
    !ct.is_empty()
        && ct.len() <= 127
        && ct.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && ct.contains('/')
}

impl Vault {
    /// Decides an upload to the case before any of the document has arrived, and
    /// prepares it; the filename is checked by [`Self::name_upload`]. The decision's
    /// audit entry is written with the upload's outcome (stored, refused filename,
    /// abandoned, failed).
    pub(crate) fn permit_upload_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<Upload, VaultError> {
        let doc_id = new_id();
        let (case, allowed) = self.case_for(
            actor,
            Action::UploadDocument,
            case_id,
            Some(Target::doc(&doc_id)),
        )?;
        Ok(Upload {
            case_id: case.id,
            doc_id,
            recipient: case.recipient,
            meta: DocMeta {
                filename: String::new(),
                content_type: String::new(),
                size: 0,
            },
            allowed,
            by: Uploader::Account(actor.clone()),
            limit: self.settings.uploads.max_bytes,
        })
    }

    /// Names a permitted upload: a filename that fails [`valid_filename`] is refused
    /// (and recorded as the decision's outcome); a content type that is not a plain
    /// `type/subtype` becomes `application/octet-stream`.
    pub(crate) fn name_upload(
        &self,
        mut up: Upload,
        filename: &str,
        content_type: Option<&str>,
    ) -> Result<Upload, VaultError> {
        if !valid_filename(filename) {
            self.record_now(&up.allowed, "invalid_filename")?;
            return Err(VaultError::bad("invalid_filename", INVALID_FILENAME));
        }
        let content_type = content_type
            .filter(|c| valid_content_type(c))
            .unwrap_or("application/octet-stream");
        up.meta.filename = filename.to_string();
        up.meta.content_type = content_type.to_string();
        Ok(up)
    }

    /// The encrypting writer for an upload: plaintext in, age payload to a temporary
    /// blob file.
    pub(crate) fn upload_writer(
        &self,
        up: &Upload,
    ) -> Result<DocumentWriter<BlobWriter>, VaultError> {
        let blob = self
            .blobs
            .create()
            .map_err(|e| VaultError::blob("blob create", e))?;
        Ok(DocumentWriter::new(&up.recipient, blob)?)
    }

    /// Records a failed upload (client disconnect, too large); nothing is stored.
    pub(crate) fn abort_upload(&self, up: Upload, outcome: &str) -> Result<(), VaultError> {
        self.record_now(&up.allowed, outcome)
    }

    /// The documents of a case.
    pub async fn list_documents(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<DocumentPage, VaultError> {
        let (actor, case_id, page) = (actor.clone(), case_id.to_owned(), page.clone());
        self.run(move |v| v.list_documents_blocking(&actor, &case_id, &page))
            .await
    }

    pub(in crate::vault) fn list_documents_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<DocumentPage, VaultError> {
        let limit = page.size()?;
        let cursor = page.cursor()?;
        let (case, facts, allowed) = self.case_with_facts(
            actor,
            Action::ReadCase,
            case_id,
            Some(Target::word(Word::Documents)),
        )?;
        if !self.is_unsealed(&case.office) {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office));
        }
        let docs = self.db.read(|tx| -> Result<_, VaultError> {
            let after = match &cursor {
                None => None,
                Some(id) => Some(
                    tx.document_position(&case.id, id)?
                        .ok_or_else(crate::vault::case::case_list::invalid_cursor)?,
                ),
            };
            let docs = tx.document_page(&case.id, after, limit + 1)?;
            let links = if docs.iter().any(|d| d.via_link.is_some()) {
                tx.links(&case.id)?
            } else {
                Vec::new()
            };
            Ok((docs, links))
        });
        let (mut docs, links) = match docs {
            Ok(d) => d,
            Err(e) => {
                self.record_now(&allowed, "invalid_cursor")?;
                return Err(e);
            }
        };
        self.record_now(&allowed, "ok")?;
        let more = docs.len() > limit;
        docs.truncate(limit);
        let next_after = more.then(|| docs.last().map(|d| d.id.clone())).flatten();
        let documents = docs
            .into_iter()
            .map(|d| {
                let plain = self.open_sealed(&case, Part::Doc(&d.id), &d.meta)?;
                let meta: DocMeta = serde_json::from_slice(&plain)
                    .map_err(|_| VaultError::Internal("document metadata does not parse".into()))?;
                let may = self.doc_may(actor, &facts, &d);
                let via_link_made = d.via_link.as_ref().and_then(|l| {
                    links
                        .iter()
                        .find(|k| k.id == *l)
                        .map(|k| k.created_at.clone())
                });
                Ok(DocumentView {
                    id: d.id,
                    filename: meta.filename.clone(),
                    content_type: meta.content_type.clone(),
                    size: meta.size,
                    may,
                    created_at: d.created_at,
                    uploaded_by: d.created_by,
                    via_link: d.via_link,
                    via_link_made,
                })
            })
            .collect::<Result<_, VaultError>>()?;
        Ok(DocumentPage {
            documents,
            next_after,
        })
    }

    /// Opens a document for streaming.
    pub async fn open_document(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
    ) -> Result<OpenDocument, VaultError> {
        let (actor, case_id, doc_id) = (actor.clone(), case_id.to_owned(), doc_id.to_owned());
        let o = self
            .run(move |v| v.open_document_blocking(&actor, &case_id, &doc_id))
            .await?;
        Ok(OpenDocument {
            reader: DocumentStream::new(o.reader, self.clone(), o.lease),
            filename: o.filename,
            content_type: o.content_type,
            size: o.size,
        })
    }

    pub(in crate::vault) fn open_document_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
    ) -> Result<Opened, VaultError> {
        let doc = parse_id(doc_id);
        let (case, allowed) =
            self.case_for(actor, Action::ReadCase, case_id, Some(Target::doc(doc_id)))?;
        let row = match &doc {
            Some(d) => self.db.read(|tx| tx.document(&case.id, d))?,
            None => None,
        };
        let Some(row) = row else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if !self.is_unsealed(&case.office) {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office));
        }
        self.record_now(&allowed, "ok")?;
        let key = self.case_key(&case)?;
        let meta: DocMeta = serde_json::from_slice(&key.open(&row.meta)?)
            .map_err(|_| VaultError::Internal("document metadata does not parse".into()))?;
        let name = BlobName::parse(&row.blob)
            .ok_or_else(|| VaultError::Internal("bad blob name".into()))?;
        let file = self
            .blobs
            .open_blob(&name)
            .map_err(|e| VaultError::blob("blob open", e))?;
        let reader = crypto::open_document(
            &key,
            &row.header,
            BufReader::with_capacity(256 * 1024, file),
            meta.size,
        )?;
        // Taken after the key: a seal in between is seen here, not missed.
        let Some(lease) = self.lease(&case.office, &case.id, &key) else {
            return Err(VaultError::OfficeSealed(case.office));
        };
        Ok(Opened {
            reader,
            lease,
            filename: meta.filename.clone(),
            content_type: meta.content_type.clone(),
            size: meta.size,
        })
    }
}

impl Vault {
    /// Stores a document from a stream of its bytes: decides, checks the declared size,
    /// encrypts the stream into a new blob and writes the row and audit entry only once
    /// the last byte is in. Returns the document's id and size. The API's raw-body
    /// upload calls this; the pages' multipart form, whose filename arrives after the
    /// decision must be made, calls [`Self::permit_upload`] and
    /// [`Self::store_permitted`], the two halves of this.
    pub async fn store_document<S, E>(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        meta: UploadMeta,
        body: S,
    ) -> Result<(String, u64), VaultError>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>>,
    {
        let up = self.permit_upload(actor, case_id).await?;
        self.store_permitted(up, meta, body).await
    }

    /// Decides an upload to a case before a byte of the document is read. The upload
    /// it answers goes to [`Self::store_permitted`], or, should the document never
    /// come, to [`Self::abandon_upload`]; either writes the decision's audit entry.
    pub async fn permit_upload(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<Upload, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.permit_upload_blocking(&actor, &case_id))
            .await
    }

    /// Stores the document of a permitted upload: checks the filename and the
    /// declared size, then streams it as [`Self::store_document`] does.
    pub async fn store_permitted<S, E>(
        self: &Arc<Self>,
        up: Upload,
        meta: UploadMeta,
        body: S,
    ) -> Result<(String, u64), VaultError>
    where
        S: futures_util::Stream<Item = Result<Bytes, E>>,
    {
        let UploadMeta {
            filename,
            content_type,
            declared_size,
        } = meta;
        let up = self
            .run(move |v| v.name_upload(up, &filename, content_type.as_deref()))
            .await?;
        let up = self.check_declared_size(up, declared_size).await?;
        self.store_stream(up, body).await
    }

    /// Records that a permitted upload ended before its document began (the form
    /// was malformed, or held no file); nothing is stored.
    pub async fn abandon_upload(
        self: &Arc<Self>,
        up: Upload,
        outcome: &'static str,
    ) -> Result<(), VaultError> {
        self.run(move |v| v.abort_upload(up, outcome)).await
    }
}

#[cfg(test)]
#[path = "documents_tests.rs"]
mod tests;
