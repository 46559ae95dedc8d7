//! The sweep: aborts stalled uploads and deletes unreferenced blobs past the grace
//! period, only under a prefix this vault has claimed.
use super::*;

impl S3Blobs {
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
pub(super) fn age_since(unix_secs: i64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Duration::from_secs(u64::try_from(now.saturating_sub(unix_secs)).unwrap_or(0))
}
