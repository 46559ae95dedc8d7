//! Helpers for the casework tests (issue 11): edits, notes, events and shares through
//! the API, days relative to the server's manual clock, and the raw sealed rows an
//! attacker holding the data directory would see.
// A toolbox shared by the test modules: a helper that no test calls yet is no error.
#![allow(dead_code)]
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::authkit::{Account, STRONG, confirm_access, create_and_enrol, in_secs};
use crate::helpers::TestApp;
use crate::lifecycle_helpers::raw_db;

/// A case id that was never made.
pub const NEVER: &str = "00000000-0000-4000-8000-000000000000";

/// GET; asserts 200 and answers the JSON body.
pub async fn get_ok(app: &TestApp, c: &Client, path: &str) -> Value {
    let r = c.get(app.url(path)).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// GET; answers the response untouched.
pub async fn get(app: &TestApp, c: &Client, path: &str) -> Response {
    c.get(app.url(path)).send().await.unwrap()
}

/// `PATCH /cases/{case}` with an optional `If-Match`.
pub async fn patch_case(
    app: &TestApp,
    c: &Client,
    case: &str,
    if_match: Option<&str>,
    body: Value,
) -> Response {
    let mut req = c.patch(app.url(&format!("/cases/{case}"))).json(&body);
    if let Some(v) = if_match {
        req = req.header("if-match", v);
    }
    req.send().await.unwrap()
}

/// A successful edit: asserts 200 and an ETag naming the version answered.
pub async fn patch_ok(
    app: &TestApp,
    c: &Client,
    case: &str,
    if_match: Option<&str>,
    body: Value,
) -> i64 {
    let r = patch_case(app, c, case, if_match, body.clone()).await;
    let status = r.status();
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "PATCH {body}: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let version = v["version"].as_i64().unwrap();
    assert_eq!(etag, Some(format!("\"{version}\"")), "ETag of the edit");
    version
}

/// `POST /cases/{case}/notes`.
pub async fn post_note(app: &TestApp, c: &Client, case: &str, body: Value) -> Response {
    c.post(app.url(&format!("/cases/{case}/notes")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A note added: answers its id.
pub async fn note_ok(
    app: &TestApp,
    c: &Client,
    case: &str,
    text: &str,
    corrects: Option<&str>,
) -> String {
    let mut body = json!({"text": text});
    if let Some(id) = corrects {
        body["corrects"] = json!(id);
    }
    created_id(post_note(app, c, case, body).await).await
}

/// `POST /cases/{case}/events`.
pub async fn post_event(app: &TestApp, c: &Client, case: &str, body: Value) -> Response {
    c.post(app.url(&format!("/cases/{case}/events")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// An event added: answers its id.
pub async fn event_ok(app: &TestApp, c: &Client, case: &str, body: Value) -> String {
    created_id(post_event(app, c, case, body).await).await
}

/// Asserts 201 and answers the `id`.
pub async fn created_id(r: Response) -> String {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// The ids of a list, in order.
pub fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// The day `offset` days after the server's clock, `YYYY-MM-DD`.
pub fn day(app: &TestApp, offset: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(app.clock.unix() + offset * 86_400).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Shares a case with a partner (fresh session assumed) and answers the share id.
pub async fn share_with(
    app: &TestApp,
    c: &Client,
    case: &str,
    who: &str,
    permission: &str,
    notes: Option<bool>,
) -> String {
    let mut body =
        json!({"username": who, "permission": permission, "expires_at": in_secs(app, 30 * 86_400)});
    if let Some(n) = notes {
        body["notes"] = json!(n);
    }
    let r = c
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&body)
        .send()
        .await
        .unwrap();
    created_id(r).await
}

/// A bronx caseworker who does not supervise (made by the admin, confirmed by alice).
pub async fn bronx_caseworker(app: &TestApp, name: &str) -> Account {
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let a = create_and_enrol(
        app,
        &admin,
        json!({"username": name, "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    confirm_access(app, &alice, &a.id).await;
    a
}

/// The sealed blobs of a case's rows in one table (`col` of rows whose `key` is the case).
pub fn sealed_rows(app: &TestApp, table: &str, col: &str, key: &str, case: &str) -> Vec<Vec<u8>> {
    let db = raw_db(app.data());
    let mut st = db
        .prepare(&format!("SELECT {col} FROM {table} WHERE {key} = ?1"))
        .unwrap();
    st.query_map([case], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every sealed blob of a case: its details, earlier versions, notes, events and the
/// documents' sealed metadata (the filenames).
pub fn every_sealed_row(app: &TestApp, case: &str) -> Vec<Vec<u8>> {
    let mut out = sealed_rows(app, "cases", "metadata", "id", case);
    out.extend(sealed_rows(
        app,
        "case_versions",
        "metadata",
        "case_id",
        case,
    ));
    out.extend(sealed_rows(app, "case_notes", "body", "case_id", case));
    out.extend(sealed_rows(app, "case_events", "body", "case_id", case));
    out.extend(sealed_rows(app, "documents", "meta", "case_id", case));
    out
}

/// A distinctive 48-byte slice from the middle of each blob (past the age header's
/// recipient-specific prefix, which a stanza shares with nothing else but is short).
pub fn slices(blobs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    blobs
        .iter()
        .map(|b| {
            assert!(b.len() >= 96, "a sealed row is at least an age header");
            let mid = b.len() / 2;
            b[mid - 24..mid + 24].to_vec()
        })
        .collect()
}

/// Waits until the purge's background work is done and the WAL is truncated.
pub async fn settle(app: &TestApp) {
    let wal = app.data().join("casevault.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (app.app.vault.trash_pending().unwrap() > 0 || wal_len() > 0)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.app.vault.trash_pending().unwrap(),
        0,
        "purged files removed"
    );
    assert_eq!(wal_len(), 0, "WAL truncated");
}
