//! One connection's life, from accept to close: the per-address cap, the TLS
//! handshake, HTTP/1.1 or HTTP/2 as the handshake agreed, and the deadlines that stop
//! a client who starts and then sends nothing from holding anything for long.
//!
//! Invariant: what a client holds is bounded in number (connections per address and
//! in all, requests in progress per address, HTTP/2 streams per connection), in memory (HTTP/1.1 buffer and HTTP/2
//! header-list limits here; every request body is read by an extractor with its own
//! limit, or streamed) and in time while the client is silent: the TLS handshake, a
//! request's headers, every wait for a request-body frame, and a connection on which
//! no request is being handled and nothing moves all have deadlines
//! (`[connections]` in `settings.toml`). Nothing here logs an address.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::config::ConnectionSettings;

/// HTTP/1.1: the most a connection buffers, the request line and headers included.
/// Above `edge::head`'s limits (8 KiB of URI, 16 KiB of headers), so that a head over
/// those gets their JSON 414 or 431 rather than hyper's empty 431.
const H1_MAX_BUF: usize = 64 * 1024;

/// HTTP/2: the largest header list a request may carry (announced in SETTINGS). h2
/// counts each field as name, value and 32 bytes: `edge::head`'s limits (8 KiB of
/// path, 16 KiB in 64 fields) come to about 26 KiB, below this.
const H2_MAX_HEADER_LIST: u32 = 32 * 1024;

/// The deadlines and stream limit of every connection, from `[connections]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    tls_handshake: Duration,
    header_read: Duration,
    body_idle: Duration,
    idle: Duration,
    h2_streams: u32,
    h2_keep_alive: Duration,
}

impl Limits {
    pub(super) fn new(c: &ConnectionSettings) -> Self {
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        Limits {
            tls_handshake: secs(c.tls_handshake_seconds),
            header_read: secs(c.header_read_seconds),
            body_idle: secs(c.body_idle_seconds),
            idle: secs(c.idle_seconds),
            h2_streams: c.h2_max_streams,
            h2_keep_alive: secs(c.h2_keep_alive_seconds),
        }
    }
}

/// How many connections (or requests in progress) each client address holds. An
/// address at its cap gets no more until one of its own ends, so one address cannot
/// take the slots, or the memory, that everyone shares.
pub(super) struct PerAddress {
    cap: u32,
    held: Mutex<HashMap<IpAddr, u32>>,
}

/// One connection (or request) counted against its address; the count drops when
/// this does.
pub(super) struct AddressSlot {
    map: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    pub(super) fn new(cap: u32) -> Arc<Self> {
        Arc::new(PerAddress {
            cap,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// Counts one more for `peer`, or `None` when its address is at the cap.
    pub(super) fn try_hold(self: &Arc<Self>, peer: IpAddr) -> Option<AddressSlot> {
        let key = address_key(peer);
        let mut held = self.lock();
        let n = held.get(&key).copied().unwrap_or(0);
        if n >= self.cap {
            return None;
        }
        held.insert(key, n + 1);
        Some(AddressSlot {
            map: self.clone(),
            key,
        })
    }

    /// The map stays consistent whatever panicked while holding it (each change is
    /// one insert or remove), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn count(&self, peer: IpAddr) -> u32 {
        self.lock().get(&address_key(peer)).copied().unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = self.map.lock();
        match held.get(&self.key).copied() {
            Some(n) if n > 1 => {
                held.insert(self.key, n - 1);
            }
            _ => {
                held.remove(&self.key);
            }
        }
    }
}

/// The address a cap counts by: IPv4 as it is (also when mapped into IPv6), IPv6 by
/// its /64, which one subscriber is given whole.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// What a connection is doing: how many requests are being handled, and when
/// something last happened (the connection began, a request began or was answered,
/// a body frame moved either way). Pings and bytes that belong to no request do not
/// count, so an HTTP/2 connection that only answers pings is still idle.
struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Activity {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Release);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        self.epoch.elapsed().saturating_sub(last)
    }

    /// Marks a request as being handled until the guard drops.
    fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(self.clone())
    }
}

struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Resolves once the connection has had no request being handled and nothing
/// happening for `idle`. A handler that works long is not cut off here (its body
/// reads have their own deadline).
async fn quiet(act: &Activity, idle: Duration) {
    loop {
        let quiet = act.quiet_for();
        let busy = act.busy.load(Ordering::Acquire) > 0;
        if !busy && quiet >= idle {
            return;
        }
        let wait = if busy { idle } else { idle - quiet };
        tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
    }
}

/// Why a request body ended early.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// The client sent nothing for the configured time while the body was read.
    #[error("the request body stopped arriving")]
    Idle,
    /// The connection failed while the body was read.
    #[error("reading the request body failed")]
    Read(#[source] hyper::Error),
}

/// A request body that fails with [`BodyError::Idle`] once the client has sent
/// nothing for `idle` while it is being read. The clock runs only while a reader
/// waits, so a handler that reads late loses nothing.
pub(super) struct IdleBody {
    inner: Incoming,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    waiting: bool,
    failed: bool,
    act: Arc<Activity>,
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                this.act.touch();
                Poll::Ready(frame.map(|f| f.map_err(BodyError::Read)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if !this.waiting {
                    timer.as_mut().reset(Instant::now() + idle);
                    this.waiting = true;
                }
                if timer.as_mut().poll(cx).is_ready() {
                    this.failed = true;
                    return Poll::Ready(Some(Err(BodyError::Idle)));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that counts each frame it hands over as activity: a download
/// the client keeps reading is not idle, one it stopped reading is. It holds its
/// request's place in the per-address count until it is dropped (sent or abandoned).
pub(super) struct TrackedBody {
    inner: axum::body::Body,
    act: Arc<Activity>,
    _request: Option<AddressSlot>,
}

/// The answer to a request over its address's cap: 429 at once, nothing decided,
/// nothing audited (in the API's error shape under `/api/`).
fn too_many(api: bool, act: Arc<Activity>) -> hyper::Response<TrackedBody> {
    use axum::http::{HeaderValue, StatusCode, header};
    let (content_type, text) = if api {
        (
            "application/json",
            r#"{"error":{"code":"too_many_requests","message":"too many requests at once from this address; try again in a moment"}}"#,
        )
    } else {
        (
            "text/plain; charset=utf-8",
            "Too many requests at once from this address. Try again in a moment.",
        )
    };
    let mut resp = hyper::Response::new(TrackedBody {
        inner: axum::body::Body::from(text),
        act,
        _request: None,
    });
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            this.act.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Which HTTP a connection speaks.
#[derive(Clone, Copy)]
enum Proto {
    H1,
    H2,
    /// Plain HTTP: read from the client's first bytes.
    Detect,
}

/// Serves one accepted connection until it closes, falls quiet for too long, or the
/// server shuts down. `requests` counts its requests in progress against its
/// address (none over plain HTTP, whose every connection is the proxy's).
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    requests: Option<Arc<PerAddress>>,
    router: axum::Router,
    limits: Limits,
    watcher: Watcher,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        Some(acceptor) => {
            let handshake = tokio::time::timeout(limits.tls_handshake, acceptor.accept(stream));
            let Ok(Ok(tls)) = handshake.await else {
                return;
            };
            // TLS agrees on the protocol (ALPN): no waiting for the client to show it.
            let proto = match tls.get_ref().1.alpn_protocol() {
                Some(b"h2") => Proto::H2,
                _ => Proto::H1,
            };
            let conn = Conn {
                proto,
                peer,
                requests,
                limits,
            };
            http(tls, conn, router, watcher).await;
        }
        None => {
            let conn = Conn {
                proto: Proto::Detect,
                peer,
                requests,
                limits,
            };
            http(stream, conn, router, watcher).await;
        }
    }
}

/// What the HTTP layer of one connection needs to know.
struct Conn {
    proto: Proto,
    peer: SocketAddr,
    requests: Option<Arc<PerAddress>>,
    limits: Limits,
}

async fn http<I>(io: I, conn: Conn, router: axum::Router, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Conn {
        proto,
        peer,
        requests,
        limits,
    } = conn;
    let act = Activity::new();
    act.touch();
    let svc = {
        let act = act.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let busy = act.busy();
            let act = act.clone();
            let request = requests.as_ref().map(|r| r.try_hold(peer.ip()));
            let api = req.uri().path().starts_with("/api/");
            let mut req = req.map(|inner| IdleBody {
                inner,
                idle: limits.body_idle,
                timer: None,
                waiting: false,
                failed: false,
                act: act.clone(),
            });
            // The client's address, for throttling only (axum's own type, so that
            // `http/` and `web/` need nothing from here).
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let mut router = router.clone();
            async move {
                let request = match request {
                    Some(None) => return Ok(too_many(api, act)),
                    Some(Some(slot)) => Some(slot),
                    None => None,
                };
                let resp = tower_service::Service::call(&mut router, req).await;
                drop(busy);
                resp.map(|r| {
                    r.map(|inner| TrackedBody {
                        inner,
                        act,
                        _request: request,
                    })
                })
            }
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(H1_MAX_BUF);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_streams)
        .max_header_list_size(H2_MAX_HEADER_LIST)
        .keep_alive_interval(limits.h2_keep_alive)
        .keep_alive_timeout(limits.h2_keep_alive);
    let builder = match proto {
        Proto::H1 => builder.http1_only(),
        Proto::H2 => builder.http2_only(),
        Proto::Detect => builder,
    };
    let conn = builder.serve_connection(TokioIo::new(io), svc).into_owned();
    tokio::select! {
        _ = watcher.watch(conn) => {}
        _ = quiet(&act, limits.idle) => {
            tracing::debug!("closed a connection on which nothing happened");
        }
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
