//! Casework guards found by attacking the first version (issue 11): a hearing moved by
//! two people at once, a note corrected twice, a rename under legal hold, the details'
//! notes of a share without notes, and a JSON array where an object belongs.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle_helpers::*;

async fn id_of(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_event_is_replaced_once_and_a_note_corrected_once() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Twice Moved", None).await;
    let ev = format!("/cases/{case}/events");
    let first = id_of(
        post_json(
            &app,
            &alice,
            &ev,
            json!({"kind": "hearing", "date": "2026-12-10"}),
        )
        .await,
    )
    .await;
    // Two people move the same hearing, one after the other, each from the page they saw.
    let moved = post_json(
        &app,
        &alice,
        &ev,
        json!({"kind": "hearing", "date": "2026-12-11", "replaces": first}),
    )
    .await;
    let moved = id_of(moved).await;
    let again = post_json(
        &app,
        &alice,
        &ev,
        json!({"kind": "hearing", "date": "2026-12-12", "replaces": first}),
    )
    .await;
    assert_error(again, StatusCode::CONFLICT, "already_replaced").await;
    let list: Value = alice
        .get(app.url(&ev))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events = list["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{list}");
    let live: Vec<&Value> = events
        .iter()
        .filter(|e| e["replaced_by"].is_null())
        .collect();
    assert_eq!(live.len(), 1, "{list}");
    assert_eq!(live[0]["date"], "2026-12-11");
    assert_eq!(live[0]["id"], moved.as_str());
    // The replacement may itself be replaced.
    id_of(
        post_json(
            &app,
            &alice,
            &ev,
            json!({"kind": "hearing", "date": "2026-12-13", "replaces": moved}),
        )
        .await,
    )
    .await;

    let notes = format!("/cases/{case}/notes");
    let n = id_of(post_json(&app, &alice, &notes, json!({"text": "called"})).await).await;
    id_of(
        post_json(
            &app,
            &alice,
            &notes,
            json!({"text": "called twice", "corrects": n}),
        )
        .await,
    )
    .await;
    let again = post_json(
        &app,
        &alice,
        &notes,
        json!({"text": "called thrice", "corrects": n}),
    )
    .await;
    assert_error(again, StatusCode::CONFLICT, "already_corrected").await;
    let list: Value = alice
        .get(app.url(&notes))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["notes"].as_array().unwrap().len(), 2, "{list}");
    // Both refusals were decided and audited as conflicts, by ids.
    let conflicts = audit_rows(&app)
        .into_iter()
        .filter(|r| r.outcome == "conflict" && (r.action == "add_event" || r.action == "add_note"))
        .count();
    assert_eq!(conflicts, 2);
}

#[tokio::test]
async fn a_legal_hold_refuses_a_rename() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    let case = app.create_case(&alice, "bronx", "Held Names", None).await;
    let doc = app
        .upload_ok(&alice, &case, "before.pdf", bytes(50, 1))
        .await;
    let r = admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let rename = |name: &'static str| {
        alice
            .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
            .json(&json!({"filename": name}))
            .send()
    };
    assert_error(
        rename("after.pdf").await.unwrap(),
        StatusCode::CONFLICT,
        "legal_hold",
    )
    .await;
    let list: Value = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["documents"][0]["filename"], "before.pdf");
    let r = admin
        .delete(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        rename("after.pdf").await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_share_without_notes_hides_the_details_notes_too() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let pat = app.login("pat").await;
    let case = app.create_case(&alice, "bronx", "Quiet Notes", None).await;
    let until = "2027-06-01T00:00:00Z";
    let shares = format!("/cases/{case}/shares");
    let share = |notes: bool| {
        post_json(
            &app,
            &alice,
            &shares,
            json!({"username": "pat", "permission": "read", "expires_at": until, "notes": notes}),
        )
    };
    let s = id_of(share(false).await).await;
    let seen: Value = pat
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["metadata"]["client_name"], "Quiet Notes");
    assert!(seen["metadata"]["notes"].is_null(), "{seen}");
    let page = pat
        .get(app.url(&format!("/cases/{case}")).replace("/api/v1", ""))
        .send()
        .await
        .unwrap();
    assert!(
        !page
            .text()
            .await
            .unwrap()
            .contains("notes about Quiet Notes")
    );
    // The office itself still sees them.
    let own: Value = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(own["metadata"]["notes"], "notes about Quiet Notes");
    let r = alice
        .delete(app.url(&format!("/cases/{case}/shares/{s}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    id_of(share(true).await).await;
    let seen: Value = pat
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["metadata"]["notes"], "notes about Quiet Notes");
}

#[tokio::test]
async fn a_json_array_is_not_a_body() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Positional", None).await;
    let r = alice
        .patch(app.url(&format!("/cases/{case}")))
        .header("content-type", "application/json")
        .body(r#"["Renamed By Position", null, null, null, null, 1]"#)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    let r = alice
        .post(app.url(&format!("/cases/{case}/notes")))
        .header("content-type", "application/json")
        .body(r#"  ["text"]"#)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    let seen: Value = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["metadata"]["client_name"], "Positional");
    assert_eq!(seen["version"], 1);
}
