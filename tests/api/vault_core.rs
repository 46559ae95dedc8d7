//! The vault core (issue 2): round trips, forensic scans, seal/unseal, export,
//! detached headers, bad input.
use std::io::Read;

use age::secrecy::SecretString;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn documents_round_trip_byte_identical_across_chunk_boundaries() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Round Trip", Some("A-123-456-789"))
        .await;
    // From one byte: an empty document is refused (day_office.rs).
    let sizes = [1usize, 2, 65_535, 65_536, 65_537, 5 * 1024 * 1024 + 3];
    let mut ids = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        let body = bytes(*n, i as u64 + 1);
        let r = app
            .upload(&alice, &case, &format!("doc-{n}.bin"), body.clone())
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["size"], *n as u64);
        ids.push((v["id"].as_str().unwrap().to_string(), body));
    }
    for (id, body) in &ids {
        let r = alice
            .get(app.url(&format!("/cases/{case}/documents/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        let got = r.bytes().await.unwrap();
        assert!(
            got[..] == body[..],
            "document of {} bytes differs",
            body.len()
        );
    }
    let list: Value = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let docs = list["documents"].as_array().unwrap();
    assert_eq!(docs.len(), sizes.len());
    assert_eq!(docs[0]["filename"], "doc-1.bin");
    assert_eq!(docs[0]["size"], 1);

    let v: Value = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["metadata"]["client_name"], "Round Trip");
    assert_eq!(v["metadata"]["a_number"], "123456789");
    assert_eq!(v["metadata"]["notes"], "notes about Round Trip");
    // Blind-index search finds it under any spelling of the A-number.
    for q in ["A123456789", "123-456-789", "123456789"] {
        let v: Value = alice
            .get(app.url("/cases"))
            .query(&[("a_number", q)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["cases"].as_array().unwrap().len(), 1, "{q}");
        assert_eq!(v["cases"][0]["id"], case.as_str());
    }
    let v: Value = alice
        .get(app.url("/cases"))
        .query(&[("a_number", "A987654321")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["cases"].as_array().unwrap().is_empty());
}

const MARKERS: [&str; 5] = [
    "Zyxwquartz Marker-Client",
    "098765432",
    "NOTE-marker-plover-91",
    "FILENAME-marker-heron.pdf",
    "BODY-marker-kestrel-5521",
];

fn markers() -> Vec<&'static [u8]> {
    MARKERS.iter().map(|m| m.as_bytes()).collect()
}

#[tokio::test]
async fn forensic_scan_finds_no_plaintext_after_upload_restart_and_seal() {
    let mut app = spawn_app().await;
    let alice = app.login("alice").await;
    let r = alice
        .post(app.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": MARKERS[0], "a_number": format!("A{}", MARKERS[1]),
                      "notes": MARKERS[2], "country_of_birth": "Honduras", "date_of_birth": "1990-02-03"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = bytes(300_000, 7);
    body.extend_from_slice(MARKERS[4].as_bytes());
    body.extend(bytes(1000, 8));
    app.upload_ok(&alice, &case, MARKERS[3], body).await;
    // Also a small document that is nothing but the marker.
    app.upload_ok(&alice, &case, "small.txt", MARKERS[4].as_bytes().to_vec())
        .await;

    let hits = scan_for(app.data(), &markers());
    assert!(hits.is_empty(), "plaintext on disk after upload: {hits:?}");
    // The scan must be able to fail: the markers are really where we look.
    assert!(!files_under(app.data()).is_empty());
    let wal = app.data().join("casevault.db-wal");
    assert!(wal.exists(), "the WAL exists and was scanned");

    app.restart().await;
    let hits = scan_for(app.data(), &markers());
    assert!(hits.is_empty(), "plaintext on disk after restart: {hits:?}");

    app.seal("bronx").await;
    app.seal_as("root", "queens").await;
    let hits = scan_for(app.data(), &markers());
    assert!(hits.is_empty(), "plaintext on disk after seal: {hits:?}");
}

#[tokio::test]
async fn scanner_detects_a_planted_marker() {
    // Guards the forensic test against a scanner that can never fire.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
    std::fs::write(
        dir.path().join("blobs/x"),
        b"....BODY-marker-kestrel-5521....",
    )
    .unwrap();
    let hits = scan_for(dir.path(), &markers());
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn sealed_office_answers_423_on_every_read_and_restart_seals() {
    let mut app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Sealed Client", Some("A111222333"))
        .await;
    let doc = app
        .upload_ok(&alice, &case, "a.pdf", b"hello".to_vec())
        .await;
    app.seal("bronx").await;

    let reads = [
        format!("/cases/{case}"),
        format!("/cases/{case}/documents"),
        format!("/cases/{case}/documents/{doc}"),
    ];
    for path in &reads {
        let r = alice.get(app.url(path)).send().await.unwrap();
        assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    }
    let r = alice
        .get(app.url("/cases"))
        .query(&[("a_number", "A111222333")])
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    // The list still works and says the office is sealed, without metadata.
    let v: Value = alice
        .get(app.url("/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["cases"][0]["sealed"], true);
    assert!(v["cases"][0].get("client_name").is_none());

    // While sealed, new cases and uploads still work (public keys only).
    let case2 = app
        .create_case(&alice, "bronx", "Made While Sealed", Some("A444555666"))
        .await;
    let doc2 = app
        .upload_ok(&alice, &case2, "b.pdf", b"while sealed".to_vec())
        .await;

    // Wrong passphrase: 400, still sealed.
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": "not the passphrase at all, sorry"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;

    // Right passphrase: readable, and the case made while sealed is now indexed.
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": app.creds.offices["bronx"].passphrase}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = alice
        .get(app.url(&format!("/cases/{case2}/documents/{doc2}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap(), &b"while sealed"[..]);
    let v: Value = alice
        .get(app.url("/cases"))
        .query(&[("a_number", "444555666")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["cases"][0]["id"], case2.as_str());

    // A restart starts every office sealed.
    app.restart().await;
    let alice = app.login("alice").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
}

#[tokio::test]
async fn seized_disk_yields_nothing_without_passphrase_and_export_opens_with_age() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Export Client", None)
        .await;
    let body = bytes(200_000, 3);
    app.upload_ok(&alice, &case, "evidence.pdf", body.clone())
        .await;
    app.upload_ok(
        &alice,
        &case,
        "evidence.pdf",
        b"second of the same name".to_vec(),
    )
    .await;

    // Wrong passphrase: export refuses and writes nothing.
    let out = tempfile::tempdir().unwrap();
    let recipient_key = age::x25519::Identity::generate();
    let recipient = recipient_key.to_public().to_string();
    let wrong = SecretString::from("a wrong passphrase of some length".to_string());
    let err = casevault::vault::export_case(&app.app.vault, &case, &recipient, out.path(), &wrong);
    assert!(err.is_err());
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);

    // The office passphrase: standard age files that the age crate opens.
    let pass = SecretString::from(app.creds.offices["bronx"].passphrase.clone());
    let summary =
        casevault::vault::export_case(&app.app.vault, &case, &recipient, out.path(), &pass)
            .unwrap();
    assert_eq!(summary.files.len(), 3);
    let open = |name: &str| -> Vec<u8> {
        let f = std::fs::File::open(out.path().join(name)).unwrap();
        let d = age::Decryptor::new(f).unwrap();
        let mut r = d
            .decrypt(std::iter::once(&recipient_key as &dyn age::Identity))
            .unwrap();
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    };
    assert!(open("evidence.pdf.age") == body, "first export differs");
    assert!(open("evidence.pdf (2).age") == b"second of the same name");
    let meta: Value = serde_json::from_slice(&open("case.json.age")).unwrap();
    assert_eq!(meta["client_name"], "Export Client");
    // Another identity cannot open them.
    let other = age::x25519::Identity::generate();
    let f = std::fs::File::open(out.path().join("evidence.pdf.age")).unwrap();
    assert!(
        age::Decryptor::new(f)
            .unwrap()
            .decrypt(std::iter::once(&other as &dyn age::Identity))
            .is_err()
    );

    // The Go age tool, where installed, reads them too.
    if let Ok(o) = std::process::Command::new("age").arg("--version").output()
        && o.status.success()
    {
        let keyfile = out.path().join("key.txt");
        use age::secrecy::ExposeSecret;
        std::fs::write(&keyfile, recipient_key.to_string().expose_secret()).unwrap();
        let o = std::process::Command::new("age")
            .args(["-d", "-i"])
            .arg(&keyfile)
            .arg(out.path().join("evidence.pdf.age"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "age -d failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout == body, "age -d output differs");
    }

    // Only the data directory (a seized disk): the office identity rests as a file to
    // its key holders, whose identities are scrypt-wrapped, so guessing passphrases is
    // all that is left; a wrong one opens nothing.
    let db = rusqlite::Connection::open(app.data().join(casevault::store::DB_FILE)).unwrap();
    let (file, wrapped): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT o.wrapped_identity, h.wrapped_identity FROM offices o
             JOIN office_holders h ON h.office = o.slug AND h.kind = 'office' WHERE o.slug = 'bronx'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(casevault::crypto::HolderKey::unwrap_with_passphrase(&wrapped, &wrong, 20).is_err());
    let holder = casevault::crypto::HolderKey::unwrap_with_passphrase(&wrapped, &pass, 20).unwrap();
    assert!(holder.open_office(&file).is_ok());
    assert!(casevault::crypto::OfficeKey::unwrap_with_passphrase(&file, &pass, 20).is_err());
}

#[tokio::test]
async fn detached_header_swapped_between_documents_fails_to_decrypt() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Swap Client", None).await;
    let a = app
        .upload_ok(&alice, &case, "a.bin", bytes(100_000, 1))
        .await;
    let b = app
        .upload_ok(&alice, &case, "b.bin", bytes(100_000, 2))
        .await;
    {
        let conn = rusqlite::Connection::open(app.data().join("casevault.db")).unwrap();
        let ha: Vec<u8> = conn
            .query_row("SELECT header FROM documents WHERE id = ?1", [&a], |r| {
                r.get(0)
            })
            .unwrap();
        let hb: Vec<u8> = conn
            .query_row("SELECT header FROM documents WHERE id = ?1", [&b], |r| {
                r.get(0)
            })
            .unwrap();
        conn.execute(
            "UPDATE documents SET header = ?2 WHERE id = ?1",
            rusqlite::params![&a, &hb],
        )
        .unwrap();
        conn.execute(
            "UPDATE documents SET header = ?2 WHERE id = ?1",
            rusqlite::params![&b, &ha],
        )
        .unwrap();
    }
    for id in [&a, &b] {
        // The stream is aborted at the first chunk (the connection is cut, or the
        // body ends early): never a readable document.
        let ok = match alice
            .get(app.url(&format!("/cases/{case}/documents/{id}")))
            .send()
            .await
        {
            Ok(r) => {
                r.status() == StatusCode::OK
                    && r.bytes().await.map(|b| b.len() == 100_000).unwrap_or(false)
            }
            Err(_) => false,
        };
        assert!(!ok, "a swapped header decrypted");
    }
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_json_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Input Client", None).await;
    let post = |body: &'static str| {
        alice
            .post(app.url("/cases"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(
        post("{not json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        post(r#"{"office":"bronx","client_name":"X","evil":1}"#)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        post(r#"{"office":"bronx","client_name":42}"#)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        post(r#"{"office":"bronx","client_name":"X","a_number":"12"}"#)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_a_number",
    )
    .await;
    assert_error(
        post(r#"{"office":"bronx","client_name":"X","date_of_birth":"yesterday"}"#)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_field",
    )
    .await;
    assert_error(
        post(r#"{"office":"bronx","client_name":"   "}"#)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_field",
    )
    .await;
    let huge = format!(
        r#"{{"office":"bronx","client_name":"{}"}}"#,
        "x".repeat(200_000)
    );
    let r = alice
        .post(app.url("/cases"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    let r = alice
        .post(app.url("/cases"))
        .header("content-type", "text/plain")
        .body(r#"{"office":"bronx","client_name":"X"}"#)
        .send()
        .await
        .unwrap();
    assert_error(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    // Ids that are not UUIDs, or unknown: 404, never 500.
    for path in [
        "/cases/not-a-uuid",
        "/cases/../../etc/passwd",
        "/cases/%00",
        "/cases/00000000-0000-0000-0000-000000000000",
    ] {
        let r = alice.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents/not-a-uuid")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    // Filenames: traversal, separators, control characters, missing.
    for name in [
        "../../etc/passwd",
        "a/b.pdf",
        "a\\b.pdf",
        "line\nbreak.pdf",
        "nul\u{0}.pdf",
        "",
        "..",
    ] {
        let r = app.upload(&alice, &case, name, b"x".to_vec()).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_filename").await;
    }
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "missing_filename").await;

    // Nothing was stored by any of that.
    let v: Value = alice
        .get(app.url("/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["cases"].as_array().unwrap().len(), 1);
    let v: Value = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["documents"].as_array().unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(app.data().join("blobs")).unwrap().count(),
        0
    );
}

#[tokio::test]
async fn oversized_and_interrupted_uploads_store_nothing() {
    let mut settings = test_settings();
    settings.uploads.max_bytes = 1024 * 1024;
    let app = spawn_app_with(settings).await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Upload Client", None)
        .await;

    // Declared too large.
    let r = app
        .upload(&alice, &case, "big.bin", bytes(1024 * 1024 + 1, 1))
        .await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    // Streamed without a length, too large.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|i| Ok(bytes(64 * 1024, i))).collect();
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "stream.bin")])
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    // Exactly at the limit is fine.
    app.upload_ok(&alice, &case, "limit.bin", bytes(1024 * 1024, 2))
        .await;

    // A client that disconnects midway.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(bytes(100_000, 5)),
        Ok(bytes(100_000, 6)),
        Err(std::io::Error::other("client went away")),
    ];
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "cut.bin")])
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    assert!(r.is_err() || r.unwrap().status().is_client_error());
    // Give the server a moment to notice and clean up.
    for _ in 0..50 {
        if std::fs::read_dir(app.data().join("blobs")).unwrap().count() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let v: Value = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let docs = v["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 1, "only the upload at the limit is stored: {v}");
    assert_eq!(docs[0]["filename"], "limit.bin");
    assert_eq!(
        std::fs::read_dir(app.data().join("blobs")).unwrap().count(),
        1,
        "no orphan or temporary blob"
    );
}

#[tokio::test]
async fn health_openapi_and_unknown_routes() {
    let app = spawn_app().await;
    let c = app.client();
    let r = c.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok");
    let v: Value = c
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/login",
        "/api/v1/cases",
        "/api/v1/cases/{case}/documents",
        "/api/v1/offices/{office}/unseal",
        "/api/v1/seal-all",
    ] {
        assert!(v["paths"].get(p).is_some(), "openapi lacks {p}");
    }
    let r = c.get(app.url("/nope")).send().await.unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = c.get(app.url("/cases")).send().await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Signed-out visitors of / go to /login.
    let nr = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&app.cert).unwrap()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = nr.get(format!("{}/", app.base)).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/login");
}

#[tokio::test]
async fn crash_leftovers_are_collected_at_start_and_documents_survive() {
    let mut app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Leftover Client", None)
        .await;
    let doc = app
        .upload_ok(&alice, &case, "keep.pdf", bytes(70_000, 9))
        .await;
    let blobs = app.data().join("blobs");
    // What a crash can leave: a half-written temporary file, and a committed blob whose
    // row was never written.
    std::fs::write(
        blobs.join(".tmp-0123456789abcdef0123456789abcdef"),
        b"partial ciphertext",
    )
    .unwrap();
    std::fs::write(
        blobs.join("0123456789abcdef0123456789abcdef"),
        b"orphan ciphertext",
    )
    .unwrap();
    assert_eq!(std::fs::read_dir(&blobs).unwrap().count(), 3);
    app.restart().await;
    assert_eq!(
        std::fs::read_dir(&blobs).unwrap().count(),
        1,
        "leftovers removed, the document kept"
    );
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": app.creds.offices["bronx"].passphrase}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let alice = app.login("alice").await;
    let got = alice
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got[..] == bytes(70_000, 9)[..]);
    let db = casevault::store::Db::open(app.data()).unwrap();
    assert!(db.integrity_ok().unwrap());
}

#[tokio::test]
async fn idle_offices_seal_themselves() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Idle Client", None).await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Just under the idle time: still unsealed (each read counts as use).
    app.clock
        .advance(i64::from(app.settings.seal.idle_minutes) * 60 - 120);
    assert!(app.app.vault.seal_idle().await.unwrap().is_empty());
    let alice = app.login("alice").await; // the 15-minute session ended meanwhile
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A full idle period later both offices are sealed, and it is audited.
    app.clock
        .advance(i64::from(app.settings.seal.idle_minutes) * 60);
    let mut sealed = app.app.vault.seal_idle().await.unwrap();
    sealed.sort();
    assert_eq!(sealed, vec!["bronx".to_string(), "queens".to_string()]);
    let alice = app.login("alice").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    let n: i64 = rusqlite::Connection::open(app.data().join("casevault.db"))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'auto_seal'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn client_name_search_through_the_blind_index() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let maria = app.create_case(&alice, "bronx", "Maria Lopez", None).await;
    let _juan = app.create_case(&alice, "bronx", "Juan Perez", None).await;
    let bob = app.login("bob").await;
    let bobs = app.create_case(&bob, "queens", "Maria Lopez", None).await;
    let search = |c: &reqwest::Client, q: &'static str| {
        c.get(app.url("/cases")).query(&[("client_name", q)]).send()
    };
    let ids = |v: Value| -> Vec<String> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Case and spacing do not matter; the other office's namesake never shows.
    let v: Value = search(&alice, "  maria   LOPEZ ")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v), vec![maria.clone()]);
    let v: Value = search(&bob, "Maria Lopez")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v), vec![bobs]);
    let v: Value = search(&alice, "Maria Lopes")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ids(v).is_empty());
    // One search at a time; an empty name is refused.
    let r = alice
        .get(app.url("/cases"))
        .query(&[("client_name", "Maria Lopez"), ("a_number", "A123456789")])
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_query").await;
    let r = search(&alice, "   ").await.unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;

    // A partner searches only what is shared with them.
    let r = alice
        .post(app.url(&format!("/cases/{maria}/shares")))
        .json(
            &json!({"username": "pat", "permission": "read", "expires_at": "2027-06-01T00:00:00Z"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pat = app.login("pat").await;
    let v: Value = search(&pat, "maria lopez")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v), vec![maria]);
    let v: Value = search(&pat, "Juan Perez")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ids(v).is_empty());

    // A case opened while the office is sealed is indexed at the next unseal.
    app.seal("bronx").await;
    let ana = app.create_case(&alice, "bronx", "Ana Sealed", None).await;
    let r = search(&alice, "Ana Sealed").await.unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": app.creds.offices["bronx"].passphrase}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let v: Value = search(&alice, "ana sealed")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v), vec![ana]);
}
