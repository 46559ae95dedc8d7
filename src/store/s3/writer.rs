//! Writing a blob: one PUT for a small one, a multipart upload with a renewed marker
//! for a larger one, completed only at commit.
use super::*;

impl S3Blobs {
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
