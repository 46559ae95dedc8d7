//! Casework and purges (issue 11): a purged case leaves no trace of its earlier
//! versions, notes, corrections, events or renamed filenames in the data directory,
//! and rule 22 decides who shreds a wrong upload (the uploader within 24 hours, a
//! supervisor, the office administrator; a fresh code always; never under a hold).
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::*;
use crate::casekit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

const MARKERS: [&str; 8] = [
    "PMK-CLIENT-ORIG-wren",
    "PMK-DETAILS-V1-finch",
    "PMK-CLIENT-NEW-lark",
    "PMK-NOTE-rook",
    "PMK-CORRECTION-jay",
    "PMK-PLACE-swift",
    "PMK-DESC-dipper",
    "PMK-FILE-shrike",
];

/// A case carrying every kind of casework text (`tag` makes its markers its own).
async fn planted_case(app: &TestApp, c: &Client, tag: &str) -> String {
    let m = |i: usize| format!("{}{tag}", MARKERS[i]);
    let r = c
        .post(app.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": m(0), "notes": m(1)}))
        .send()
        .await
        .unwrap();
    let case = created_id(r).await;
    patch_ok(
        app,
        c,
        &case,
        Some("1"),
        json!({"client_name": m(2), "notes": "later details"}),
    )
    .await;
    let n = note_ok(app, c, &case, &m(3), None).await;
    note_ok(app, c, &case, &m(4), Some(&n)).await;
    let ev = json!({"kind": "hearing", "date": day(app, 6), "time": "09:00", "place": m(5), "description": m(6)});
    event_ok(app, c, &case, ev).await;
    let doc = app.upload_ok(c, &case, "upload.pdf", bytes(3000, 9)).await;
    let r = c
        .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
        .json(&json!({"filename": format!("{}.pdf", m(7))}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    case
}

#[tokio::test]
async fn casework_purge_leaves_no_version_note_event_or_filename_in_the_data_directory() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = planted_case(&app, &alice, "").await;
    let control = planted_case(&app, &alice, "-control").await;
    let v = get_ok(&app, &alice, &format!("/cases/{case}/versions")).await;
    assert_eq!(
        v["versions"][1]["metadata"]["client_name"], MARKERS[0],
        "planted"
    );
    assert_eq!(v["versions"][1]["metadata"]["notes"], MARKERS[1]);

    // Before: the markers are nowhere in plaintext, with or without the WAL.
    let plain: Vec<&[u8]> = MARKERS.iter().map(|m| m.as_bytes()).collect();
    assert!(
        scan_for(app.data(), &plain).is_empty(),
        "plaintext before a checkpoint"
    );
    app.app.vault.db().checkpoint_truncate().unwrap();
    assert!(
        scan_for(app.data(), &plain).is_empty(),
        "plaintext after a checkpoint"
    );
    // The sealed rows (details, the earlier version, two notes, the event, the
    // document's name) are there, and the scanner finds them.
    let sealed = slices(&every_sealed_row(&app, &case));
    let kept = slices(&every_sealed_row(&app, &control));
    assert_eq!((sealed.len(), kept.len()), (6, 6));
    let needles: Vec<&[u8]> = sealed.iter().map(Vec::as_slice).collect();
    assert_eq!(
        scan_for(app.data(), &needles).len(),
        6,
        "each found once, in the database"
    );

    let admin = app.login("admin").await;
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    settle(&app).await;

    assert!(scan_for(app.data(), &plain).is_empty());
    let hits = scan_for(app.data(), &needles);
    assert!(
        hits.is_empty(),
        "sealed casework survives the purge in {hits:?}"
    );
    let controls: Vec<&[u8]> = kept.iter().map(Vec::as_slice).collect();
    assert_eq!(
        scan_for(app.data(), &controls).len(),
        6,
        "the other case is intact"
    );
    for table in ["case_versions", "case_notes", "case_events", "documents"] {
        assert_eq!(
            count(app.data(), table, &format!("case_id = '{case}'")),
            0,
            "{table}"
        );
    }
    for p in ["versions", "notes", "events"] {
        let path = format!("/cases/{case}/{p}");
        let gone = get(&app, &alice, &path).await;
        let never = get(&app, &alice, &path.replace(&case, NEVER)).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            gone.text().await.unwrap(),
            never.text().await.unwrap(),
            "{path}"
        );
    }
    let up = get_ok(&app, &alice, "/upcoming").await;
    let cases: Vec<&str> = up["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(cases, [control.as_str()]);
}

/// POST …/documents/{doc}/purge with an optional code; the response untouched.
async fn shred(
    app: &TestApp,
    c: &Client,
    case: &str,
    doc: &str,
    code: Option<String>,
) -> reqwest::Response {
    let body = match code {
        Some(c) => json!({"totp": c}),
        None => json!({}),
    };
    post_json(
        app,
        c,
        &format!("/cases/{case}/documents/{doc}/purge"),
        body,
    )
    .await
}

async fn shred_ok(app: &TestApp, c: &Client, case: &str, doc: &str, code: Option<String>) {
    let r = shred(app, c, case, doc, code).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["cases"].as_u64(), v["documents"].as_u64()),
        (Some(0), Some(1))
    );
}

/// The answer of a document purge nobody may do (a missing case's).
async fn refused_like_missing(app: &TestApp, c: &Client, case: &str, doc: &str) {
    let r = shred(app, c, case, doc, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let never = shred(app, c, NEVER, doc, None).await;
    assert_eq!(r.text().await.unwrap(), never.text().await.unwrap());
}

async fn doc_status(app: &TestApp, c: &Client, case: &str, doc: &str) -> StatusCode {
    get(app, c, &format!("/cases/{case}/documents/{doc}"))
        .await
        .status()
}

#[tokio::test]
async fn casework_an_uploader_shreds_their_own_upload_within_a_day_and_not_after() {
    let app = spawn_app().await;
    let carol_acct = bronx_caseworker(&app, "carol").await;
    let dave_acct = bronx_caseworker(&app, "dave").await;
    let carol = login_account(&app, &carol_acct).await;
    let case = app.create_case(&carol, "bronx", "Wrong Upload", None).await;
    let mut docs = Vec::new();
    for i in 0..4 {
        docs.push(
            app.upload_ok(&carol, &case, &format!("d{i}.pdf"), bytes(100, i))
                .await,
        );
    }
    let uploaded = app.clock.unix();
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url(&format!("/cases/{case}/assignments")))
        .json(&json!({"user_id": dave_acct.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // dave works on the case but did not upload: no, even fresh.
    let dave = login_account(&app, &dave_acct).await;
    assert_eq!(
        doc_status(&app, &dave, &case, &docs[0]).await,
        StatusCode::OK
    );
    refused_like_missing(&app, &dave, &case, &docs[0]).await;

    // carol, fresh from signing in: yes.
    shred_ok(&app, &carol, &case, &docs[0], None).await;
    assert_eq!(
        doc_status(&app, &carol, &case, &docs[0]).await,
        StatusCode::NOT_FOUND
    );
    // Her code has gone stale: a fresh one is asked for, then it works.
    app.clock.advance(11 * 60);
    let r = shred(&app, &carol, &case, &docs[1], None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    assert_eq!(
        doc_status(&app, &carol, &case, &docs[1]).await,
        StatusCode::OK
    );
    shred_ok(
        &app,
        &carol,
        &case,
        &docs[1],
        Some(next_code(&app, &carol_acct.secret)),
    )
    .await;

    // Just inside the day: yes. Just past it: no, though she still works on the case.
    app.clock
        .advance(uploaded + 23 * 3600 + 50 * 60 - app.clock.unix());
    let carol = login_account(&app, &carol_acct).await;
    shred_ok(&app, &carol, &case, &docs[2], None).await;
    app.clock.advance(15 * 60);
    let carol = login_account(&app, &carol_acct).await;
    assert!(app.clock.unix() > uploaded + 24 * 3600 + 60);
    refused_like_missing(&app, &carol, &case, &docs[3]).await;
    assert_eq!(
        doc_status(&app, &carol, &case, &docs[3]).await,
        StatusCode::OK
    );
    // The supervisor may, whenever; with a code gone stale, only with a new one.
    let alice = app.login("alice").await;
    app.clock.advance(11 * 60);
    let r = shred(&app, &alice, &case, &docs[3], None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    shred_ok(&app, &alice, &case, &docs[3], Some(app.code("alice"))).await;

    let rows: Vec<_> = audit_rows(&app)
        .into_iter()
        .filter(|r| r.action == "purge_document")
        .collect();
    for r in &rows {
        // Ids only: the case and the document, never a filename.
        assert!(
            r.target.contains("case:") && r.target.contains(" doc:") && !r.target.contains(".pdf"),
            "{}",
            r.target
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.target.ends_with(&format!("doc:{}", docs[0])))
    );
    let outcomes: Vec<(String, String)> =
        rows.into_iter().map(|r| (r.decision, r.outcome)).collect();
    let allowed = outcomes
        .iter()
        .filter(|(d, o)| d == "allow" && o.starts_with("ok"))
        .count();
    let step_ups = outcomes
        .iter()
        .filter(|(_, o)| o == "step_up_required")
        .count();
    assert_eq!((allowed, step_ups), (4, 2), "{outcomes:?}");
}

#[tokio::test]
async fn casework_a_partner_uploader_shreds_within_a_day_while_the_upload_share_lives() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Partner Upload", None)
        .await;
    let second = app
        .create_case(&alice, "bronx", "Partner Revoked", None)
        .await;
    share_with(&app, &alice, &case, "pat", "upload", None).await;
    let s2 = share_with(&app, &alice, &second, "pat", "upload", None).await;
    let theirs = app
        .upload_ok(&alice, &case, "alice.pdf", bytes(80, 1))
        .await;
    let pat = app.login("pat").await;
    let p1 = app.upload_ok(&pat, &case, "p1.pdf", bytes(80, 2)).await;
    let p2 = app.upload_ok(&pat, &case, "p2.pdf", bytes(80, 3)).await;
    let p3 = app.upload_ok(&pat, &second, "p3.pdf", bytes(80, 4)).await;

    shred_ok(&app, &pat, &case, &p1, None).await;
    refused_like_missing(&app, &pat, &case, &theirs).await;
    // A revoked share ends the partner's power over their own upload too.
    let r = alice
        .delete(app.url(&format!("/cases/{second}/shares/{s2}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    refused_like_missing(&app, &pat, &second, &p3).await;
    // Stale code: asked for a fresh one.
    app.clock.advance(11 * 60);
    let r = shred(&app, &pat, &case, &p2, None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    // A day later: no longer.
    app.clock.advance(24 * 3600);
    let pat = app.login("pat").await;
    refused_like_missing(&app, &pat, &case, &p2).await;
    let alice = app.login("alice").await;
    assert_eq!(doc_status(&app, &alice, &case, &p2).await, StatusCode::OK);
    shred_ok(&app, &alice, &case, &p2, None).await;
    // The office administrator (rule 8) is asked for a fresh code too.
    let admin = app.login("admin").await;
    app.clock.advance(11 * 60);
    let r = shred(&app, &admin, &case, &theirs, None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    shred_ok(&app, &admin, &case, &theirs, Some(app.code("admin"))).await;
}

#[tokio::test]
async fn casework_a_legal_hold_stops_every_shredder() {
    let app = spawn_app().await;
    let carol_acct = bronx_caseworker(&app, "carol").await;
    let carol = login_account(&app, &carol_acct).await;
    let case = app.create_case(&carol, "bronx", "Held Upload", None).await;
    let alice = app.login("alice").await;
    share_with(&app, &alice, &case, "pat", "upload", None).await;
    let mine = app
        .upload_ok(&carol, &case, "carol.pdf", bytes(60, 1))
        .await;
    let pat = app.login("pat").await;
    let partner = app.upload_ok(&pat, &case, "pat.pdf", bytes(60, 2)).await;
    let admin = app.login("admin").await;
    let r = admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": "litigation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let carol = login_account(&app, &carol_acct).await;
    let pat = app.login("pat").await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    for (who, c, doc) in [
        ("carol", &carol, &mine),
        ("pat", &pat, &partner),
        ("alice", &alice, &mine),
        ("admin", &admin, &partner),
    ] {
        let r = shred(&app, c, &case, doc, None).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{who}");
        assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    }
    for doc in [&mine, &partner] {
        assert_eq!(doc_status(&app, &alice, &case, doc).await, StatusCode::OK);
    }
    // Lifted: the uploader may again (still within the day).
    let r = admin
        .delete(app.url(&format!("/cases/{case}/hold")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    shred_ok(&app, &carol, &case, &mine, None).await;
}
