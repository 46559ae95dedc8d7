//! Documents as detached-header age files.
//!
//! An age file is `header || payload`; the header (ending at the `--- <mac>` line)
//! holds the only wrapped copy of the document's file key. The writer here sends the
//! header to memory (it goes to SQLite) and the payload to the blob store, so deleting
//! one database row makes the blob undecryptable. The plaintext is padded (Padmé)
//! with zeros before encryption so stored sizes reveal little; the real size is kept
//! in the encrypted document metadata.
use std::io::{self, Read, Write};

use super::{CaseKey, CryptoError, padme, parse_recipient};

/// Splits a complete age file into `(header, payload)` at the end of the `---` line.
/// Returns `None` when no complete header is present.
pub fn split_header(file: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = header_end(file)?;
    Some(file.split_at(end))
}

/// The offset just past the header's MAC line, if the buffer contains it.
fn header_end(buf: &[u8]) -> Option<usize> {
    // Every header line ends in '\n'; the MAC line is the first to start with "--- ".
    let mut line_start = 0;
    while line_start < buf.len() {
        let nl = buf[line_start..].iter().position(|&b| b == b'\n')? + line_start;
        if buf[line_start..nl].starts_with(b"--- ") {
            return Some(nl + 1);
        }
        line_start = nl + 1;
    }
    None
}

/// Sends everything up to the end of the age header into `header`, the rest to `inner`.
struct HeaderSplit<W> {
    header: Vec<u8>,
    done: bool,
    inner: W,
}

const MAX_HEADER: usize = 64 * 1024;

impl<W: Write> Write for HeaderSplit<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.done {
            return self.inner.write(buf);
        }
        self.header.extend_from_slice(buf);
        if let Some(end) = header_end(&self.header) {
            let rest = self.header.split_off(end);
            self.done = true;
            self.inner.write_all(&rest)?;
        } else if self.header.len() > MAX_HEADER {
            return Err(io::Error::other("age header too large"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Streams a document's plaintext into an age payload written to `W`.
pub struct DocumentWriter<W: Write> {
    stream: age::stream::StreamWriter<HeaderSplit<W>>,
    written: u64,
}

/// What a finished document writer hands back.
pub struct FinishedDocument<W> {
    /// The age header (goes to the database).
    pub header: Vec<u8>,
    /// The real plaintext length.
    pub size: u64,
    /// The padded plaintext length (what the payload's size reveals).
    pub padded_size: u64,
    /// The payload sink, flushed.
    pub sink: W,
}

impl<W: Write> DocumentWriter<W> {
    /// Starts an age file to the case recipient; the payload goes to `sink`.
    pub fn new(case_recipient: &str, sink: W) -> Result<Self, CryptoError> {
        let recipient = parse_recipient(case_recipient)?;
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|_| CryptoError::InvalidKey)?;
        let split = HeaderSplit {
            header: Vec::with_capacity(256),
            done: false,
            inner: sink,
        };
        Ok(DocumentWriter {
            stream: encryptor.wrap_output(split)?,
            written: 0,
        })
    }

    /// Bytes of plaintext written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Pads, closes the age stream and returns the header and sink.
    pub fn finish(mut self) -> Result<FinishedDocument<W>, CryptoError> {
        let size = self.written;
        let padded_size = padme(size);
        let zeros = [0u8; 8192];
        let mut left = padded_size - size;
        while left > 0 {
            let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
            self.stream.write_all(&zeros[..n])?;
            left -= n as u64;
        }
        let mut split = self.stream.finish()?;
        split.flush()?;
        if !split.done {
            return Err(CryptoError::Io(io::Error::other("age header incomplete")));
        }
        Ok(FinishedDocument {
            header: split.header,
            size,
            padded_size,
            sink: split.inner,
        })
    }
}

impl<W: Write> Write for DocumentWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Plaintext reader over `header || payload`, yielding exactly the real size. The
/// padding is read and authenticated before EOF is reported, so a truncated or
/// altered payload is an error, never a silently short document.
pub struct DocumentReader<R: Read> {
    inner: age::stream::StreamReader<io::Chain<io::Cursor<Vec<u8>>, R>>,
    remaining: u64,
    drained: bool,
}

impl<R: Read> DocumentReader<R> {
    pub(super) fn new(
        key: &CaseKey,
        header: &[u8],
        payload: R,
        size: u64,
    ) -> Result<Self, CryptoError> {
        let input = io::Cursor::new(header.to_vec()).chain(payload);
        let decryptor = age::Decryptor::new(input).map_err(|_| CryptoError::DecryptionFailed)?;
        let inner = decryptor
            .decrypt(std::iter::once(key.age_identity() as &dyn age::Identity))
            .map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(DocumentReader {
            inner,
            remaining: size,
            drained: false,
        })
    }
}

impl<R: Read> Read for DocumentReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            if !self.drained {
                let mut sink = [0u8; 8192];
                loop {
                    let n = self.inner.read(&mut sink)?;
                    if n == 0 {
                        break;
                    }
                    if sink[..n].iter().any(|&b| b != 0) {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad padding"));
                    }
                }
                self.drained = true;
            }
            return Ok(0);
        }
        let want = usize::try_from(self.remaining.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "document truncated",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{CaseKey, OfficeKey};

    fn case() -> (CaseKey, String) {
        let office = OfficeKey::generate();
        let nc = CaseKey::create(&office.recipient()).unwrap();
        (
            office.unwrap_case(&nc.wrapped_identity).unwrap(),
            nc.recipient,
        )
    }

    fn store(recipient: &str, data: &[u8]) -> (Vec<u8>, Vec<u8>, u64) {
        let mut w = DocumentWriter::new(recipient, Vec::new()).unwrap();
        w.write_all(data).unwrap();
        let f = w.finish().unwrap();
        (f.header, f.sink, f.size)
    }

    #[test]
    fn header_ends_at_mac_line() {
        let (_, r) = case();
        let (header, payload, _) = store(&r, b"hello");
        assert!(header.starts_with(b"age-encryption.org/v1\n"));
        let last_line = header[..header.len() - 1]
            .rsplit(|&b| b == b'\n')
            .next()
            .unwrap();
        assert!(last_line.starts_with(b"--- "));
        // Payload = 16-byte nonce + one chunk (padded plaintext + 16-byte tag).
        assert_eq!(payload.len() as u64, 16 + padme(5) + 16);
        let mut whole = header.clone();
        whole.extend_from_slice(&payload);
        let (h, p) = split_header(&whole).unwrap();
        assert_eq!((h, p), (&header[..], &payload[..]));
    }

    #[test]
    fn round_trip_sizes_across_chunk_boundaries() {
        let (key, r) = case();
        for size in [0usize, 1, 65_535, 65_536, 65_537, 200_000] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let (h, p, s) = store(&r, &data);
            assert_eq!(s, size as u64);
            let mut out = Vec::new();
            open_reader(&key, &h, &p, s).read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "size {size}");
        }
    }

    fn open_reader<'a>(key: &CaseKey, h: &[u8], p: &'a [u8], s: u64) -> DocumentReader<&'a [u8]> {
        DocumentReader::new(key, h, p, s).unwrap()
    }

    #[test]
    fn blob_alone_or_swapped_header_fails() {
        let (key, r) = case();
        let (h1, p1, s1) = store(&r, b"document one");
        let (h2, _p2, _) = store(&r, b"document two");
        // No header: not an age file at all.
        assert!(DocumentReader::new(&key, b"", &p1[..], s1).is_err());
        // Another document's header: the payload key differs, so the first chunk fails.
        let mut out = Vec::new();
        let res = DocumentReader::new(&key, &h2, &p1[..], s1)
            .and_then(|mut rd| rd.read_to_end(&mut out).map_err(CryptoError::Io));
        assert!(res.is_err());
        // The right header still works.
        let mut ok = Vec::new();
        DocumentReader::new(&key, &h1, &p1[..], s1)
            .unwrap()
            .read_to_end(&mut ok)
            .unwrap();
        assert_eq!(ok, b"document one");
    }

    #[test]
    fn truncated_payload_is_an_error() {
        let (key, r) = case();
        let data = vec![7u8; 100_000];
        let (h, p, s) = store(&r, &data);
        let cut = &p[..p.len() - 10];
        let mut out = Vec::new();
        assert!(
            DocumentReader::new(&key, &h, cut, s)
                .unwrap()
                .read_to_end(&mut out)
                .is_err()
        );
    }
}
