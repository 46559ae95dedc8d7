//! Races against a running server (issue 9 items 5 and 11, and the "also look at"
//! list): guesses sent all at once, a share revoked while an upload streams, a panic
//! seal while a download streams, an office slug purged and created again. Each
//! test measures what happened (argon2 runs counted, bytes received, rows and files
//! left), never how long it took.
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::{STRONG, code_at, code_now, create_and_enrol, in_secs, try_login};
use crate::helpers::{TestApp, assert_error, bytes, files_under, spawn_app};

/// How many requests are sent at once.
const AT_ONCE: usize = 60;

fn clients(app: &TestApp, n: usize) -> Vec<Client> {
    (0..n).map(|_| app.client()).collect()
}

fn count(statuses: &[StatusCode], s: StatusCode) -> usize {
    statuses.iter().filter(|x| **x == s).count()
}

// ---------- item 5: the throttle cannot be raced ----------

#[tokio::test]
async fn sixty_wrong_sign_ins_at_once_evaluate_at_most_the_lock_threshold() {
    let app = spawn_app().await;
    let limit = app.settings.login.lock_after_failures as usize;
    // One connection per guess, made before the burst so that the guesses arrive
    // together.
    let cs = clients(&app, AT_ONCE);
    for c in &cs {
        let r = c.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let before = app.app.vault.password_verifications();
    let guesses = cs.iter().enumerate().map(|(i, c)| {
        let app = &app;
        async move {
            try_login(app, c, "alice", &format!("wrong-guess-{i}"), None)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let evaluated = app.app.vault.password_verifications() - before;
    let (refused, throttled) = (
        count(&statuses, StatusCode::UNAUTHORIZED),
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
    );
    assert!(
        evaluated as usize <= limit,
        "{evaluated} guesses were evaluated (at most {limit} may be): {statuses:?}"
    );
    // Every evaluated guess answered 401, every other one 429, nothing else.
    assert_eq!(refused, evaluated as usize, "{statuses:?}");
    assert_eq!(refused + throttled, AT_ONCE, "{statuses:?}");

    // The account is now locked: even the right password and code wait.
    let alice = app.creds.users["alice"].clone();
    let c = app.client();
    let r = try_login(
        &app,
        &c,
        "alice",
        &alice.password,
        Some(&code_now(&app, &alice.totp_secret)),
    )
    .await;
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Once the lock has run out, the right password and code get in as before.
    app.clock
        .advance(i64::from(app.settings.login.lock_minutes) * 60 + 30);
    let r = try_login(
        &app,
        &c,
        "alice",
        &alice.password,
        Some(&code_now(&app, &alice.totp_secret)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_right_password_sent_among_wrong_guesses_still_signs_in() {
    let app = spawn_app().await;
    let alice = app.creds.users["alice"].clone();
    let code = code_now(&app, &alice.totp_secret);
    // Fewer guesses than the lock threshold: each is evaluated, and the right one,
    // reserved like the others, signs in.
    let cs = clients(&app, 4);
    let attempts = cs.iter().enumerate().map(|(i, c)| {
        let (app, alice, code) = (&app, &alice, &code);
        async move {
            let (pw, totp) = if i == 2 {
                (alice.password.clone(), Some(code.as_str()))
            } else {
                (format!("wrong-guess-{i}"), None)
            };
            try_login(app, c, "alice", &pw, totp).await.status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(statuses[2], StatusCode::OK, "{statuses:?}");
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        3,
        "{statuses:?}"
    );
    // The success cleared the account's count but not the address's: three
    // failures from here. An address is slowed past ten times an account's free
    // failures (30), so 28 more wrong guesses at other names are evaluated, and the
    // next attempt from here waits.
    let c = app.client();
    for n in 0..28 {
        let r = try_login(&app, &c, &format!("nobody-{n}"), "wrong-guess-x", None).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let r = try_login(&app, &c, "bob", "wrong-guess-y", None).await;
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn sixty_wrong_step_up_codes_at_once_are_checked_at_most_up_to_the_lock() {
    let app = spawn_app().await;
    let limit = app.settings.login.lock_after_failures as usize;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Raced Step Up", None)
        .await;
    // Past the step-up window: every share needs a code, and each guess is wrong.
    app.clock.advance(11 * 60);
    let secret = app.creds.users["alice"].totp_secret.clone();
    let guesses = (0..AT_ONCE).map(|i| {
        let (app, alice, case) = (&app, &alice, &case);
        let guess = code_at(&secret, app.clock.unix() + 3600 + 30 * i as i64);
        async move {
            alice
                .post(app.url(&format!("/cases/{case}/shares")))
                .json(&json!({"username": "pat", "permission": "read",
                              "expires_at": in_secs(app, 86400), "totp": guess}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = count(&statuses, StatusCode::BAD_REQUEST);
    assert!(
        checked <= limit,
        "{checked} codes were checked: {statuses:?}"
    );
    assert_eq!(
        checked + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        AT_ONCE,
        "{statuses:?}"
    );
}

// ---------- item 11: an upload is decided again before its row is written ----------

fn blob_files(data: &Path) -> Vec<String> {
    files_under(&data.join("blobs"))
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Waits until the server holds a temporary blob: the upload was decided and its
/// bytes are being encrypted. Bounded, so a broken server fails the test instead of
/// hanging it.
async fn wait_for_upload_in_progress(data: &Path) {
    for _ in 0..3000 {
        if blob_files(data).iter().any(|n| n.starts_with(".tmp-")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the upload never started");
}

/// How the partner loses the right to upload while the bytes stream.
#[derive(Clone, Copy, Debug)]
enum CutOff {
    /// The caseworker revokes the upload share.
    RevokeShare,
    /// The superadmin disables the partner's account.
    DisableAccount,
}

#[tokio::test]
async fn a_share_revoked_while_the_upload_streams_stores_nothing() {
    upload_cut_off_mid_stream(CutOff::RevokeShare).await;
}

#[tokio::test]
async fn an_account_disabled_while_the_upload_streams_stores_nothing() {
    upload_cut_off_mid_stream(CutOff::DisableAccount).await;
}

async fn upload_cut_off_mid_stream(cut: CutOff) {
    let app = spawn_app().await;
    let root = app.login("root").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Revoked Mid Upload", None)
        .await;
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(
            &json!({"username": "pat", "permission": "upload", "expires_at": in_secs(&app, 86400)}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let share: Value = r.json().await.unwrap();
    let share = share["id"].as_str().unwrap().to_string();
    let pat = app.login("pat").await;
    assert!(blob_files(app.data()).is_empty());

    // The partner's body is a stream this test feeds by hand.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let upload = tokio::spawn(
        pat.post(app.url(&format!("/cases/{case}/documents")))
            .query(&[("filename", "statement.pdf")])
            .header("content-type", "application/pdf")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    tx.send(bytes(64 * 1024, 1)).await.unwrap();
    wait_for_upload_in_progress(app.data()).await;

    // The right to upload goes while the bytes are still coming.
    let r = match cut {
        CutOff::RevokeShare => alice.delete(app.url(&format!("/cases/{case}/shares/{share}"))),
        CutOff::DisableAccount => {
            root.post(app.url(&format!("/users/{}/disable", app.user_id("pat"))))
        }
    }
    .json(&json!({}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{cut:?}");
    tx.send(bytes(64 * 1024, 2)).await.unwrap();
    drop(tx);
    let r = upload.await.unwrap().unwrap();

    // Refused exactly like a case that does not exist, and nothing is kept.
    let refused = assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let missing = app
        .upload(
            &alice,
            &uuid::Uuid::new_v4().to_string(),
            "statement.pdf",
            vec![1],
        )
        .await;
    let missing: Value = missing.json().await.unwrap();
    assert_eq!(refused, missing);
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let docs: Value = r.json().await.unwrap();
    assert_eq!(docs["documents"], json!([]), "{docs}");
    assert_eq!(blob_files(app.data()), Vec::<String>::new());

    // The refusal is audited against the partner and the case.
    let audrey = app.login("audrey").await;
    let r = audrey
        .get(app.url("/audit"))
        .query(&[("action", "upload_document"), ("limit", "1000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    let pat_id = app.user_id("pat");
    let denied = page["entries"].as_array().unwrap().iter().any(|e| {
        e["actor"] == pat_id.as_str()
            && e["decision"] == "deny"
            && e["target"].as_str().unwrap().contains(&case)
    });
    assert!(denied, "no refusal audited: {page}");
}

// ---------- also: a panic seal stops downloads already in flight ----------

/// What happens to the keys while a download streams.
#[derive(Clone, Copy, Debug)]
enum KeysGo {
    /// The office administrator's panic seal.
    PanicSeal,
    /// The office administrator purges the case.
    PurgeCase,
}

#[tokio::test]
async fn a_panic_seal_stops_a_download_in_flight() {
    download_while_keys_go(KeysGo::PanicSeal).await;
}

#[tokio::test]
async fn a_case_purge_stops_a_download_in_flight() {
    download_while_keys_go(KeysGo::PurgeCase).await;
}

async fn download_while_keys_go(how: KeysGo) {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Long Download", None)
        .await;
    // Far more than the server and both sockets can buffer between them.
    let size = 48 << 20;
    let doc = app
        .upload_ok(&alice, &case, "archive.pdf", bytes(size, 7))
        .await;
    let admin = app.login("admin").await;

    let r = alice
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.bytes_stream();
    let mut received = body.next().await.unwrap().unwrap().len();
    assert!(received > 0);

    let path = match how {
        KeysGo::PanicSeal => "/seal-all".to_string(),
        KeysGo::PurgeCase => format!("/cases/{case}/purge"),
    };
    let r = admin
        .post(app.url(&path))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{how:?}");
    if let KeysGo::PanicSeal = how {
        let sealed: Value = r.json().await.unwrap();
        assert_eq!(sealed["sealed"], json!(["bronx"]));
    }

    let mut broken = false;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(b) => received += b.len(),
            Err(_) => {
                broken = true;
                break;
            }
        }
    }
    assert!(
        broken && received < size,
        "{how:?}: the download went on: {received} of {size} bytes, broken: {broken}"
    );
}

// ---------- also: a re-created office slug starts with an empty audit view ----------

#[tokio::test]
async fn a_recreated_office_does_not_see_the_old_offices_audit_entries() {
    let app = spawn_app().await;
    let root = app.login("root").await;
    let create = || async {
        let r = root
            .post(app.url("/offices"))
            .json(&json!({"slug": "brooklyn"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    };
    // The first brooklyn: created; its administrator holds, releases and seals it,
    // then purges it (a fresh code: the enrolment just proved one).
    create().await;
    let first = create_and_enrol(
        &app,
        &root,
        json!({"username": "brooklyn-first", "role": "admin", "office": "brooklyn", "password": STRONG}),
    )
    .await;
    for (method, path) in [
        (reqwest::Method::PUT, "/offices/brooklyn/hold"),
        (reqwest::Method::DELETE, "/offices/brooklyn/hold"),
        (reqwest::Method::POST, "/offices/brooklyn/seal"),
    ] {
        let r = first
            .client
            .request(method, app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
    }
    // The purge waits for a second person (issue 26): root approves.
    let v = crate::approvals::purge_office_approved(&app, &first.client, "brooklyn").await;
    assert_eq!(v["status"], "done");

    // The second brooklyn, with an administrator of its own.
    create().await;
    let admin = create_and_enrol(
        &app,
        &root,
        json!({"username": "brooklyn-second", "role": "admin", "office": "brooklyn", "password": STRONG}),
    )
    .await;
    let r = admin
        .client
        .get(app.url("/audit"))
        .query(&[("limit", "1000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["office"], "brooklyn");
    let entries = page["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    // The view starts with this office's creation; nothing of the first one shows.
    assert_eq!(entries[0]["action"], "create_office", "{page}");
    let old: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            ["hold_office", "seal_office", "purge_office"].contains(&e["action"].as_str().unwrap())
                || e["actor"] == first.id.as_str()
        })
        .collect();
    assert!(old.is_empty(), "the old office's entries show: {old:?}");
    // Asking for them by sequence number does not help either.
    let r = admin
        .client
        .get(app.url("/audit"))
        .query(&[("after", "0"), ("action", "purge_office")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["entries"], json!([]), "{page}");
    // Nor does the old office's approval request.
    let r = admin
        .client
        .get(app.url("/approvals"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["approvals"], json!([]), "{v}");
}
