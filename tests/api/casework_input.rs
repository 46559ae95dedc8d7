//! Casework (issue 11): bad input is a 4xx JSON error that stores nothing, and the
//! audit log of every new action holds ids, never what was written.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::casekit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

/// Asserts a 4xx with the contract's error shape; answers the code.
async fn refused(r: reqwest::Response, what: &str) -> String {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_client_error(), "{what}: {status} {text}");
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
    assert!(v["error"]["message"].is_string(), "{what}: {v}");
    v["error"]["code"].as_str().unwrap().to_string()
}

async fn count_of(app: &TestApp, c: &Client, path: &str, key: &str) -> usize {
    get_ok(app, c, path).await[key].as_array().unwrap().len()
}

#[tokio::test]
async fn casework_bad_events_and_notes_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Input Client", None).await;
    let other = app.create_case(&alice, "bronx", "Other Client", None).await;
    let foreign_event = event_ok(
        &app,
        &alice,
        &other,
        json!({"kind": "other", "date": day(&app, 1)}),
    )
    .await;
    let foreign_note = note_ok(&app, &alice, &other, "theirs", None).await;
    let ok = || json!({"kind": "hearing", "date": day(&app, 3)});
    let with = |k: &str, v: Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let mut missing_kind = ok();
    missing_kind.as_object_mut().unwrap().remove("kind");
    let bad_events = [
        (
            "impossible date",
            with("date", json!("2026-02-30")),
            "invalid_field",
        ),
        (
            "month 13",
            with("date", json!("2026-13-01")),
            "invalid_field",
        ),
        ("a word", with("date", json!("tomorrow")), "invalid_field"),
        (
            "year 10000",
            with("date", json!("+10000-01-01")),
            "invalid_field",
        ),
        ("25:00", with("time", json!("25:00")), "invalid_field"),
        ("24:00", with("time", json!("24:00")), "invalid_field"),
        ("9:30", with("time", json!("9:30")), "invalid_field"),
        (
            "unknown kind",
            with("kind", json!("trial")),
            "invalid_field",
        ),
        ("kind case", with("kind", json!("Hearing")), "invalid_field"),
        (
            "unknown field",
            with("colour", json!("red")),
            "invalid_json",
        ),
        (
            "place too long",
            with("place", json!("p".repeat(301))),
            "invalid_field",
        ),
        (
            "description too long",
            with("description", json!("d".repeat(2001))),
            "invalid_field",
        ),
        (
            "control character",
            with("place", json!("room\u{7}5")),
            "invalid_field",
        ),
        (
            "other case's event",
            with("replaces", json!(foreign_event)),
            "unknown_event",
        ),
        (
            "missing event",
            with("replaces", json!(NEVER)),
            "unknown_event",
        ),
        ("no kind", missing_kind, "invalid_json"),
        (
            "date a number",
            with("date", json!(20261201)),
            "invalid_json",
        ),
    ];
    for (what, body, code) in bad_events {
        let got = refused(post_event(&app, &alice, &case, body).await, what).await;
        assert_eq!(got, code, "{what}");
    }
    assert_eq!(
        count_of(&app, &alice, &format!("/cases/{case}/events"), "events").await,
        0
    );

    let bad_notes = [
        ("empty", json!({"text": ""}), "invalid_field"),
        ("blank", json!({"text": " \n "}), "invalid_field"),
        (
            "too long",
            json!({"text": "n".repeat(20_001)}),
            "invalid_field",
        ),
        (
            "control character",
            json!({"text": "bell\u{7}"}),
            "invalid_field",
        ),
        (
            "unknown field",
            json!({"text": "x", "pinned": true}),
            "invalid_json",
        ),
        (
            "other case's note",
            json!({"text": "x", "corrects": foreign_note}),
            "unknown_note",
        ),
        ("no text", json!({"corrects": foreign_note}), "invalid_json"),
        // Over the JSON body limit (64 KiB) before a field is looked at.
        (
            "body too large",
            json!({"text": "n".repeat(70_000)}),
            "too_large",
        ),
    ];
    for (what, body, code) in bad_notes {
        let got = refused(post_note(&app, &alice, &case, body).await, what).await;
        assert_eq!(got, code, "{what}");
    }
    assert_eq!(
        count_of(&app, &alice, &format!("/cases/{case}/notes"), "notes").await,
        0
    );
    // The longest note is fine (in characters, not bytes).
    note_ok(&app, &alice, &case, &"é".repeat(20_000), None).await;
    event_ok(&app, &alice, &case, with("time", json!("23:59"))).await;

    // The refusals were audited as allowed decisions that ended in invalid input.
    let refusals = audit_rows(&app)
        .into_iter()
        .filter(|r| {
            (r.action == "add_note" || r.action == "add_event")
                && r.target.contains(&case)
                && r.outcome == "invalid_input"
        })
        .count();
    // 17 + 8 refusals, of which 6 never reach the vault (the body does not parse).
    assert_eq!(refusals, 17 + 8 - 6, "every refusal the vault saw");
}

#[tokio::test]
async fn casework_bad_edits_renames_and_queries_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Edit Input", Some("A123123123"))
        .await;
    let doc = app
        .upload_ok(&alice, &case, "right.pdf", bytes(50, 1))
        .await;
    let header = |h: &'static str, body: Value| (Some(h), body);
    let plain = |body: Value| (None, body);
    let bad_edits = [
        (
            "unknown field",
            plain(json!({"colour": "red"})),
            "invalid_json",
        ),
        ("nothing to change", plain(json!({})), "invalid_field"),
        (
            "only a version",
            plain(json!({"version": 1})),
            "invalid_field",
        ),
        (
            "empty name",
            plain(json!({"client_name": ""})),
            "invalid_field",
        ),
        (
            "null name",
            plain(json!({"client_name": null})),
            "invalid_field",
        ),
        (
            "short A-number",
            plain(json!({"a_number": "12"})),
            "invalid_a_number",
        ),
        (
            "impossible birthday",
            plain(json!({"date_of_birth": "1990-02-30"})),
            "invalid_field",
        ),
        (
            "long name",
            plain(json!({"client_name": "n".repeat(201)})),
            "invalid_field",
        ),
        (
            "long notes",
            plain(json!({"notes": "n".repeat(20_001)})),
            "invalid_field",
        ),
        (
            "version overflows",
            plain(json!({"notes": "x", "version": 9_223_372_036_854_775_808u64})),
            "invalid_json",
        ),
        (
            "version a string",
            plain(json!({"notes": "x", "version": "1"})),
            "invalid_json",
        ),
        (
            "version zero",
            plain(json!({"notes": "x", "version": 0})),
            "invalid_version",
        ),
        (
            "version negative",
            plain(json!({"notes": "x", "version": -1})),
            "invalid_version",
        ),
        (
            "If-Match overflows",
            header("\"99999999999999999999\"", json!({"notes": "x"})),
            "invalid_version",
        ),
        (
            "If-Match a word",
            header("\"abc\"", json!({"notes": "x"})),
            "invalid_version",
        ),
        (
            "If-Match zero",
            header("\"0\"", json!({"notes": "x"})),
            "invalid_version",
        ),
        (
            "If-Match star",
            header("*", json!({"notes": "x"})),
            "invalid_version",
        ),
        (
            "versions disagree",
            header("\"1\"", json!({"notes": "x", "version": 2})),
            "invalid_version",
        ),
    ];
    for (what, (if_match, body), code) in bad_edits {
        let got = refused(patch_case(&app, &alice, &case, if_match, body).await, what).await;
        assert_eq!(got, code, "{what}");
    }
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(v["version"], 1, "nothing stored");
    assert_eq!(v["metadata"]["client_name"], "Edit Input");
    assert_eq!(v["metadata"]["a_number"], "123123123");
    assert_eq!(
        count_of(&app, &alice, &format!("/cases/{case}/versions"), "versions").await,
        1
    );

    for name in ["", "   ", "a/b.pdf", "nul\u{0}.pdf", &"f".repeat(256)] {
        let r = alice
            .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
            .json(&json!({"filename": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused(r, name).await, "invalid_filename", "{name:?}");
    }
    let r = alice
        .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
        .json(&json!({"filename": "x.pdf", "size": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused(r, "unknown field").await, "invalid_json");
    let v = get_ok(&app, &alice, &format!("/cases/{case}/documents")).await;
    assert_eq!(v["documents"][0]["filename"], "right.pdf");

    for q in [
        "days=0",
        "days=367",
        "days=-1",
        "days=4294967296",
        "days=ten",
        "from=2026-02-30",
        "from=9999-12-31&days=366",
        "from=today",
        "until=2027-01-01",
    ] {
        let r = get(&app, &alice, &format!("/upcoming?{q}")).await;
        assert_eq!(refused(r, q).await, "invalid_query", "{q}");
    }
    // The last day that still fits is fine.
    get_ok(&app, &alice, "/upcoming?from=9999-12-01&days=31").await;
}

#[tokio::test]
async fn casework_the_audit_log_holds_ids_only_for_every_new_action() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let start = head_seq(&app);
    let case = app.create_case(&alice, "bronx", "Plain Start", None).await;
    let doc = app
        .upload_ok(&alice, &case, "first.pdf", bytes(40, 2))
        .await;
    let markers = [
        "AUDMARK-NAME-kestrel",
        "AUDMARK-NOTE-heron",
        "AUDMARK-FIX-plover",
        "AUDMARK-PLACE-osprey",
        "AUDMARK-DESC-curlew",
        "AUDMARK-FILE-avocet",
    ];
    patch_ok(
        &app,
        &alice,
        &case,
        Some("1"),
        json!({"client_name": markers[0]}),
    )
    .await;
    get_ok(&app, &alice, &format!("/cases/{case}/versions")).await;
    let n = note_ok(&app, &alice, &case, markers[1], None).await;
    let fix = note_ok(&app, &alice, &case, markers[2], Some(&n)).await;
    get_ok(&app, &alice, &format!("/cases/{case}/notes")).await;
    let body = json!({"kind": "hearing", "date": day(&app, 4), "time": "08:15",
                      "place": markers[3], "description": markers[4]});
    let e = event_ok(&app, &alice, &case, body).await;
    get_ok(&app, &alice, &format!("/cases/{case}/events")).await;
    get_ok(&app, &alice, "/upcoming").await;
    let r = alice
        .patch(app.url(&format!("/cases/{case}/documents/{doc}")))
        .json(&json!({"filename": format!("{}.pdf", markers[5])}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let listed = get_ok(&app, &alice, &format!("/cases/{case}/documents")).await;
    assert_eq!(
        listed["documents"][0]["filename"],
        format!("{}.pdf", markers[5])
    );
    // A search by the new name, and a refused edit carrying a marker.
    get_ok(&app, &alice, &format!("/cases?client_name={}", markers[0])).await;
    let r = patch_case(&app, &alice, &case, Some("1"), json!({"notes": markers[1]})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    let rows = rows_after(&app, start);
    let find = |action: &str, outcome: &str| {
        rows.iter()
            .find(|r| r.action == action && r.decision == "allow" && r.outcome.starts_with(outcome))
            .unwrap_or_else(|| panic!("no {action} {outcome} in the audit log"))
    };
    let office_case = format!("office:bronx case:{case}");
    assert!(find("edit_case", "ok version=2").target == office_case);
    assert!(find("edit_case", "conflict").target == office_case);
    assert!(rows.iter().any(|r| r.action == "read_versions"
        && r.outcome == "ok"
        && r.target == format!("{office_case} versions")));
    assert!(find("add_note", "ok").target.contains(&n));
    assert!(
        rows.iter()
            .any(|r| r.action == "add_note" && r.target.contains(&fix))
    );
    assert!(find("read_notes", "ok").target.starts_with(&office_case));
    assert!(find("add_event", "ok").target.contains(&e));
    assert!(find("read_events", "ok").target.starts_with(&office_case));
    assert!(find("rename_document", "ok").target.contains(&doc));
    assert_eq!(find("list_upcoming", "ok events=1").target, "upcoming");
    for r in &rows {
        let all = format!(
            "{} {} {} {} {} {}",
            r.actor, r.role, r.action, r.target, r.decision, r.outcome
        );
        for m in markers {
            assert!(!all.contains(m), "audit entry {} holds {m}: {all}", r.seq);
        }
        assert!(
            !all.contains("first.pdf") && !all.contains("Plain Start"),
            "{all}"
        );
    }
    // Not in any file either, before or after a checkpoint.
    let needles: Vec<&[u8]> = markers.iter().map(|m| m.as_bytes()).collect();
    assert!(scan_for(app.data(), &needles).is_empty());
    app.app.vault.db().checkpoint_truncate().unwrap();
    assert!(scan_for(app.data(), &needles).is_empty());
}
