//! SHA-256 of what passes through a writer or a reader, as it passes.
use std::io::{self, Read, Write};

use ring::digest::{Context, SHA256};

/// A writer that hashes and counts what it forwards.
pub struct HashingWriter<W> {
    inner: W,
    ctx: Context,
    size: u64,
}

impl<W> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            ctx: Context::new(&SHA256),
            size: 0,
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// SHA-256 of the bytes written so far.
    pub fn digest(&self) -> [u8; 32] {
        finish(self.ctx.clone())
    }

    /// Unwraps the inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn finish(ctx: Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Size and SHA-256 of everything `r` yields, read in 256 KiB steps; `progress` is
/// told each step's length.
pub fn hash_reader(mut r: impl Read, progress: &mut dyn FnMut(u64)) -> io::Result<(u64, [u8; 32])> {
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((size, finish(ctx)));
        }
        ctx.update(&buf[..n]);
        size += n as u64;
        progress(n as u64);
    }
}
