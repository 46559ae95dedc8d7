//! Issue 24, "A day in the office": an empty upload is refused and stores nothing
//! (API and page form).
use std::path::Path;

use reqwest::StatusCode;

use crate::helpers::*;
use crate::lifecycle_helpers::count;
use crate::pagekit::{hidden, page_sign_in};

const BOUNDARY: &str = "----casevaultdayboundary";

/// Files in the blob directory (stored blobs and any temporary one).
fn blob_dir_entries(data: &Path) -> usize {
    std::fs::read_dir(data.join("blobs")).map_or(0, |d| d.count())
}

fn audit_outcomes(data: &Path, outcome: &str) -> i64 {
    count(data, "audit", &format!("outcome = '{outcome}'"))
}

#[tokio::test]
async fn an_empty_upload_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Empty File", None).await;
    let blobs_before = blob_dir_entries(app.data());

    // Declared empty (Content-Length: 0).
    let r = app.upload(&alice, &case, "passport.pdf", Vec::new()).await;
    let v = assert_error(r, StatusCode::BAD_REQUEST, "empty_file").await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("empty (0 bytes)"), "{msg}");
    // Streamed with no length, and no bytes.
    let none: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(Vec::new())];
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "scan.pdf")])
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(none)))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "empty_file").await;

    // Nothing stored: no row, no blob (not even a temporary one); both refusals audited.
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    assert_eq!(blob_dir_entries(app.data()), blobs_before);
    assert_eq!(audit_outcomes(app.data(), "empty_file"), 2);
    let v = get_json(&alice, &app.url(&format!("/cases/{case}/documents"))).await;
    assert_eq!(v["documents"].as_array().unwrap().len(), 0, "{v}");

    // One byte is a document.
    app.upload_ok(&alice, &case, "one.txt", b"x".to_vec()).await;
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

/// The no-JavaScript upload form's body: the CSRF field, then the file part.
fn form_body(token: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn the_upload_form_refuses_an_empty_file_with_a_message() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Empty Form", None).await;
    let alice = page_sign_in(&app, "alice").await;
    let page = format!("{}/cases/{case}", app.base);
    let post = |content: &'static [u8]| {
        let (alice, page) = (alice.clone(), page.clone());
        async move {
            let html = alice.get(&page).send().await.unwrap().text().await.unwrap();
            let token = hidden(&html, "csrf").expect("csrf field");
            alice
                .post(format!("{page}/documents"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(form_body(&token, "passport.pdf", content))
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(b"").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("The file is empty (0 bytes)"), "{html}");
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    assert_eq!(blob_dir_entries(app.data()), 0);
    // The same form with a byte in the file stores it.
    let r = post(b"%").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

async fn get_json(c: &reqwest::Client, url: &str) -> serde_json::Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}
