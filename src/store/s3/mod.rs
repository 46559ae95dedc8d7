//! The S3 blob store: the same put/get/delete/sweep interface as the blob directory,
//! over an S3-compatible object store (SeaweedFS, Garage, MinIO, AWS) through the
//! `object_store` crate (reqwest + rustls on ring; retries with backoff).
//!
//! Invariants:
//! - Memory is fixed per transfer: an upload holds one part being filled and at most
//!   [`IN_FLIGHT`] parts on the wire ([`PART`] bytes each); a download holds at most
//!   two ranged reads of [`RANGE`] bytes (one being read, one on the wire).
//! - An object appears under its random name only complete: a small blob is one PUT at
//!   commit, a larger one a multipart upload completed at commit. The document row is
//!   written after that, so a row never names a partial object.
//! - A multipart upload in progress is announced by a marker object
//!   (`PREFIX/uploads/NAME`, holding only the upload id), renewed while it runs. The
//!   sweep aborts uploads whose marker is older than the grace period and deletes
//!   unreferenced blobs older than it, so it never touches an upload in progress.
//! - Everything stored is ciphertext (age payloads) under random names; the marker
//!   holds the store's upload id. Credentials never reach a log or an error message.
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{
    AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential, S3ConditionalPut,
};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjPath;
use object_store::{
    BackoffConfig, ClientOptions, MultipartId, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig,
};

use super::blob::{BlobName, unavailable};

/// Bytes per multipart part (S3's minimum for all but the last is 5 MiB).
pub const PART: usize = 5 * 1024 * 1024;
/// Parts on the wire at once per upload.
pub const IN_FLIGHT: usize = 2;
/// Bytes per ranged read of a download.
pub const RANGE: u64 = 4 * 1024 * 1024;

mod config;
mod reader;
mod sweep;
mod writer;

pub use config::{S3Credentials, S3Location, S3Tuning, connect, region};
pub use reader::S3Reader;
use sweep::age_since;
pub use writer::S3Writer;

/// The S3 blob store. It owns a small runtime of its own, so its blocking methods
/// may be called from any thread (a blocking pool thread, a runtime worker, a CLI).
pub struct S3Blobs {
    store: Arc<AmazonS3>,
    /// The vault that owns the prefix, once its marker is there (or read back):
    /// nothing is swept before.
    owner: std::sync::Mutex<Option<String>>,
    claimed: std::sync::atomic::AtomicBool,
    cred: Arc<AwsCredential>,
    loc: S3Location,
    tuning: S3Tuning,
    rt: Runtime,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs").field("loc", &self.loc).finish()
    }
}

/// A runtime that may be dropped anywhere (inside another runtime too).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn handle(&self) -> io::Result<&tokio::runtime::Runtime> {
        self.0
            .as_ref()
            .ok_or_else(|| io::Error::other("the S3 client has stopped"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// An object store error as an I/O error: "not found" as such, everything else as the
/// store being unavailable (see [`super::blob::is_unavailable`]).
fn io_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, "no such object")
        }
        other => unavailable(without_body(&other.to_string())),
    }
}

/// An error's text without the store's response body: an S3 error body can echo the
/// request's signing material (the access key id, the string signed). Its `<Code>` is
/// kept.
fn without_body(text: &str) -> String {
    let Some(at) = text.find("<?xml").or_else(|| text.find("<Error>")) else {
        return text.to_string();
    };
    let code = text[at..]
        .split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or("?");
    format!(
        "{} (S3 error {code})",
        text[..at].trim_end_matches([' ', ':'])
    )
}

const MARKER_DIR: &str = "uploads";
/// The object naming the vault that owns a prefix.
pub const OWNER_MARKER: &str = "casevault-vault";
/// The object naming a backup target's vault.
pub const BACKUP_MARKER: &str = "casevault-backup";
const BLOB_DIR: &str = "blobs";

impl S3Blobs {
    /// Connects (lazily: nothing is sent until the first request).
    pub fn new(loc: S3Location, creds: &S3Credentials, tuning: S3Tuning) -> io::Result<S3Blobs> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("casevault-s3")
            .enable_all()
            .build()?;
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(4),
                base: 2.0,
            },
            max_retries: 12,
            retry_timeout: tuning.retry_timeout,
        };
        let options = ClientOptions::new()
            .with_allow_http(loc.endpoint.starts_with("http://"))
            .with_timeout(tuning.request_timeout)
            .with_connect_timeout(Duration::from_secs(3))
            .with_pool_idle_timeout(Duration::from_secs(30));
        let store = AmazonS3Builder::new()
            .with_endpoint(&loc.endpoint)
            .with_bucket_name(&loc.bucket)
            .with_region(&loc.region)
            .with_access_key_id(&creds.access_key)
            .with_secret_access_key(&creds.secret_key)
            .with_virtual_hosted_style_request(false)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_retry(retry)
            .with_client_options(options)
            .build()
            .map_err(|e| io::Error::other(format!("S3 settings: {e}")))?;
        let cred = Arc::new(AwsCredential {
            key_id: creds.access_key.clone(),
            secret_key: creds.secret_key.clone(),
            token: None,
        });
        Ok(S3Blobs {
            store: Arc::new(store),
            owner: std::sync::Mutex::new(None),
            claimed: std::sync::atomic::AtomicBool::new(false),
            cred,
            loc,
            tuning,
            rt: Runtime(Some(rt)),
        })
    }

    /// Where the objects are.
    pub fn location(&self) -> &S3Location {
        &self.loc
    }

    /// The grace period of the sweep.
    pub fn grace(&self) -> Duration {
        self.tuning.grace
    }

    /// Runs `fut` on the store's runtime and waits for it from this thread.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> io::Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.handle()?.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the S3 client stopped mid-request"))
    }

    fn blob_key(&self, name: &BlobName) -> ObjPath {
        self.loc.key(&format!("{BLOB_DIR}/{}", name.as_str()))
    }

    fn marker_key(&self, name: &BlobName) -> ObjPath {
        self.loc.key(&format!("{MARKER_DIR}/{}", name.as_str()))
    }

    /// Puts a small object whole (a marker, a backup file).
    pub fn put_whole(&self, key: ObjPath, data: Bytes) -> io::Result<()> {
        let store = self.store.clone();
        self.block(async move { store.put(&key, PutPayload::from(data)).await })?
            .map(|_| ())
            .map_err(io_err)
    }

    /// Puts a small object only if none is at `key` yet (`If-None-Match: *`);
    /// `false` when one is.
    pub fn put_new(&self, key: ObjPath, data: Bytes) -> io::Result<bool> {
        let store = self.store.clone();
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self.block(async move { store.put_opts(&key, PutPayload::from(data), opts).await })? {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }

    /// A request signed with the store's keys (SigV4, object_store's signer) for what
    /// the object interface lacks: `method` on `ENDPOINT/BUCKET?query`. Returns the
    /// status and body.
    pub fn bucket_request(
        &self,
        method: &str,
        query: &str,
        body: Vec<u8>,
    ) -> io::Result<(u16, String)> {
        let url = format!("{}/{}?{query}", self.loc.endpoint, self.loc.bucket);
        let (cred, region) = (self.cred.clone(), self.loc.region.clone());
        let method = axum::http::Method::from_bytes(method.as_bytes())
            .map_err(|_| io::Error::other("bad method"))?;
        let timeout = self.tuning.request_timeout;
        self.block(async move {
            let mut req = axum::http::Request::builder()
                .method(method.clone())
                .uri(&url)
                .body(object_store::client::HttpRequestBody::from(body.clone()))
                .map_err(|e| unavailable(e.to_string()))?;
            AwsAuthorizer::new(&cred, "s3", &region).authorize(&mut req, None);
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(|e| unavailable(e.to_string()))?;
            let mut rb = client.request(method, &url).body(body);
            for (k, v) in req.headers() {
                rb = rb.header(k, v);
            }
            let resp = rb.send().await.map_err(|e| unavailable(e.to_string()))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| unavailable(e.to_string()))?;
            Ok((status, text))
        })?
    }

    /// The bucket's versioning: `Some("Enabled")`, `Some("Suspended")`, or `None`
    /// when it was never turned on.
    pub fn versioning(&self) -> io::Result<Option<String>> {
        let (status, body) = self.bucket_request("GET", "versioning", Vec::new())?;
        if !(200..300).contains(&status) {
            return Err(io::Error::other(format!(
                "the store answered {status} when asked about versioning"
            )));
        }
        Ok(body
            .split("<Status>")
            .nth(1)
            .and_then(|r| r.split("</Status>").next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    /// Reads a small object whole.
    pub fn get_whole(&self, key: ObjPath) -> io::Result<Bytes> {
        let store = self.store.clone();
        self.block(async move { store.get(&key).await?.bytes().await })?
            .map_err(io_err)
    }

    /// Size of an object (`NotFound` when absent).
    pub fn size_of(&self, key: ObjPath) -> io::Result<u64> {
        let store = self.store.clone();
        self.block(async move { store.head(&key).await })?
            .map(|m| m.size)
            .map_err(io_err)
    }

    /// How long ago an object was last written.
    pub fn age_of(&self, key: ObjPath) -> io::Result<Duration> {
        let store = self.store.clone();
        let meta = self
            .block(async move { store.head(&key).await })?
            .map_err(io_err)?;
        Ok(age_since(meta.last_modified.timestamp()))
    }

    /// Deletes an object; a missing one is not an error.
    pub fn delete_key(&self, key: ObjPath) -> io::Result<()> {
        let store = self.store.clone();
        match self.block(async move { store.delete(&key).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Every object under `PREFIX/rest/` with its age.
    pub fn list(&self, rest: &str) -> io::Result<Vec<(String, u64, Duration)>> {
        let store = self.store.clone();
        let prefix = self.loc.key(rest);
        let metas = self.block(async move {
            let mut out = Vec::new();
            let mut s = store.list(Some(&prefix));
            while let Some(m) = s.next().await {
                out.push(m?);
            }
            Ok::<_, object_store::Error>(out)
        })?;
        Ok(metas
            .map_err(io_err)?
            .into_iter()
            .map(|m| {
                let age = age_since(m.last_modified.timestamp());
                (m.location.to_string(), m.size, age)
            })
            .collect())
    }

    /// One cheap request that proves the store answers: a HEAD of the owner marker
    /// (claiming the prefix first if that has not happened yet).
    pub fn probe(&self) -> io::Result<()> {
        if !self.is_claimed() {
            return self.claim().map(|_| ());
        }
        self.size_of(self.loc.key(OWNER_MARKER)).map(|_| ())
    }

    /// Whether this vault's claim on the prefix is established.
    pub fn is_claimed(&self) -> bool {
        self.claimed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Makes `vault` the prefix's owner (or checks it is): its marker is made only if
    /// absent and read back. `Err(PermissionDenied)` when another vault, or a backup
    /// target, holds the prefix; an unavailable store is an error to retry.
    pub fn claim_for(&self, vault: &str) -> io::Result<()> {
        if let Ok(mut o) = self.owner.lock() {
            *o = Some(vault.to_string());
        }
        self.claim()
    }

    fn claim(&self) -> io::Result<()> {
        let Some(vault) = self.owner.lock().ok().and_then(|o| o.clone()) else {
            return Err(io::Error::other("no owner set"));
        };
        if self.size_of(self.loc.key(BACKUP_MARKER)).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} holds casevault backups: documents need a prefix of their own",
                    self.loc.url()
                ),
            ));
        }
        let key = self.loc.key(OWNER_MARKER);
        self.put_new(key.clone(), Bytes::from(vault.clone().into_bytes()))?;
        let held = self.get_whole(key)?;
        if held.as_ref() != vault.as_bytes() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to another vault: give each vault a prefix of its own",
                    self.loc.url()
                ),
            ));
        }
        self.claimed
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}
