//! The one multipart body the pages read: the upload form for browsers without
//! JavaScript (`multipart/form-data`, RFC 7578: a `csrf` field, then the file). A
//! strict reader that streams: the caller takes one part at a time, reads a small
//! field whole under a limit it names, and takes the file as a stream of chunks.
//!
//! Invariant: whatever arrives, the reader holds at most a fixed amount besides the
//! one network frame it is looking at: the boundary is at most 70 characters
//! (RFC 2046), the preamble and each part's header block have small limits, and a
//! part's content is handed on as it comes, keeping back only the bytes that might
//! begin the next delimiter. A body that breaks the format is an error, never a guess.
use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// Bytes before the first delimiter (browsers send none).
const MAX_PREAMBLE: usize = 1024;

/// One part's header block.
const MAX_HEADERS: usize = 8 * 1024;

/// Spaces and tabs allowed after a delimiter, before its line ends.
const MAX_PADDING: usize = 32;

/// Why a form could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum FormError {
    /// The body does not follow the multipart format (or ended early).
    #[error("the form is malformed")]
    Malformed,
    /// A part or header block is longer than its limit.
    #[error("a part of the form is too large")]
    TooLarge,
    /// The body stopped arriving (the client went away or fell silent).
    #[error("the form did not arrive whole")]
    Interrupted,
}

/// What a part's headers say.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Part {
    /// The field's name.
    pub name: Option<String>,
    /// The file's name, for a file field (as the browser sent it).
    pub filename: Option<String>,
    /// The part's declared content type.
    pub content_type: Option<String>,
}

/// The boundary of a `multipart/form-data` content type, or `None` when the type
/// is another or its boundary is missing or not one RFC 2046 allows.
pub(super) fn boundary(content_type: Option<&str>) -> Option<String> {
    let mut params = content_type?.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let value = params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then_some(v.trim())
    })?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None => value,
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    let valid = !value.is_empty()
        && value.len() <= MAX_BOUNDARY
        && value.chars().all(allowed)
        && !value.ends_with(' ');
    valid.then(|| value.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: the closing `--`, or the end of its line.
    Delimiter,
    /// In a part's content.
    Content,
    /// After the closing delimiter.
    Closed,
    /// After an error: nothing more is read.
    Failed,
}

/// A multipart body being read.
pub(super) struct Form<S> {
    body: S,
    /// `CRLF--boundary`: what ends every part's content.
    delimiter: Vec<u8>,
    buf: BytesMut,
    state: State,
}

impl<S, E> Form<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    /// Reads `body` as a form whose parts are separated by `boundary` (from
    /// [`boundary`]).
    pub(super) fn new(body: S, boundary: &str) -> Self {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        // The first delimiter has no line break before it unless a preamble came
        // first: one is supplied, so that one search finds every delimiter.
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(b"\r\n");
        Form {
            body,
            delimiter,
            buf,
            state: State::Preamble,
        }
    }

    /// One more frame of the body into the buffer; the body ending here, before the
    /// closing delimiter, is a malformed form.
    async fn fill(&mut self) -> Result<(), FormError> {
        match self.body.next().await {
            Some(Ok(frame)) => {
                self.buf.extend_from_slice(&frame);
                Ok(())
            }
            Some(Err(_)) => Err(FormError::Interrupted),
            None => Err(FormError::Malformed),
        }
    }

    fn fail<T>(&mut self, e: FormError) -> Result<T, FormError> {
        self.state = State::Failed;
        self.buf = BytesMut::new();
        Err(e)
    }

    /// The next part's headers, or `None` after the closing delimiter. What is left
    /// of the current part is skipped (read and dropped, never held).
    pub(super) async fn next_part(&mut self) -> Result<Option<Part>, FormError> {
        loop {
            match self.state {
                State::Failed => return Err(FormError::Malformed),
                State::Closed => return Ok(None),
                State::Content => while self.next_chunk().await?.is_some() {},
                State::Preamble => match find(&self.buf, &self.delimiter) {
                    Some(at) => {
                        self.buf.advance(at + self.delimiter.len());
                        self.state = State::Delimiter;
                    }
                    None if self.buf.len() > MAX_PREAMBLE + self.delimiter.len() => {
                        return self.fail(FormError::Malformed);
                    }
                    None => {
                        if let Err(e) = self.fill().await {
                            return self.fail(e);
                        }
                    }
                },
                State::Delimiter => match self.after_delimiter() {
                    Some(Ok(true)) => return self.headers().await.map(Some),
                    Some(Ok(false)) => {
                        self.state = State::Closed;
                        self.buf = BytesMut::new();
                        return Ok(None);
                    }
                    Some(Err(e)) => return self.fail(e),
                    None => {
                        if let Err(e) = self.fill().await {
                            return self.fail(e);
                        }
                    }
                },
            }
        }
    }

    /// After a delimiter: `Some(Ok(true))` when a part follows (its line consumed),
    /// `Some(Ok(false))` at the closing delimiter, `None` when more bytes are needed.
    fn after_delimiter(&mut self) -> Option<Result<bool, FormError>> {
        if self.buf.starts_with(b"--") {
            return Some(Ok(false));
        }
        let padding = self
            .buf
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if padding > MAX_PADDING {
            return Some(Err(FormError::Malformed));
        }
        let rest = &self.buf[padding..];
        if rest.len() < 2 {
            // "-" alone may still become the closing "--".
            return None;
        }
        if !rest.starts_with(b"\r\n") {
            return Some(Err(FormError::Malformed));
        }
        self.buf.advance(padding + 2);
        Some(Ok(true))
    }

    /// Reads a part's header block (at most [`MAX_HEADERS`] bytes) and parses it.
    async fn headers(&mut self) -> Result<Part, FormError> {
        loop {
            // No header at all: the block is just its closing line break.
            if self.buf.starts_with(b"\r\n") {
                return self.fail(FormError::Malformed);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let block = self.buf.split_to(end + 4);
                let Some(part) = parse_headers(&block[..end]) else {
                    return self.fail(FormError::Malformed);
                };
                self.state = State::Content;
                return Ok(part);
            }
            if self.buf.len() > MAX_HEADERS {
                return self.fail(FormError::TooLarge);
            }
            if let Err(e) = self.fill().await {
                return self.fail(e);
            }
        }
    }

    /// The next chunk of the current part's content, or `None` at its end.
    pub(super) async fn next_chunk(&mut self) -> Result<Option<Bytes>, FormError> {
        if self.state != State::Content {
            return Ok(None);
        }
        loop {
            if let Some(at) = find(&self.buf, &self.delimiter) {
                if at > 0 {
                    return Ok(Some(self.buf.split_to(at).freeze()));
                }
                self.buf.advance(self.delimiter.len());
                self.state = State::Delimiter;
                return Ok(None);
            }
            // What could be the start of a delimiter stays; the rest is content.
            let keep = self.delimiter.len() - 1;
            if self.buf.len() > keep {
                let n = self.buf.len() - keep;
                return Ok(Some(self.buf.split_to(n).freeze()));
            }
            if let Err(e) = self.fill().await {
                return self.fail(e);
            }
        }
    }

    /// The current part's content whole, or [`FormError::TooLarge`] as soon as it
    /// passes `max` bytes.
    pub(super) async fn read_small(&mut self, max: usize) -> Result<Vec<u8>, FormError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk().await? {
            if out.len() + chunk.len() > max {
                return self.fail(FormError::TooLarge);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The current part's content as a stream of chunks; it ends with the part, and
    /// an error ends it too.
    pub(super) fn content(&mut self) -> impl Stream<Item = Result<Bytes, FormError>> + '_ {
        futures_util::stream::unfold(Some(self), |form| async move {
            let form = form?;
            match form.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(form))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

/// Where `needle` first occurs whole in `hay`. Every needle here begins with CR and
/// has no other CR but, for the header end, at index 2; after a failed comparison
/// the next candidate lies past the bytes compared, so the search is linear.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(offset) = hay.get(from..)?.iter().position(|b| *b == first) {
        let at = from + offset;
        let rest = hay.get(at..)?;
        if rest.len() < needle.len() {
            return None;
        }
        if rest.starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A part's header block: `Content-Disposition: form-data` with its `name` and
/// `filename`, and `Content-Type`. Other headers are ignored; folded lines, a
/// header without a colon, text that is not UTF-8 or a second disposition are not.
fn parse_headers(block: &[u8]) -> Option<Part> {
    let text = std::str::from_utf8(block).ok()?;
    let mut part = Part::default();
    let mut disposition = false;
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            return None;
        }
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            if disposition {
                return None;
            }
            disposition = true;
            let (kind, params) = disposition_params(value)?;
            if !kind.eq_ignore_ascii_case("form-data") {
                return None;
            }
            for (k, v) in params {
                if k.eq_ignore_ascii_case("name") {
                    part.name = Some(v);
                } else if k.eq_ignore_ascii_case("filename") {
                    part.filename = Some(v);
                }
            }
        } else if name.eq_ignore_ascii_case("content-type") {
            part.content_type = Some(value.to_string());
        }
    }
    disposition.then_some(part)
}

/// `form-data; name="x"; filename="y"` as its kind and parameters. A quoted value
/// runs to the next `"`: browsers send a `"` in a name as `%22` and never escape
/// with a backslash (the HTML standard), so a backslash is a character like any other.
fn disposition_params(value: &str) -> Option<(&str, Vec<(&str, String)>)> {
    let (kind, mut rest) = match value.split_once(';') {
        Some((k, r)) => (k.trim(), r),
        None => (value.trim(), ""),
    };
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Some((kind, params));
        }
        let (key, after) = rest.split_once('=')?;
        let key = key.trim();
        let after = after.trim_start();
        let (v, tail) = match after.strip_prefix('"') {
            Some(quoted) => {
                let (v, tail) = quoted.split_once('"')?;
                (v.to_string(), tail)
            }
            None => match after.split_once(';') {
                Some((v, tail)) => (v.trim().to_string(), tail),
                None => (after.trim().to_string(), ""),
            },
        };
        let tail = tail.trim_start();
        if !(tail.is_empty() || tail.starts_with(';')) {
            return None;
        }
        params.push((key, v));
        rest = tail;
    }
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
