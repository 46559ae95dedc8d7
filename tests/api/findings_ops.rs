//! What issue 21 found in operation, each against a real server: answers that grew
//! with what a case holds (notes, events, versions, the case page), two servers on one
//! data directory, and a data directory the server cannot write.
use std::process::Command;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::casekit::{get, get_ok, note_ok, patch_ok, post_event};
use crate::childkit::start;
use crate::helpers::{assert_error, spawn_app};

/// Every item of a paged list, following `next_after`; also the page sizes.
async fn all_pages(
    app: &crate::helpers::TestApp,
    c: &reqwest::Client,
    path: &str,
    key: &str,
    limit: Option<u32>,
) -> (Vec<Value>, Vec<usize>) {
    let (mut items, mut sizes, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut q = Vec::new();
        if let Some(l) = limit {
            q.push(format!("limit={l}"));
        }
        if let Some(a) = &after {
            q.push(format!("after={a}"));
        }
        let v = get_ok(app, c, &format!("{path}?{}", q.join("&"))).await;
        let page = v[key].as_array().unwrap().clone();
        sizes.push(page.len());
        items.extend(page);
        match v["next_after"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
        assert!(sizes.len() < 100, "paging does not end");
    }
    (items, sizes)
}

#[tokio::test]
async fn notes_events_and_versions_come_in_pages_bounded_in_count_and_bytes() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Paged Client", None).await;
    // 110 notes of 20,000 characters: more than one page holds in bytes (2 MiB).
    let long = "n".repeat(20_000);
    let mut made = Vec::new();
    for i in 0..110 {
        made.push(note_ok(&app, &alice, &case, &format!("{i:03}{}", &long[3..]), None).await);
    }
    let (notes, sizes) = all_pages(
        &app,
        &alice,
        &format!("/cases/{case}/notes"),
        "notes",
        Some(500),
    )
    .await;
    assert!(
        sizes[0] < 110 && sizes.len() >= 2,
        "a page of long notes ends early: {sizes:?}"
    );
    let ids: Vec<&str> = notes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = made.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first, "every note once, newest first");
    // Default pages of 50.
    let (_, sizes) = all_pages(&app, &alice, &format!("/cases/{case}/notes"), "notes", None).await;
    assert_eq!(sizes, [50, 50, 10]);
    // A note is bounded in bytes as well as characters.
    let wide = "語".repeat(19_000);
    let r = crate::casekit::post_note(&app, &alice, &case, json!({"text": wide})).await;
    let e = assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("bytes"),
        "{e}"
    );

    // Events: pages in the order they were added, each by date.
    for i in 0..60 {
        let r = post_event(
            &app,
            &alice,
            &case,
            json!({"kind": "deadline", "date": format!("2031-{:02}-{:02}", 12 - i % 12, 28 - i % 28)}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let (events, sizes) = all_pages(
        &app,
        &alice,
        &format!("/cases/{case}/events"),
        "events",
        None,
    )
    .await;
    assert_eq!(sizes, [50, 10]);
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);

    // Versions: the current one first, then older ones, a page at a time.
    for i in 0..55 {
        patch_ok(
            &app,
            &alice,
            &case,
            None,
            json!({"country_of_birth": format!("Country {i}")}),
        )
        .await;
    }
    let (versions, sizes) = all_pages(
        &app,
        &alice,
        &format!("/cases/{case}/versions"),
        "versions",
        None,
    )
    .await;
    assert_eq!(sizes, [50, 6]);
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=56).rev().collect::<Vec<_>>());
    // Limits and cursors are checked.
    for bad in ["limit=0", "limit=501", "after=zz"] {
        let r = get(&app, &alice, &format!("/cases/{case}/versions?{bad}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = get(
        &app,
        &alice,
        &format!("/cases/{case}/notes?after={}", uuid::Uuid::new_v4()),
    )
    .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}

/// The case with 2,000 notes of 20,000 characters that took the server to gigabytes:
/// 32 note lists and 8 case pages at once now keep it small.
#[tokio::test]
async fn a_case_with_thousands_of_long_notes_cannot_take_the_server_to_gigabytes() {
    let s = start(&[]);
    let alice = s.login("alice").await;
    let r = alice
        .post(s.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "Heavy Case"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let text = "x".repeat(20_000);
    let posted: Vec<StatusCode> = futures_util::stream::iter(0..2_000)
        .map(|_| {
            let (c, url, text) = (
                alice.clone(),
                s.url(&format!("/cases/{case}/notes")),
                text.clone(),
            );
            async move {
                c.post(url)
                    .json(&json!({"text": text}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(posted.iter().all(|s| *s == StatusCode::CREATED));
    let before = s.peak_rss_kib();
    let notes = (0..32).map(|_| {
        let (c, url) = (alice.clone(), s.url(&format!("/cases/{case}/notes")));
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status(), r.bytes().await.unwrap().len())
        }
    });
    let pages = (0..8).map(|_| {
        let (c, url) = (alice.clone(), format!("{}/cases/{case}", s.base()));
        async move {
            let r = c.get(url).send().await.unwrap();
            (r.status(), r.bytes().await.unwrap().len())
        }
    });
    let (notes, pages) = futures_util::join!(
        futures_util::future::join_all(notes),
        futures_util::future::join_all(pages)
    );
    for (status, len) in notes.iter().chain(&pages) {
        assert_eq!(*status, StatusCode::OK);
        assert!(*len < 4 << 20, "an answer of {len} bytes");
    }
    let peak = s.peak_rss_kib();
    eprintln!("peak RSS before the reads {before} KiB, after {peak} KiB");
    assert!(peak < 300 * 1024, "peak RSS {peak} KiB");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused_and_the_cli_still_works() {
    let s = start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .env("CASEVAULT_POLICY", s.dir.path().join("policy"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&s.data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("already being served (pid {})", s.child.id())),
        "{err}"
    );
    // A second demo on it too.
    let out = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .env("CASEVAULT_POLICY", s.dir.path().join("policy"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(&s.data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already being served"));
    // The command line's other commands work beside the server.
    let out = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .args(["audit", "verify", "--data"])
        .arg(&s.data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first server still serves.
    let r = s
        .client_from(None)
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// `casevault ARGS` as the unprivileged user `nobody` (root reads and writes
/// everything, so permissions are tested as someone else).
fn as_nobody(
    args: &[&str],
    data: &std::path::Path,
    policy: &std::path::Path,
) -> (Option<i32>, String) {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_casevault"))
        .env("CASEVAULT_POLICY", policy)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("setpriv (util-linux)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_data_directory_the_server_cannot_use_is_named_not_misreported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = crate::childkit::policy_dir(dir.path(), &[]);
    let data = dir.path().join("vault");
    let out = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .env("CASEVAULT_POLICY", &policy)
        .args(["init", "--superadmin", "root", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chmod = |mode: u32| {
        for entry in std::iter::once(data.clone())
            .chain(std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()))
        {
            let m = if entry.is_dir() {
                mode | 0o111
            } else {
                mode & 0o666
            };
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(m)).unwrap();
        }
    };
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    // Readable by nobody, writable by root only.
    chmod(0o644);
    let (code, err) = as_nobody(&serve, &data, &policy);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot write to") && err.contains("permission denied"),
        "{err}"
    );
    // Not even readable: never "holds no vault".
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, err) = as_nobody(&serve, &data, &policy);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot read") && err.contains("permission denied"),
        "{err}"
    );
    assert!(!err.contains("holds no vault"), "{err}");
}

#[tokio::test]
async fn healthz_says_unhealthy_when_the_data_directory_cannot_be_written() {
    let s = start(&[]);
    let r = s
        .client_from(None)
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The server runs as root here; a file in the way of the probe stands for a
    // directory it can no longer write (a read-only remount).
    let probe = s.data.join(".casevault-write-check");
    std::fs::create_dir(&probe).unwrap();
    let r = s
        .client_from(None)
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    std::fs::remove_dir_all(&probe).unwrap();
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    );
    let r = s
        .client_from(None)
        .get(format!("{}/healthz", s.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Asking keeps the server's SQLite locks: another process that reads the database
    // afterwards must still see a live server and leave its WAL alone (a health check
    // that opened and closed the database file dropped every lock of the process, and
    // the next reader deleted the live WAL).
    let wal = s.data.join(format!("{}-wal", casevault::store::DB_FILE));
    assert!(wal.exists());
    {
        let db = rusqlite::Connection::open(s.data.join(casevault::store::DB_FILE)).unwrap();
        let n: i64 = db
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        assert!(n > 0);
    }
    assert!(
        wal.exists(),
        "an outside reader deleted the server's live WAL"
    );
    let alice = s.login("alice").await;
    let r = alice
        .post(s.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "After Health"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The case page shows each note twice (text and correction form) and HTML escapes a
/// quote into six characters; Coming up lists every event of every case. Both stay a
/// few MiB however much a case holds.
#[tokio::test]
async fn the_case_page_and_coming_up_are_bounded_in_bytes() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Quoted Client", None)
        .await;
    let quotes = "\"".repeat(20_000);
    for _ in 0..30 {
        note_ok(&app, &alice, &case, &quotes, None).await;
    }
    let today = crate::casekit::day(&app, 1);
    let posted: Vec<StatusCode> = futures_util::stream::iter(0..600)
        .map(|_| {
            let (app, alice, case, today) = (&app, &alice, &case, today.clone());
            async move {
                post_event(
                    app,
                    alice,
                    case,
                    json!({"kind": "deadline", "date": today, "description": "x".repeat(1_000)}),
                )
                .await
                .status()
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(posted.iter().all(|s| *s == StatusCode::CREATED));
    let c = crate::pagekit::page_sign_in(&app, "alice").await;
    let page = c
        .get(format!("{}/cases/{case}", app.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        page.len() < 4 << 20,
        "the case page is {} bytes",
        page.len()
    );
    assert!(String::from_utf8_lossy(&page).contains("Older notes"));
    let up = get_ok(&app, &alice, "/upcoming").await;
    assert_eq!(up["events"].as_array().unwrap().len(), 500);
    assert_eq!(up["truncated"], true);
    let html = c
        .get(format!("{}/upcoming", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.len() < 4 << 20 && html.contains("Not everything fits"),
        "{}",
        html.len()
    );
}
