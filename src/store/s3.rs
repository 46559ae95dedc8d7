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

/// Where the objects are and how to reach them (no secret: the keys are in
/// [`S3Credentials`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix, without leading or trailing slash (may be empty).
    pub prefix: String,
    /// Endpoint URL (`http://127.0.0.1:8333`); path-style addressing.
    pub endpoint: String,
    /// Region (signing only).
    pub region: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]` with its endpoint and region.
    pub fn parse(url: &str, endpoint: &str, region: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or("an S3 location starts with s3:// (s3://BUCKET/PREFIX)")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(
                "the bucket name must be 3 to 63 lower-case letters, digits, dots or hyphens"
                    .into(),
            );
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.len() <= 200
            && prefix.split('/').all(|seg| {
                seg.is_empty() && prefix.is_empty()
                    || (!seg.is_empty()
                        && seg != "."
                        && seg != ".."
                        && seg.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
                        }))
            });
        if !prefix_ok {
            return Err(
                "the prefix may hold only letters, digits, '-', '_', '.' and '/' between names"
                    .into(),
            );
        }
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || endpoint.contains(['@', '?', '#'])
        {
            return Err(
                "--s3-endpoint must be an http:// or https:// URL with no user, query or fragment (keys go in --s3-credentials)"
                    .into(),
            );
        }
        if region.is_empty() || region.len() > 64 {
            return Err("the region (AWS_REGION) must be a short name such as us-east-1".into());
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
        })
    }

    /// `s3://BUCKET/PREFIX`, for logs and messages.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The object key `PREFIX/rest`.
    pub fn key(&self, rest: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(rest)
        } else {
            ObjPath::from(format!("{}/{rest}", self.prefix))
        }
    }
}

/// The access key pair (wiped on drop; never printed).
#[derive(zeroize::ZeroizeOnDrop)]
pub struct S3Credentials {
    access_key: String,
    secret_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Credentials(..)")
    }
}

impl S3Credentials {
    /// From `file` (two lines, or `KEY=value` lines with `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`; readable by its owner only) or else the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<S3Credentials, String> {
        if let Some(f) = file {
            return Self::from_file(f);
        }
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(a), Ok(s)) if !a.is_empty() && !s.is_empty() => Ok(S3Credentials {
                access_key: a,
                secret_key: s,
            }),
            _ => Err("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --s3-credentials FILE (mode 0600)".into()),
        }
    }

    fn from_file(f: &std::path::Path) -> Result<S3Credentials, String> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(f).map_err(|e| format!("{}: {e}", f.display()))?;
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "{}: the S3 credentials file must be readable by its owner only (chmod 600)",
                f.display()
            ));
        }
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        );
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let pick = |name: &str| {
            lines.iter().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.trim_start().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
        };
        let (a, s) = match (pick("AWS_ACCESS_KEY_ID"), pick("AWS_SECRET_ACCESS_KEY")) {
            (Some(a), Some(s)) => (a, s),
            _ if lines.len() == 2 && !lines.iter().any(|l| l.contains('=')) => {
                (lines[0].to_string(), lines[1].to_string())
            }
            _ => {
                return Err(format!(
                    "{}: expected AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines (or the two keys on two lines)",
                    f.display()
                ));
            }
        };
        if a.is_empty() || s.is_empty() {
            return Err(format!("{}: an S3 key is empty", f.display()));
        }
        Ok(S3Credentials {
            access_key: a,
            secret_key: s,
        })
    }
}

/// How long the store's requests may take and how often they are retried.
#[derive(Clone, Debug)]
pub struct S3Tuning {
    /// A request (one part, one range) gives up after this long.
    pub request_timeout: Duration,
    /// Retries of a failing request stop after this long in all.
    pub retry_timeout: Duration,
    /// An unreferenced object or a stalled upload is left alone this long.
    pub grace: Duration,
}

impl Default for S3Tuning {
    fn default() -> Self {
        S3Tuning {
            request_timeout: Duration::from_secs(60),
            retry_timeout: Duration::from_secs(20),
            grace: Duration::from_secs(3600),
        }
    }
}

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

    /// Starts a blob under a fresh random name.
    pub fn create(self: &Arc<Self>) -> (BlobName, S3Writer) {
        let name = BlobName::random();
        let w = self.writer(self.blob_key(&name), Some(self.marker_key(&name)));
        (name, w)
    }

    /// Starts an object at `key`; a multipart upload announces itself at `marker`.
    pub fn writer(self: &Arc<Self>, key: ObjPath, marker: Option<ObjPath>) -> S3Writer {
        S3Writer {
            store: self.clone(),
            key,
            marker,
            buf: Vec::new(),
            upload: None,
            done: false,
        }
    }

    /// Opens a blob for streaming reads (ranged GETs, one read ahead).
    pub fn open(self: &Arc<Self>, name: &BlobName) -> io::Result<S3Reader> {
        self.reader(self.blob_key(name))
    }

    /// Opens the object at `key` for streaming reads.
    pub fn reader(self: &Arc<Self>, key: ObjPath) -> io::Result<S3Reader> {
        let size = self.size_of(key.clone())?;
        let mut r = S3Reader {
            store: self.clone(),
            key,
            size,
            next: 0,
            pending: None,
            cur: Bytes::new(),
        };
        r.fetch_ahead()?;
        Ok(r)
    }

    /// Size of a blob.
    pub fn size(&self, name: &BlobName) -> io::Result<u64> {
        self.size_of(self.blob_key(name))
    }

    /// Deletes a blob (and a leftover upload marker of that name).
    pub fn delete(&self, name: &BlobName) -> io::Result<()> {
        self.delete_key(self.blob_key(name))
    }

    /// Aborts uploads whose marker is older than the grace period and deletes blobs
    /// no row names that are older than it. Returns how many objects went.
    pub fn sweep(&self, is_referenced: impl Fn(&BlobName) -> bool) -> io::Result<usize> {
        // Not ours until the claim holds: another vault's objects could be here.
        if !self.is_claimed() {
            return Ok(0);
        }
        let grace = self.tuning.grace;
        let mut removed = 0;
        // Only keys exactly of our layout: a prefix nested under ours (another vault's,
        // a backup target's) lists here too, and is never touched.
        let ours = |key: &str, make: &dyn Fn(&BlobName) -> ObjPath| {
            key.rsplit('/')
                .next()
                .and_then(BlobName::parse)
                .filter(|n| make(n).as_ref() == key)
        };
        for (key, _, age) in self.list(MARKER_DIR)? {
            let Some(name) = ours(&key, &|n| self.marker_key(n)) else {
                continue;
            };
            if age < grace {
                continue;
            }
            if let Ok(id) = self.get_whole(ObjPath::from(key.as_str()))
                && let Ok(id) = String::from_utf8(id.to_vec())
            {
                let store = self.store.clone();
                let path = self.blob_key(&name);
                match self.block(async move {
                    store.abort_multipart(&path, &MultipartId::from(id)).await
                })? {
                    // Aborted, or already completed or aborted: the store says so.
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    // Kept, with its marker, for the next sweep.
                    Err(e) => return Err(io_err(e)),
                }
            }
            // A completed object stays while it is young (its row may be on the way).
            let old = self.age_of(self.blob_key(&name)).is_ok_and(|a| a >= grace);
            if old && !is_referenced(&name) {
                self.delete(&name)?;
            }
            self.delete_key(ObjPath::from(key.as_str()))?;
            removed += 1;
        }
        for (key, _, age) in self.list(BLOB_DIR)? {
            let Some(name) = ours(&key, &|n| self.blob_key(n)) else {
                continue;
            };
            if age >= grace && !is_referenced(&name) {
                self.delete(&name)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The time since `unix_secs` (zero for a time in the future).
fn age_since(unix_secs: i64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Duration::from_secs(u64::try_from(now.saturating_sub(unix_secs)).unwrap_or(0))
}

/// A multipart upload under way.
struct Multipart {
    id: MultipartId,
    parts: Vec<PartId>,
    pending: VecDeque<tokio::task::JoinHandle<Result<PartId, object_store::Error>>>,
    marker_touched: Instant,
}

/// A blob being written to S3. Dropped without [`S3Writer::commit`], its upload is
/// aborted and its marker removed (in the background).
pub struct S3Writer {
    store: Arc<S3Blobs>,
    key: ObjPath,
    marker: Option<ObjPath>,
    buf: Vec<u8>,
    upload: Option<Multipart>,
    done: bool,
}

impl S3Writer {
    fn start(&mut self) -> io::Result<()> {
        let store = self.store.store.clone();
        let path = self.key.clone();
        let id = self
            .store
            .block(async move { store.create_multipart(&path).await })?
            .map_err(io_err)?;
        if let Some(m) = &self.marker
            && let Err(e) = self
                .store
                .put_whole(m.clone(), Bytes::from(id.clone().into_bytes()))
        {
            // Unannounced, the upload would be found by no sweep: give it up now.
            let (store, path) = (self.store.store.clone(), self.key.clone());
            let _ = self
                .store
                .block(async move { store.abort_multipart(&path, &id).await });
            return Err(e);
        }
        self.upload = Some(Multipart {
            id,
            parts: Vec::new(),
            pending: VecDeque::new(),
            marker_touched: Instant::now(),
        });
        Ok(())
    }

    /// Sends the buffered bytes as the next part; waits while [`IN_FLIGHT`] are out.
    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            self.start()?;
        }
        let data = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PART)));
        let blobs = self.store.clone();
        let Some(up) = self.upload.as_mut() else {
            return Err(io::Error::other("no upload"));
        };
        while up.pending.len() >= IN_FLIGHT {
            wait_part(&blobs, up)?;
        }
        let store = blobs.store.clone();
        let path = self.key.clone();
        let (id, idx) = (up.id.clone(), up.parts.len() + up.pending.len());
        let handle = blobs.rt.handle()?.spawn(async move {
            store
                .put_part(&path, &id, idx, PutPayload::from(data))
                .await
        });
        up.pending.push_back(handle);
        Ok(())
    }

    /// Renews the marker well inside the grace period (on every write, not only per
    /// part), so a slow upload is never taken for a stalled one.
    fn touch_marker(&mut self) -> io::Result<()> {
        if let (Some(m), Some(up)) = (&self.marker, self.upload.as_mut())
            && up.marker_touched.elapsed() > self.store.tuning.grace / 4
        {
            self.store
                .put_whole(m.clone(), Bytes::from(up.id.clone().into_bytes()))?;
            up.marker_touched = Instant::now();
        }
        Ok(())
    }

    /// Completes the object: from now on it is readable, whole.
    pub fn commit(mut self) -> io::Result<()> {
        let blobs = self.store.clone();
        if self.upload.is_none() {
            let data = Bytes::from(std::mem::take(&mut self.buf));
            blobs.put_whole(self.key.clone(), data)?;
            self.done = true;
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        let Some(mut up) = self.upload.take() else {
            return Err(io::Error::other("no upload"));
        };
        let finish = (|| {
            while !up.pending.is_empty() {
                wait_part(&blobs, &mut up)?;
            }
            let store = blobs.store.clone();
            let path = self.key.clone();
            let (id, parts) = (up.id.clone(), std::mem::take(&mut up.parts));
            blobs
                .block(async move { store.complete_multipart(&path, &id, parts).await })?
                .map_err(io_err)
        })();
        if let Err(e) = finish {
            self.upload = Some(up);
            return Err(e);
        }
        self.done = true;
        // The object is whole; a marker left by a failure here is swept later (and
        // the sweep keeps the object, which a row then names).
        if let Some(m) = &self.marker
            && let Err(e) = blobs.delete_key(m.clone())
        {
            tracing::warn!(error = %e, "removing an upload marker failed; swept later");
        }
        Ok(())
    }
}

fn wait_part(blobs: &S3Blobs, up: &mut Multipart) -> io::Result<()> {
    let Some(h) = up.pending.pop_front() else {
        return Ok(());
    };
    let part = blobs
        .block(h)?
        .map_err(|_| io::Error::other("an upload task stopped"))?
        .map_err(io_err)?;
    up.parts.push(part);
    Ok(())
}

impl Write for S3Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.done {
            return Err(io::Error::other("blob already committed"));
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(PART);
        }
        self.touch_marker()?;
        let n = data.len().min(PART - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PART {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        let Some(up) = self.upload.take() else { return };
        if self.done {
            return;
        }
        for h in &up.pending {
            h.abort();
        }
        let store = self.store.store.clone();
        let path = self.key.clone();
        let marker = self.marker.clone();
        if let Ok(rt) = self.store.rt.handle() {
            rt.spawn(async move {
                // Best effort: a failure leaves the marker, and the sweep finishes this.
                if store.abort_multipart(&path, &up.id).await.is_ok()
                    && let Some(m) = marker
                {
                    let _ = store.delete(&m).await;
                }
            });
        }
    }
}

/// A blob being read from S3: one ranged GET in flight ahead of the bytes being read.
/// Its blocking waits are on the store's runtime, so it may be read from any thread.
pub struct S3Reader {
    store: Arc<S3Blobs>,
    key: ObjPath,
    size: u64,
    /// Where the next range starts.
    next: u64,
    pending: Option<tokio::task::JoinHandle<Result<Bytes, object_store::Error>>>,
    cur: Bytes,
}

impl S3Reader {
    /// Starts the GET of the next range, if any is left.
    fn fetch_ahead(&mut self) -> io::Result<()> {
        if self.next >= self.size {
            return Ok(());
        }
        let end = (self.next + RANGE).min(self.size);
        let (store, key, range) = (self.store.store.clone(), self.key.clone(), self.next..end);
        self.pending = Some(
            self.store
                .rt
                .handle()?
                .spawn(async move { store.get_range(&key, range).await }),
        );
        self.next = end;
        Ok(())
    }
}

impl Read for S3Reader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            let Some(h) = self.pending.take() else {
                return Ok(0);
            };
            self.cur = self
                .store
                .block(h)?
                .map_err(|_| io::Error::other("a download task stopped"))?
                .map_err(io_err)?;
            self.fetch_ahead()?;
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

impl Drop for S3Reader {
    fn drop(&mut self) {
        if let Some(h) = self.pending.take() {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let l = S3Location::parse(
            "s3://cv-docs/office-a/",
            "http://127.0.0.1:8333/",
            "us-east-1",
        )
        .unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("cv-docs", "office-a")
        );
        assert_eq!(l.endpoint, "http://127.0.0.1:8333");
        assert_eq!(l.key("blobs/ab").to_string(), "office-a/blobs/ab");
        let l = S3Location::parse("s3://cv-docs", "https://s3.example", "eu-west-1").unwrap();
        assert_eq!(l.key("blobs/ab").to_string(), "blobs/ab");
        for bad in [
            "cv-docs/x",
            "s3://UPPER/x",
            "s3://ab/x",
            "s3://cv-docs/../x",
            "s3://cv-docs/a//b",
            "s3://cv-docs/a b",
        ] {
            assert!(S3Location::parse(bad, "http://h", "r").is_err(), "{bad}");
        }
        assert!(S3Location::parse("s3://cv-docs/x", "ftp://h", "r").is_err());
        assert!(S3Location::parse("s3://cv-docs/x", "http://ak:sk@h", "r").is_err());
    }

    #[test]
    fn store_errors_lose_their_body() {
        let e = without_body(
            "PUT http://h/b/k failed - Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIA</AWSAccessKeyId><StringToSign>x</StringToSign></Error>",
        );
        assert!(
            e.ends_with("403 Forbidden (S3 error SignatureDoesNotMatch)"),
            "{e}"
        );
        assert!(!e.contains("AKIA") && !e.contains("StringToSign"), "{e}");
        assert_eq!(without_body("connection refused"), "connection refused");
    }

    #[test]
    fn credentials_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("creds");
        std::fs::write(&f, "AWS_ACCESS_KEY_ID=ak\nAWS_SECRET_ACCESS_KEY = \"sk\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = S3Credentials::load(Some(&f)).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = S3Credentials::load(Some(&f)).unwrap();
        assert_eq!((c.access_key.as_str(), c.secret_key.as_str()), ("ak", "sk"));
        assert_eq!(format!("{c:?}"), "S3Credentials(..)");
        std::fs::write(&f, "ak2\nsk2\n").unwrap();
        let c = S3Credentials::load(Some(&f)).unwrap();
        assert_eq!(c.secret_key, "sk2");
        std::fs::write(&f, "nonsense\n").unwrap();
        assert!(S3Credentials::load(Some(&f)).is_err());
    }
}
