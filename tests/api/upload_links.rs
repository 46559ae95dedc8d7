//! Client upload links (issue 25, part 1): a caseworker makes a link, a client with
//! no account sends files through it over plain HTTPS multipart, and the caseworker
//! reads them. Who may make one, what the client's page shows and hides, the links
//! that no longer work, the sealed office, the audit trail, purge, and the limits.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle_helpers::{audit_rows, count, post_json, raw_db};
use crate::pagekit::{get_page, hidden, page_client};

const NEVER: &str = "00000000-0000-4000-8000-000000000000";
const BOUNDARY: &str = "----cvclientform7MA4YWxkTrZu0gW";

/// Makes a link on `case` as `c`; answers (id, url, token).
pub async fn make_link(
    app: &TestApp,
    c: &Client,
    case: &str,
    body: Value,
) -> (String, String, String) {
    let r = post_json(app, c, &format!("/cases/{case}/upload-links"), body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    assert!(v["expires_at"].is_string());
    (v["id"].as_str().unwrap().to_string(), url, token)
}

/// A `multipart/form-data` body as a browser sends the client's form.
pub fn form_body(csrf: Option<&str>, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(t) = csrf {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n")
                .as_bytes(),
        );
    }
    for (name, data) in files {
        b.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        b.extend_from_slice(data);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Opens the client's page and sends `files` through its form; answers the status
/// and the page.
pub async fn send_files(app: &TestApp, url: &str, files: &[(&str, &[u8])]) -> (StatusCode, String) {
    let c = page_client(app);
    let (status, _, html) = get_page(&c, url).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csrf = hidden(&html, "csrf").expect("the form carries its token");
    post_form(&c, url, form_body(Some(&csrf), files)).await
}

async fn post_form(c: &Client, url: &str, body: Vec<u8>) -> (StatusCode, String) {
    let r = c
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn documents(app: &TestApp, c: &Client, case: &str) -> Vec<Value> {
    let v: Value = c
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["documents"].as_array().unwrap().clone()
}

async fn download(app: &TestApp, c: &Client, case: &str, doc: &str) -> Vec<u8> {
    let r = c
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_client_sends_files_through_a_link_and_the_caseworker_reads_them() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(
            &alice,
            "bronx",
            "Marisol Quintero-Planted",
            Some("A123456789"),
        )
        .await;
    let (id, url, token) = make_link(&app, &alice, &case, json!({"language": "es"})).await;
    assert!(url.starts_with(&format!("{}/u/", app.base)), "{url}");
    assert!(token.len() >= 22, "at least 128 random bits: {token}");

    // The client's page: the office, nothing of the case, no cookie, no script.
    let c = page_client(&app);
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let headers = format!("{:?}", r.headers());
    assert!(r.headers().get("set-cookie").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("lang=\"es\"") && html.contains("Envíe sus documentos"),
        "{html}"
    );
    assert!(html.contains("bronx"));
    for marker in [
        "Marisol",
        "Quintero",
        "A123456789",
        "123456789",
        &case,
        "alice",
        "/cases",
        "<script",
    ] {
        assert!(!html.contains(marker), "the client's page shows {marker}");
        assert!(!headers.contains(marker), "a header carries {marker}");
    }
    // The switch shows the other language.
    let (_, _, en) = get_page(&c, &format!("{url}?lang=en")).await;
    assert!(en.contains("lang=\"en\"") && en.contains("Send your documents"));

    let passport = bytes(300_000, 11);
    let letter = b"%PDF-1.4 a letter from the court".to_vec();
    let (status, receipt) = send_files(
        &app,
        &url,
        &[("pasaporte.jpg", &passport[..]), ("carta.pdf", &letter[..])],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert!(
        receipt.contains("Gracias") && receipt.contains("8 archivos más"),
        "{receipt}"
    );

    // The caseworker reads both, byte for byte, marked as from the link.
    let docs = documents(&app, &alice, &case).await;
    assert_eq!(docs.len(), 2);
    for (d, (name, data)) in docs
        .iter()
        .zip([("pasaporte.jpg", &passport), ("carta.pdf", &letter)])
    {
        assert_eq!(d["filename"], name);
        assert_eq!(d["via_link"], id.as_str());
        assert_eq!(d["uploaded_by"], app.user_id("alice"));
        let code = casevault::vault::receipt_code(d["id"].as_str().unwrap());
        assert!(receipt.contains(&code), "the receipt shows {code}");
        assert_eq!(
            &download(&app, &alice, &case, d["id"].as_str().unwrap()).await,
            data
        );
    }

    // The list shows the link's state, never its token.
    let r = alice
        .get(app.url(&format!("/cases/{case}/upload-links")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list = r.text().await.unwrap();
    assert!(!list.contains(&token));
    let v: Value = serde_json::from_str(&list).unwrap();
    let l = &v["links"][0];
    assert_eq!(
        (l["id"].as_str(), l["files_received"].as_u64()),
        (Some(id.as_str()), Some(2))
    );
    assert_eq!(
        (l["max_files"].as_u64(), l["state"].as_str()),
        (Some(10), Some("live"))
    );
    assert_eq!(
        (l["revoked"].as_bool(), l["language"].as_str()),
        (Some(false), Some("es"))
    );

    // The audit log names the link, never the token; the office's admin sees it.
    let rows = audit_rows(&app);
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "client_upload")
        .collect();
    assert!(sent.iter().any(|r| r.outcome == "page"));
    assert_eq!(sent.iter().filter(|r| r.outcome == "ok").count(), 2);
    for r in &sent {
        assert_eq!(r.actor, format!("link:{id}"));
        assert!(
            r.target
                .starts_with(&format!("office:bronx case:{case} link:{id}")),
            "{}",
            r.target
        );
    }
    for r in &rows {
        assert!(
            !format!("{r:?}").contains(&token),
            "the token is in the audit log"
        );
    }
    let admin = app.login("admin").await;
    let v: Value = admin
        .get(app.url("/audit?action=client_upload"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["entries"].as_array().unwrap().len() >= 3, "{v}");

    // The token rests nowhere: not in the database, its -wal or -shm, nor the blobs.
    let hits = scan_for(app.data(), &[token.as_bytes(), b"pasaporte", b"Marisol"]);
    assert!(hits.is_empty(), "{hits:?}");
}

#[tokio::test]
async fn the_case_pages_show_new_files_from_the_client_until_the_case_is_opened() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "News Client", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    let (status, _) = send_files(&app, &url, &[("a.pdf", b"one"), ("b.pdf", b"two")]).await;
    assert_eq!(status, StatusCode::OK);
    let pages = crate::pagekit::page_sign_in(&app, "alice").await;
    let (_, _, list) = get_page(&pages, &format!("{}/cases", app.base)).await;
    assert!(list.contains("2 new files from the client"), "{list}");
    let (status, _, case_page) = get_page(&pages, &format!("{}/cases/{case}", app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        case_page.contains("from the client, via link of"),
        "{case_page}"
    );
    assert!(case_page.contains("Links for the client to send documents"));
    let (_, _, list) = get_page(&pages, &format!("{}/cases", app.base)).await;
    assert!(
        !list.contains("new files from the client"),
        "opening the case clears it"
    );
}

#[tokio::test]
async fn links_are_decided_like_uploads_to_the_case() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Decided Client", None)
        .await;
    // Another office's caseworker: exactly a missing case.
    let bob = app.login("bob").await;
    let theirs = post_json(
        &app,
        &bob,
        &format!("/cases/{case}/upload-links"),
        json!({}),
    )
    .await;
    let missing = post_json(
        &app,
        &bob,
        &format!("/cases/{NEVER}/upload-links"),
        json!({}),
    )
    .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(theirs.text().await.unwrap(), missing.text().await.unwrap());
    for path in [
        format!("/cases/{case}/upload-links"),
        format!("/cases/{case}/upload-links/{NEVER}"),
    ] {
        let r = if path.ends_with("links") {
            bob.get(app.url(&path)).send().await.unwrap()
        } else {
            bob.delete(app.url(&path))
                .json(&json!({}))
                .send()
                .await
                .unwrap()
        };
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    // A partner with a read share may not; with an upload share, may.
    let pat = app.login("pat").await;
    let r = post_json(
        &app,
        &pat,
        &format!("/cases/{case}/upload-links"),
        json!({}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    crate::casekit::share_with(&app, &alice, &case, "pat", "read", None).await;
    let r = post_json(
        &app,
        &pat,
        &format!("/cases/{case}/upload-links"),
        json!({}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let shared = app
        .create_case(&alice, "bronx", "Shared Upload", None)
        .await;
    let share = crate::casekit::share_with(&app, &alice, &shared, "pat", "upload", None).await;
    let (_, url, _) = make_link(&app, &pat, &shared, json!({"max_files": 3})).await;
    let (status, _) = send_files(&app, &url, &[("from-pat.pdf", b"via the partner's link")]).await;
    assert_eq!(status, StatusCode::OK);
    // The share revoked, the partner's link stops with it.
    let r = alice
        .delete(app.url(&format!("/cases/{shared}/shares/{share}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _, _) = get_page(&page_client(&app), &url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v: Value = alice
        .get(app.url(&format!("/cases/{shared}/upload-links")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Revoked for good with the share (not only "stopped" while it lasts).
    // (A maker who loses the right some other way, taken off the case, still stops the
    // link at the next request: `maker_no_longer_allowed`.)
    assert_eq!(v["links"][0]["state"], "revoked");
    // Bad input: a clear 400 each.
    for (body, code) in [
        (json!({"expires_in_days": 0}), "invalid_days"),
        (json!({"expires_in_days": 31}), "invalid_days"),
        (json!({"expires_in_days": -5}), "invalid_days"),
        (json!({"max_files": 51}), "invalid_max_files"),
        (json!({"max_files": 99999999999i64}), "invalid_max_files"),
        (json!({"language": "fr"}), "invalid_language"),
        (json!({"extra": 1}), "invalid_json"),
    ] {
        let r = post_json(&app, &alice, &format!("/cases/{case}/upload-links"), body).await;
        assert_error(r, StatusCode::BAD_REQUEST, code).await;
    }
}

#[tokio::test]
async fn a_link_works_while_the_office_is_sealed() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Sealed Client", None)
        .await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    app.seal("bronx").await;
    let doc = bytes(1_500_000, 5);
    let (status, page) = send_files(&app, &url, &[("acta.pdf", &doc[..])]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Nothing readable while sealed; after the unseal, the same bytes.
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    casevault::vault::operator::unseal(
        &app.app.vault,
        "bronx",
        age::secrecy::SecretString::from(pass),
    )
    .await
    .unwrap();
    let docs = documents(&app, &alice, &case).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(
        download(&app, &alice, &case, docs[0]["id"].as_str().unwrap()).await,
        doc
    );
}

#[tokio::test]
async fn dead_and_made_up_links_get_byte_identical_pages() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Dead Links", None).await;
    let (_, expired, _) = make_link(&app, &alice, &case, json!({"expires_in_days": 1})).await;
    let (revoked_id, revoked, _) =
        make_link(&app, &alice, &case, json!({"expires_in_days": 30})).await;
    let (_, used, _) = make_link(
        &app,
        &alice,
        &case,
        json!({"max_files": 1, "expires_in_days": 30}),
    )
    .await;
    let (status, _) = send_files(&app, &used, &[("only.pdf", b"one file")]).await;
    assert_eq!(status, StatusCode::OK);
    let r = alice
        .delete(app.url(&format!("/cases/{case}/upload-links/{revoked_id}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Revoking it again: it is no live link any more.
    let r = alice
        .delete(app.url(&format!("/cases/{case}/upload-links/{revoked_id}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    app.clock.advance(2 * 86_400);
    let made_up = format!("{}/u/AAAAAAAAAAAAAAAAAAAAAAAA", app.base);
    let garbage = format!("{}/u/%FF%FE", app.base);
    let short = format!("{}/u/x", app.base);
    let c = page_client(&app);
    let mut bodies = Vec::new();
    for url in [&expired, &revoked, &used, &made_up, &garbage, &short] {
        let (status, _, html) = get_page(&c, url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        bodies.push(html);
        let (status, html) = post_form(&c, url, form_body(Some("x"), &[("f.pdf", b"data")])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        bodies.push(html);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the 404 pages differ"
    );
    assert!(bodies[0].contains("This link no longer works. Ask your caseworker for a new one."));
    assert!(bodies[0].contains("Este enlace ya no funciona"));
    let alice = app.login("alice").await;
    assert_eq!(
        documents(&app, &alice, &case).await.len(),
        1,
        "nothing more stored"
    );
    // Each refusal is audited: the dead links by their id, the made-up ones as unknown.
    let rows = audit_rows(&app);
    let refused = |outcome: &str| {
        rows.iter()
            .filter(|r| r.action == "client_upload" && r.decision == "deny" && r.outcome == outcome)
            .count()
    };
    assert_eq!(
        (refused("expired"), refused("revoked"), refused("used_up")),
        (2, 2, 2)
    );
    assert_eq!(refused("not_found"), 6);
    assert!(
        rows.iter()
            .any(|r| r.target == "link:unknown" && r.actor == "-")
    );
}

#[tokio::test]
async fn empty_files_missing_files_and_forged_forms_store_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Refusals", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({"language": "en"})).await;
    let (status, page) = send_files(&app, &url, &[("empty.pdf", b"")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("was empty"), "{page}");
    let (status, page) = send_files(&app, &url, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Choose a file first"), "{page}");
    // Without the form's token, or with another link's: 403, nothing read.
    let c = page_client(&app);
    let (status, _) = post_form(&c, &url, form_body(None, &[("a.pdf", b"data")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, other, _) = make_link(&app, &alice, &case, json!({})).await;
    let (_, _, other_page) = get_page(&c, &other).await;
    let wrong = hidden(&other_page, "csrf").unwrap();
    let (status, _) = post_form(&c, &url, form_body(Some(&wrong), &[("a.pdf", b"data")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // From another website: the origin gate refuses it before anything.
    let r = c
        .post(&url)
        .header("origin", "https://evil.example.org")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(form_body(Some(&wrong), &[("a.pdf", b"data")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Not a form at all: a clear 400, audited.
    let r = c
        .post(&url)
        .header("content-type", "application/octet-stream")
        .body(b"raw bytes".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(documents(&app, &alice, &case).await.is_empty());
    let outcomes: Vec<_> = audit_rows(&app)
        .into_iter()
        .filter(|r| r.action == "client_upload" && r.outcome != "ok")
        .map(|r| r.outcome)
        .collect();
    for o in ["empty_file", "no_file", "csrf_invalid", "bad_form"] {
        assert!(outcomes.iter().any(|x| x == o), "{o} in {outcomes:?}");
    }
}

#[tokio::test]
async fn a_link_takes_no_more_files_than_it_says() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Limits", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({"max_files": 2})).await;
    let (status, page) = send_files(
        &app,
        &url,
        &[("1.pdf", b"1"), ("2.pdf", b"2"), ("3.pdf", b"3")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("takes no more files") && page.contains("0 more files"),
        "{page}"
    );
    assert_eq!(documents(&app, &alice, &case).await.len(), 2);
}

#[tokio::test]
async fn a_link_takes_no_more_bytes_than_the_setting() {
    let mut settings = test_settings();
    settings.upload_links.max_bytes_per_link = 100_000;
    let app = spawn_app_with(settings).await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Bytes", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    let big = bytes(60_000, 3);
    let (status, page) = send_files(&app, &url, &[("a.bin", &big[..]), ("b.bin", &big[..])]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("too large"), "{page}");
    assert_eq!(documents(&app, &alice, &case).await.len(), 1);
}

#[tokio::test]
async fn an_address_gets_so_many_requests_an_hour() {
    let mut settings = test_settings();
    settings.upload_links.requests_per_address_per_hour = 3;
    let app = spawn_app_with(settings).await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Budget", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    let c = page_client(&app);
    for _ in 0..3 {
        assert_eq!(get_page(&c, &url).await.0, StatusCode::OK);
    }
    let (status, headers, _) = get_page(&c, &url).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_some());
    // Made-up tokens count too: guessing costs the budget.
    let (status, _, _) = get_page(&c, &format!("{}/u/guess", app.base)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(3601);
    assert_eq!(get_page(&c, &url).await.0, StatusCode::OK);
}

#[tokio::test]
async fn purging_the_case_removes_its_links() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Purged Links", None).await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    let (status, _) = send_files(&app, &url, &[("x.pdf", b"x")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        count(app.data(), "upload_links", &format!("case_id = '{case}'")),
        1
    );
    let admin = app.login("admin").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{case}/purge"),
        json!({"totp": app.code("admin")}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(count(app.data(), "upload_links", "1"), 0);
    let (status, _, _) = get_page(&page_client(&app), &url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(raw_db(app.data()));
}
