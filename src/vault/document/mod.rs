//! Documents: the upload stream, downloads that stop when their keys leave memory,
//! fixes (rename, the uploader's delete window), sealed filenames and where the blobs
//! are placed (a directory or an S3 prefix).
//!
//! Invariant: a document's bytes reach the blob store only encrypted under its case
//! key, and its row is written only after its blob is complete, so a crash leaves an
//! orphan blob (swept) and never a row without its bytes.
pub mod blob_place;
pub(super) mod doc_fix;
pub(super) mod documents;
pub(super) mod filename;
pub(super) mod link_upload;
pub(super) mod live;
pub(super) mod upload_finish;
pub(super) mod upload_stream;
