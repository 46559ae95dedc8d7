//! Reads the rest of a small request body that the answer did not need, before the
//! answer goes out. Many answers come before the body is read (401 from the session
//! check, 403 from the origin gate, 404, 405, 415), and an HTTP/1.1 connection whose
//! request body was left unread is closed after the answer: a client still sending
//! then meets a closed socket (a reset, which can discard the answer it was about to
//! read) instead of the error that says what was wrong. Reading the little that is
//! left keeps the connection usable and the answer readable.
//!
//! Invariant: bounded. Only HTTP/1.1 bodies that declare at most [`LINGER_BYTES`] are
//! read, for at most [`LINGER_TIME`], and the bytes go nowhere; a larger body (an
//! upload refused part-way) still ends its connection, as before.
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Version, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};

/// The most of a body read only to be thrown away (as much as a JSON body may have).
pub(super) const LINGER_BYTES: u64 = 64 * 1024;

/// The longest a refused request's body is waited for.
pub(super) const LINGER_TIME: Duration = Duration::from_secs(2);

/// The request body, shared between the handler (which may read it) and this layer
/// (which reads what the handler left once the answer is ready).
type Slot = Arc<Mutex<Option<Body>>>;

struct Shared(Slot);

impl hyper::body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().is_none_or(hyper::body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .map(hyper::body::Body::size_hint)
            .unwrap_or_default()
    }
}

/// Whether the request has a small HTTP/1.1 body worth reading to its end.
fn lingers(req: &Request) -> bool {
    use hyper::body::Body as _;
    if req.version() != Version::HTTP_11 || req.body().is_end_stream() {
        return false;
    }
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= LINGER_BYTES)
}

/// The middleware, outermost: every early answer, the head limits' too, is covered.
pub(super) async fn read_unread_body(req: Request, next: Next) -> Response {
    if !lingers(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let slot: Slot = Arc::new(Mutex::new(Some(body)));
    let req = Request::from_parts(parts, Body::new(Shared(slot.clone())));
    let resp = next.run(req).await;
    let rest = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(mut body) = rest {
        let drain = async {
            let mut read = 0u64;
            while let Some(Ok(frame)) = body.frame().await {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
                if read > LINGER_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    }
    resp
}
