//! Reading a blob: ranged GETs with one read ahead.
use super::*;

impl S3Blobs {
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
