//! Casework (issue 11): who reaches a case's notes and events. A partner only through
//! a live share that says `notes` (rule 21), everything else answering like a missing
//! case; a sealed office answers 423 for every new read and edit, and "Coming up"
//! names it instead of guessing at its cases.
use age::secrecy::SecretString;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::casekit::*;
use crate::helpers::*;

#[tokio::test]
async fn casework_a_partner_sees_notes_and_events_only_through_a_share_that_says_so() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let plain = app
        .create_case(&alice, "bronx", "Plainshare Client", None)
        .await;
    let noted = app
        .create_case(&alice, "bronx", "Notedshare Client", None)
        .await;
    for c in [&plain, &noted] {
        note_ok(&app, &alice, c, "a note for the partner?", None).await;
        event_ok(
            &app,
            &alice,
            c,
            json!({"kind": "hearing", "date": day(&app, 3)}),
        )
        .await;
    }
    share_with(&app, &alice, &plain, "pat", "upload", None).await;
    let s = share_with(&app, &alice, &noted, "pat", "read", Some(true)).await;
    let pat = app.login("pat").await;
    let missing = get(&app, &pat, &format!("/cases/{NEVER}"))
        .await
        .text()
        .await
        .unwrap();

    // Without `notes`: the case is readable, its notes and events are not there at all.
    let v = get_ok(&app, &pat, &format!("/cases/{plain}")).await;
    assert_eq!(v["metadata"]["client_name"], "Plainshare Client");
    for path in ["notes", "events", "versions"] {
        let r = get(&app, &pat, &format!("/cases/{plain}/{path}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.text().await.unwrap(),
            missing,
            "{path} answers like a missing case"
        );
    }
    // With `notes`: both lists; versions stay for caseworkers; adding is not theirs.
    let v = get_ok(&app, &pat, &format!("/cases/{noted}/notes")).await;
    assert_eq!(v["notes"][0]["text"], "a note for the partner?");
    let v = get_ok(&app, &pat, &format!("/cases/{noted}/events")).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    let r = get(&app, &pat, &format!("/cases/{noted}/versions")).await;
    assert_eq!(r.text().await.unwrap(), missing);
    let r = post_note(&app, &pat, &noted, json!({"text": "partner note"})).await;
    assert_eq!(r.text().await.unwrap(), missing);
    let r = post_event(
        &app,
        &pat,
        &noted,
        json!({"kind": "other", "date": day(&app, 1)}),
    )
    .await;
    assert_eq!(r.text().await.unwrap(), missing);

    // Coming up holds only the case shared with notes: no id, no name of the other.
    let up = get(&app, &pat, "/upcoming").await.text().await.unwrap();
    let v: Value = serde_json::from_str(&up).unwrap();
    let cases: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(cases, [noted.as_str()]);
    assert!(!up.contains(&plain) && !up.contains("Plainshare"), "{up}");

    // Revoked: nothing any more.
    let r = alice
        .delete(app.url(&format!("/cases/{noted}/shares/{s}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get(&app, &pat, &format!("/cases/{noted}/notes")).await;
    assert_eq!(r.text().await.unwrap(), missing);
    let v = get_ok(&app, &pat, "/upcoming").await;
    assert!(v["events"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn casework_a_sealed_office_answers_423_for_every_new_read_and_edit() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Sealed Client", None)
        .await;
    let doc = app
        .upload_ok(&alice, &case, "scan.pdf", bytes(100, 1))
        .await;
    note_ok(&app, &alice, &case, "before the seal", None).await;
    event_ok(
        &app,
        &alice,
        &case,
        json!({"kind": "deadline", "date": day(&app, 2)}),
    )
    .await;
    let noted = app
        .create_case(&alice, "bronx", "Partner Sealed", None)
        .await;
    event_ok(
        &app,
        &alice,
        &noted,
        json!({"kind": "hearing", "date": day(&app, 2)}),
    )
    .await;
    share_with(&app, &alice, &noted, "pat", "read", Some(true)).await;
    let pat = app.login("pat").await;
    app.seal("bronx").await;

    for path in ["versions", "notes", "events"] {
        let r = get(&app, &alice, &format!("/cases/{case}/{path}")).await;
        assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    }
    let r = get(&app, &pat, &format!("/cases/{noted}/notes")).await;
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    let r = patch_case(
        &app,
        &alice,
        &case,
        Some("1"),
        json!({"notes": "while sealed"}),
    )
    .await;
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    let r = alice
        .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
        .json(&json!({"filename": "renamed.pdf"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    for c in [&alice, &pat] {
        let up = get_ok(&app, c, "/upcoming").await;
        assert_eq!(up["sealed_offices"], json!(["bronx"]), "{up}");
        assert!(up["events"].as_array().unwrap().is_empty());
    }
    // Adding needs only the case's public key: it works sealed, and reads back later.
    let n = note_ok(&app, &alice, &case, "written while sealed", None).await;

    let pass = app.creds.offices["bronx"].passphrase.clone();
    casevault::vault::operator::unseal(&app.app.vault, "bronx", SecretString::from(pass))
        .await
        .unwrap();
    let v = get_ok(&app, &alice, &format!("/cases/{case}/notes")).await;
    assert_eq!(v["notes"][0]["id"], n.as_str());
    assert_eq!(v["notes"][0]["text"], "written while sealed");
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(v["version"], 1, "the sealed edit stored nothing");
    let up = get_ok(&app, &alice, "/upcoming").await;
    assert_eq!(up["events"].as_array().unwrap().len(), 2);
    assert!(up["sealed_offices"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn casework_an_expired_share_with_notes_shows_nothing_any_more() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Expiring Client", None)
        .await;
    note_ok(&app, &alice, &case, "seen for a minute", None).await;
    event_ok(
        &app,
        &alice,
        &case,
        json!({"kind": "appointment", "date": day(&app, 1)}),
    )
    .await;
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(
            &json!({"username": "pat", "permission": "read", "notes": true,
                      "expires_at": crate::authkit::in_secs(&app, 120)}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pat = app.login("pat").await;
    get_ok(&app, &pat, &format!("/cases/{case}/notes")).await;
    let up = get_ok(&app, &pat, "/upcoming").await;
    assert_eq!(up["events"].as_array().unwrap().len(), 1);

    app.clock.advance(180);
    let missing = get(&app, &pat, &format!("/cases/{NEVER}"))
        .await
        .text()
        .await
        .unwrap();
    for path in ["notes", "events"] {
        let r = get(&app, &pat, &format!("/cases/{case}/{path}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.text().await.unwrap(), missing);
    }
    let up = get_ok(&app, &pat, "/upcoming").await;
    assert!(up["events"].as_array().unwrap().is_empty(), "{up}");
}
