//! Memory and connection exhaustion (issue 9, items 2 and 3), measured against the
//! real binary in a child process: its peak resident memory (`VmHWM` in
//! `/proc/PID/status`) and whether a client from another address is still served.
//! Time only ever bounds a failure (a generous guard), never decides a pass.
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::childkit::{Server, start};

/// What every body sent at the server below weighs: far more than it may hold.
const BIG: usize = 300 * 1024 * 1024;

/// The most the server may hold at its peak, whatever it was sent.
const MAX_PEAK_KIB: u64 = 100 * 1024;

/// The failure guard: a pass never waits for it.
const GUARD: Duration = Duration::from_secs(10);

/// The multipart boundary the probes declare.
const BOUNDARY: &str = "dosprobeboundary";

/// A body of `prefix` followed by `BIG` bytes of `b'a'` (never a line break, so it
/// never ends a header or starts a boundary), produced as it is sent.
fn big_body(prefix: String) -> reqwest::Body {
    let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = std::iter::once(Bytes::from(prefix))
        .chain(std::iter::repeat_n(chunk, BIG / (64 * 1024)))
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// Sends `body` and asserts the server refused it: a 4xx answer or a closed
/// connection, never a success or a server error.
async fn refused(req: reqwest::RequestBuilder, body: reqwest::Body, what: &str) {
    match req.body(body).send().await {
        Ok(r) => assert!(
            r.status().is_client_error(),
            "{what}: answered {}",
            r.status()
        ),
        // The server closed the connection before the body was all sent.
        Err(e) => assert!(!e.is_timeout(), "{what}: {e}"),
    }
}

async fn csrf_of(c: &Client, s: &Server) -> String {
    let me: Value = c
        .get(s.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["csrf_token"].as_str().unwrap().to_string()
}

async fn document_count(c: &Client, s: &Server, case: &str) -> usize {
    let v: Value = c
        .get(s.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["documents"].as_array().unwrap().len()
}

async fn new_case(c: &Client, s: &Server, office: &str) -> String {
    let r = c
        .post(s.url("/cases"))
        .json(&json!({"office": office, "client_name": "Memory Probe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The multipart bodies that a boundary search or a header search would buffer
/// whole, sent by a partner (who may not see the case) and by the caseworker whose
/// case it is; then the other body readers (JSON, forms) with the same weight. The
/// server's peak memory stays small and nothing is stored.
#[tokio::test]
async fn no_request_body_makes_the_server_hold_much_memory() {
    let s = start(&[]);
    let alice = s.login("alice").await;
    let pat = s.login("pat").await;
    let bob = s.login("bob").await;
    let case = new_case(&alice, &s, "bronx").await;
    let queens = new_case(&bob, &s, "queens").await;
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    for (who, c) in [("pat", &pat), ("alice", &alice)] {
        let token = csrf_of(c, &s).await;
        let csrf_part = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
        );
        let file_head = "Content-Disposition: form-data; name=\"file\"; filename=\"probe.pdf\"";
        let probes: Vec<(&str, String, &str)> = vec![
            // No boundary ever comes.
            ("no boundary in the body", String::new(), &multipart),
            // No boundary parameter at all.
            (
                "no boundary parameter",
                String::new(),
                "multipart/form-data",
            ),
            // The first part's header never ends.
            (
                "a first part header that never ends",
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\nX-Pad: "),
                &multipart,
            ),
            // The first field (where the token goes) never ends.
            (
                "a huge first field",
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"),
                &multipart,
            ),
            // A valid token, then the file part's header never ends.
            (
                "a file part header that never ends",
                format!("{csrf_part}--{BOUNDARY}\r\n{file_head}\r\nX-Pad: "),
                &multipart,
            ),
            // A valid token, then a file for a case of another office.
            (
                "a file for a case the sender may not see",
                format!("{csrf_part}--{BOUNDARY}\r\n{file_head}\r\n\r\n"),
                &multipart,
            ),
        ];
        for (what, prefix, content_type) in probes {
            // The partner may not see `case`; nobody here may see `queens` except bob.
            let target = if what.contains("may not see") {
                &queens
            } else {
                &case
            };
            let req = c
                .post(format!("{}/cases/{target}/documents", s.base()))
                .header("content-type", content_type);
            refused(req, big_body(prefix), &format!("{who}: {what}")).await;
            let peak = s.peak_rss_kib();
            assert!(
                peak < MAX_PEAK_KIB,
                "{who}: {what}: peak RSS {peak} KiB after the probe"
            );
        }
    }
    // Every other reader of a request body: the API's JSON, the sign-in form (no
    // session) and a page form (with one).
    let fresh = s.client_from(None);
    let others = [
        (
            fresh
                .post(s.url("/login"))
                .header("content-type", "application/json"),
            "a JSON body",
        ),
        (
            fresh
                .post(format!("{}/login", s.base()))
                .header("content-type", "application/x-www-form-urlencoded"),
            "the sign-in form",
        ),
        (
            alice
                .post(format!("{}/cases", s.base()))
                .header("content-type", "application/x-www-form-urlencoded"),
            "a page form",
        ),
    ];
    for (req, what) in others {
        refused(req, big_body("csrf=".into()), what).await;
        let peak = s.peak_rss_kib();
        assert!(peak < MAX_PEAK_KIB, "{what}: peak RSS {peak} KiB");
    }
    assert_eq!(document_count(&alice, &s, &case).await, 0);
    assert_eq!(document_count(&bob, &s, &queens).await, 0);
    let blobs: Vec<_> = std::fs::read_dir(s.data.join("blobs"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(blobs.is_empty(), "blob files left behind: {blobs:?}");

    // A well-formed upload of the same weight is streamed, not held.
    let token = csrf_of(&alice, &s).await;
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    );
    let tail = Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"));
    let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = std::iter::once(Bytes::from(head))
        .chain(std::iter::repeat_n(chunk, BIG / (64 * 1024)))
        .chain(std::iter::once(tail))
        .map(Ok::<_, std::io::Error>);
    let r = alice
        .post(format!("{}/cases/{case}/documents", s.base()))
        .header("content-type", &multipart)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    // Sent on to the case page (the client follows the redirect).
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.url().as_str().ends_with("?done=uploaded"), "{}", r.url());
    let v: Value = alice
        .get(s.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["documents"][0]["size"], BIG as u64);
    let peak = s.peak_rss_kib();
    assert!(
        peak < MAX_PEAK_KIB,
        "a streamed upload: peak RSS {peak} KiB"
    );
}

/// A TCP connection to the server from 127.0.0.1 (an error when the server's
/// accept queue is full and the connection is not even taken up within a few seconds).
async fn tcp(s: &Server) -> std::io::Result<TcpStream> {
    tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(s.addr))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))?
}

/// A TLS connection from 127.0.0.1 offering `alpn`, or `None` when the server
/// closed it or did not take it up within a few seconds.
async fn tls(s: &Server, alpn: &[u8]) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
    let stream = tcp(s).await.ok()?;
    let name = rustls::pki_types::ServerName::IpAddress(s.addr.ip().into());
    let hs = s.tls(alpn).connect(name, stream);
    tokio::time::timeout(Duration::from_secs(3), hs)
        .await
        .ok()?
        .ok()
}

/// The first bytes of a TLS ClientHello record that announces 512 bytes.
const HELLO_PREFIX: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const NO_BODY: &[u8] = b"POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

/// Hundreds of connections from 127.0.0.1 that start and then send nothing (an HTTP/2
/// preface, a request whose body never comes, a TLS hello cut short, plain TCP):
/// a client from 127.0.0.2 is still served.
#[tokio::test]
async fn one_address_cannot_lock_out_another() {
    let s = start(&[]);
    let mut held: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    // More than the server ever served at once before the per-address cap.
    let opened = futures_util::future::join_all((0..300).map(|_| async {
        let mut t = tls(&s, b"h2").await?;
        t.write_all(H2_PREFACE).await.ok()?;
        Some(t)
    }))
    .await;
    held.extend(opened.into_iter().flatten().map(|t| Box::new(t) as _));
    let opened = futures_util::future::join_all((0..300).map(|_| async {
        let mut t = tls(&s, b"http/1.1").await?;
        t.write_all(NO_BODY).await.ok()?;
        Some(t)
    }))
    .await;
    held.extend(opened.into_iter().flatten().map(|t| Box::new(t) as _));
    let server = &s;
    let opened = futures_util::future::join_all((0..200).map(|i| async move {
        let mut t = tcp(server).await.ok()?;
        if i % 2 == 0 {
            let _ = t.write_all(HELLO_PREFIX).await;
        }
        Some(t)
    }))
    .await;
    held.extend(opened.into_iter().flatten().map(|t| Box::new(t) as _));
    let other = s.client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    let answer = tokio::time::timeout(GUARD, other.get(format!("{}/healthz", s.base())).send())
        .await
        .expect("a client from 127.0.0.2 was not served while 127.0.0.1 held connections")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    drop(held);
}

/// Reads until the server closes the connection (or `GUARD` passes: a failure);
/// answers what was read.
async fn until_closed<S: tokio::io::AsyncRead + Unpin>(mut s: S, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GUARD, read)
        .await
        .unwrap_or_else(|_| panic!("{what}: the server kept the connection open"));
    got
}

/// The values of an HTTP/2 SETTINGS frame at the start of `bytes`.
fn h2_settings(bytes: &[u8]) -> Vec<(u16, u32)> {
    assert!(bytes.len() >= 9, "no HTTP/2 frame");
    let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
    assert_eq!(bytes[3], 0x4, "the first frame is not SETTINGS");
    bytes[9..9 + len]
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect()
}

/// With short limits configured, every kind of connection that starts and then
/// sends nothing is cut off, and a request whose body stops answers a 4xx; HTTP/2
/// announces a small number of concurrent streams and a bounded header list.
#[tokio::test]
async fn silent_connections_are_cut_off() {
    let s = start(&[
        ("tls_handshake_seconds", "1"),
        ("header_read_seconds", "1"),
        ("body_idle_seconds", "1"),
        ("idle_seconds", "1"),
    ]);
    // Plain TCP that sends nothing, and a TLS hello cut short.
    until_closed(tcp(&s).await.unwrap(), "plain TCP").await;
    let mut t = tcp(&s).await.unwrap();
    t.write_all(HELLO_PREFIX).await.unwrap();
    until_closed(t, "a TLS hello cut short").await;
    // TLS done, then nothing (HTTP/1.1 and HTTP/2).
    until_closed(
        tls(&s, b"http/1.1").await.unwrap(),
        "HTTP/1.1 without a request",
    )
    .await;
    until_closed(tls(&s, b"h2").await.unwrap(), "HTTP/2 without a preface").await;
    // The HTTP/2 preface, then nothing.
    let mut t = tls(&s, b"h2").await.unwrap();
    t.write_all(H2_PREFACE).await.unwrap();
    let got = until_closed(t, "an HTTP/2 preface").await;
    let settings = h2_settings(&got);
    let max_streams = settings.iter().find(|(k, _)| *k == 0x3).map(|(_, v)| *v);
    assert!(
        max_streams.is_some_and(|n| n <= 64),
        "MAX_CONCURRENT_STREAMS {max_streams:?}"
    );
    let max_header_list = settings.iter().find(|(k, _)| *k == 0x6).map(|(_, v)| *v);
    assert!(
        max_header_list.is_some_and(|n| n <= 64 * 1024),
        "MAX_HEADER_LIST_SIZE {max_header_list:?}"
    );
    // A request whose body never comes, or stops after a few bytes, answers a 4xx.
    for (what, sent) in [
        ("no body", &b""[..]),
        ("a body that stops", &b"{\"user"[..]),
    ] {
        let mut t = tls(&s, b"http/1.1").await.unwrap();
        t.write_all(NO_BODY).await.unwrap();
        t.write_all(sent).await.unwrap();
        let got = until_closed(t, what).await;
        let head = String::from_utf8_lossy(&got);
        assert!(head.starts_with("HTTP/1.1 4"), "{what}: {head}");
    }
    // The server still serves.
    let c = s.client_from(None);
    let r = c.get(format!("{}/healthz", s.base())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// One address holds at most the configured number of connections; the rest are
/// closed at once, and the count comes back when its connections close.
#[tokio::test]
async fn connections_per_address_are_capped_and_released() {
    let s = start(&[("per_address", "8")]);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(
            tls(&s, b"http/1.1")
                .await
                .expect("a connection under the cap"),
        );
    }
    // The ninth is closed before its handshake.
    assert!(
        tls(&s, b"http/1.1").await.is_none(),
        "a ninth connection was served"
    );
    // Another address is not counted with this one.
    let other = s.client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    let r = other
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Closing connections gives the address its slots back.
    drop(held);
    let mut back = None;
    for _ in 0..100 {
        back = tls(&s, b"http/1.1").await;
        if back.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(back.is_some(), "the address never got its slots back");
}

/// One address has at most the configured number of requests in progress over all
/// its connections: the next answers 429 at once (in the API's error shape), another
/// address is still served, and the count comes back when the requests end.
#[tokio::test]
async fn requests_in_progress_per_address_are_capped() {
    let s = start(&[("requests_per_address", "2")]);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut t = tls(&s, b"http/1.1").await.expect("a connection");
        t.write_all(NO_BODY).await.unwrap();
        held.push(t);
    }
    let here = s.client_from(None);
    let status_here = || async { here.get(s.url("/me")).send().await.unwrap() };
    // The two requests above wait for bodies that never come; once the server has
    // read their headers, a third from this address is refused.
    let refused = tokio::time::timeout(GUARD, async {
        loop {
            let r = status_here().await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a third request in progress from one address was never refused");
    assert_eq!(refused.headers()["retry-after"], "1");
    let v: Value = refused.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_requests", "{v}");
    let other = s.client_from(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    let r = other
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Their connections closing ends the two requests.
    drop(held);
    tokio::time::timeout(GUARD, async {
        while status_here().await.status() == StatusCode::TOO_MANY_REQUESTS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the address never got its requests back");
}

/// The no-JavaScript fallback in a real browser: the upload form posted natively
/// (`form.submit()` does not run the page's script), so Chromium's own multipart
/// encoding goes through the streaming reader; the document arrives whole, under its
/// name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_posting_the_upload_form_natively_stores_the_file_whole() {
    use crate::helpers::{bytes, spawn_app};
    use crate::webdriver::{Browser, installed};
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Native Form", None).await;
    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    b.goto(&format!("{}/login", app.base)).await;
    b.type_into("#username", "alice").await;
    b.type_into("#password", &app.creds.users["alice"].password.clone())
        .await;
    b.type_into("#totp", &app.code("alice")).await;
    b.click("form.card button[type=submit]").await;
    b.goto(&format!("{}/cases/{case}", app.base)).await;
    let doc = bytes(2 * 1024 * 1024 + 5, 21);
    let name = "Expediente de José (borrador).pdf";
    let file = work.path().join(name);
    std::fs::write(&file, &doc).unwrap();
    b.keys("#file", &file.to_string_lossy()).await;
    b.js("window.__cvOldPage = true; document.getElementById('upload').submit(); return null;")
        .await;
    b.wait_for(
        "return window.__cvOldPage !== true && document.readyState === 'complete';",
        "the page after the native upload",
    )
    .await;
    assert!(
        b.url().await.contains("done=uploaded"),
        "{}",
        b.text().await
    );
    let list: Value = api
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["documents"][0]["filename"], name, "{list}");
    let id = list["documents"][0]["id"].as_str().unwrap();
    let got = api
        .get(app.url(&format!("/cases/{case}/documents/{id}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        got.as_ref() == doc.as_slice(),
        "the stored document differs"
    );
    b.quit().await;
}
