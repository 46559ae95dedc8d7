//! Casework (issue 11) through the API: editing a case's details with versions and
//! `If-Match`, edit races, search after an edit, notes with corrections, events with
//! replacements and "Coming up". Partners and sealed offices are in
//! `casework_reach.rs`, bad input and the audit in `casework_input.rs`, purges in
//! `casework_purge.rs`.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::casekit::*;
use crate::helpers::*;

#[tokio::test]
async fn casework_edit_round_trip_keeps_every_version_newest_first() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Marta Ruiz", Some("A123456789"))
        .await;
    let r = get(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 1);
    assert!(
        v["updated_at"].is_null() && v["updated_by"].is_null(),
        "{v}"
    );

    // If-Match names the version; then "version" in the body does.
    let v2 = patch_ok(
        &app,
        &alice,
        &case,
        Some("\"1\""),
        json!({"country_of_birth": "Peru"}),
    )
    .await;
    assert_eq!(v2, 2);
    app.clock.advance(60);
    let body = json!({"client_name": "Marta Ruiz Díaz", "a_number": null, "version": 2});
    assert_eq!(patch_ok(&app, &alice, &case, None, body).await, 3);

    let r = get(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(r.headers()["etag"], "\"3\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["updated_by"], "alice");
    assert!(v["updated_at"].is_string());
    let m = &v["metadata"];
    assert_eq!(m["client_name"], "Marta Ruiz Díaz");
    assert!(m["a_number"].is_null(), "null cleared it");
    assert_eq!(m["country_of_birth"], "Peru", "an absent field is kept");
    assert_eq!(m["notes"], "notes about Marta Ruiz");

    let vs = get_ok(&app, &alice, &format!("/cases/{case}/versions")).await;
    let list = vs["versions"].as_array().unwrap();
    let numbers: Vec<i64> = list
        .iter()
        .map(|x| x["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1], "newest (the current one) first");
    let names: Vec<&str> = list
        .iter()
        .map(|x| x["metadata"]["client_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Marta Ruiz Díaz", "Marta Ruiz", "Marta Ruiz"]);
    assert_eq!(list[1]["metadata"]["country_of_birth"], "Peru");
    assert!(list[2]["metadata"]["country_of_birth"].is_null());
    assert_eq!(list[2]["metadata"]["a_number"], "123456789");
    for x in list {
        assert_eq!(x["changed_by"], app.user_id("alice").as_str());
        assert_eq!(x["changed_by_name"], "alice");
    }
    let times: Vec<&str> = list
        .iter()
        .map(|x| x["changed_at"].as_str().unwrap())
        .collect();
    assert!(times[0] > times[1] && times[1] >= times[2], "{times:?}");

    // The same details again change nothing: the version stays.
    let same = json!({"client_name": "Marta Ruiz Díaz"});
    assert_eq!(patch_ok(&app, &alice, &case, Some("3"), same).await, 3);
    let vs = get_ok(&app, &alice, &format!("/cases/{case}/versions")).await;
    assert_eq!(vs["versions"].as_array().unwrap().len(), 3);

    // A stale version is a clear 409 and stores nothing.
    let r = patch_case(
        &app,
        &alice,
        &case,
        Some("\"2\""),
        json!({"notes": "stale"}),
    )
    .await;
    let e = assert_error(r, StatusCode::CONFLICT, "edit_conflict").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 3"),
        "{e}"
    );
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(
        (v["version"].as_i64(), &v["metadata"]["notes"]),
        (Some(3), &json!("notes about Marta Ruiz"))
    );
}

#[tokio::test]
async fn casework_edit_race_from_one_version_lets_exactly_one_through() {
    let app = spawn_app().await;
    let a1 = app.login("alice").await;
    let a2 = app.login("alice").await;
    let case = app.create_case(&a1, "bronx", "Race Client", None).await;
    for round in 1..=4i64 {
        let tag = format!("\"{round}\"");
        let (r1, r2) = tokio::join!(
            patch_case(
                &app,
                &a1,
                &case,
                Some(&tag),
                json!({"notes": format!("first {round}")})
            ),
            patch_case(
                &app,
                &a2,
                &case,
                Some(&tag),
                json!({"notes": format!("second {round}")})
            ),
        );
        let (s1, s2) = (r1.status(), r2.status());
        let (b1, b2): (Value, Value) = (r1.json().await.unwrap(), r2.json().await.unwrap());
        let winner = match (s1, s2) {
            (StatusCode::OK, StatusCode::CONFLICT) => {
                assert_eq!(b2["error"]["code"], "edit_conflict");
                "first"
            }
            (StatusCode::CONFLICT, StatusCode::OK) => {
                assert_eq!(b1["error"]["code"], "edit_conflict");
                "second"
            }
            other => panic!("round {round}: expected one 200 and one 409, got {other:?} {b1} {b2}"),
        };
        let v = get_ok(&app, &a1, &format!("/cases/{case}")).await;
        assert_eq!(v["version"], round + 1);
        assert_eq!(v["metadata"]["notes"], format!("{winner} {round}"));
    }
    // Every state, in order, and no loser's text anywhere.
    let vs = get_ok(&app, &a1, &format!("/cases/{case}/versions")).await;
    let list = vs["versions"].as_array().unwrap();
    let numbers: Vec<i64> = list
        .iter()
        .map(|x| x["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
    assert_eq!(list[4]["metadata"]["notes"], "notes about Race Client");
    for (i, x) in list[..4].iter().enumerate() {
        let round = 4 - i;
        let n = x["metadata"]["notes"].as_str().unwrap();
        assert!(
            n == format!("first {round}") || n == format!("second {round}"),
            "{n}"
        );
    }
}

#[tokio::test]
async fn casework_edit_without_a_version_applies_to_the_current_details_and_loses_nothing() {
    let app = spawn_app().await;
    let a1 = app.login("alice").await;
    let a2 = app.login("alice").await;
    let case = app.create_case(&a1, "bronx", "Current Client", None).await;
    assert_eq!(
        patch_ok(&app, &a1, &case, None, json!({"notes": "one"})).await,
        2
    );
    assert_eq!(
        patch_ok(&app, &a2, &case, None, json!({"notes": "two"})).await,
        3
    );
    // Two at once without a version, on different fields: each is stored or told 409,
    // and whatever was stored is in the final details (never silently overwritten).
    let (r1, r2) = tokio::join!(
        patch_case(&app, &a1, &case, None, json!({"country_of_birth": "Chile"})),
        patch_case(
            &app,
            &a2,
            &case,
            None,
            json!({"date_of_birth": "1990-04-05"})
        ),
    );
    let (s1, s2) = (r1.status(), r2.status());
    for s in [s1, s2] {
        assert!(s == StatusCode::OK || s == StatusCode::CONFLICT, "{s}");
    }
    assert!(
        s1 == StatusCode::OK || s2 == StatusCode::OK,
        "one of them is stored"
    );
    let v = get_ok(&app, &a1, &format!("/cases/{case}")).await;
    let m = &v["metadata"];
    assert_eq!(
        m["country_of_birth"] == "Chile",
        s1 == StatusCode::OK,
        "{m}"
    );
    assert_eq!(
        m["date_of_birth"] == "1990-04-05",
        s2 == StatusCode::OK,
        "{m}"
    );
    assert_eq!(m["notes"], "two");
    let stored = [s1, s2].iter().filter(|s| **s == StatusCode::OK).count() as i64;
    assert_eq!(v["version"], 3 + stored);
}

#[tokio::test]
async fn casework_search_after_an_edit_finds_the_new_values_and_not_the_old() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Oldname Person", Some("A111222333"))
        .await;
    let found = |q: &'static str| {
        let alice = alice.clone();
        let app = &app;
        async move {
            let v = get_ok(app, &alice, &format!("/cases?{q}")).await;
            ids(&v, "cases")
        }
    };
    assert_eq!(found("a_number=111222333").await, vec![case.clone()]);
    assert_eq!(
        found("client_name=Oldname%20Person").await,
        vec![case.clone()]
    );
    let body = json!({"client_name": "Newname Person", "a_number": "A-444-555-666"});
    patch_ok(&app, &alice, &case, Some("1"), body).await;
    assert!(found("a_number=111222333").await.is_empty(), "old A-number");
    assert!(
        found("client_name=Oldname%20Person").await.is_empty(),
        "old name"
    );
    assert_eq!(found("a_number=444555666").await, vec![case.clone()]);
    assert_eq!(
        found("client_name=newname%20person").await,
        vec![case.clone()]
    );
    // Clearing the A-number takes it out of the index too.
    patch_ok(&app, &alice, &case, Some("2"), json!({"a_number": null})).await;
    assert!(found("a_number=444555666").await.is_empty());
    assert_eq!(
        found("client_name=Newname%20Person").await,
        vec![case.clone()]
    );
}

#[tokio::test]
async fn casework_notes_are_newest_first_and_corrections_name_both_ways() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Noted Client", None).await;
    let other = app.create_case(&alice, "bronx", "Other Client", None).await;
    let n1 = note_ok(&app, &alice, &case, "Called the client.\nShe moved.", None).await;
    app.clock.advance(60);
    let n2 = note_ok(&app, &alice, &case, "Sent the I-589 draft", None).await;
    app.clock.advance(60);
    let n3 = note_ok(
        &app,
        &alice,
        &case,
        "Called the client; he moved",
        Some(&n1),
    )
    .await;
    app.clock.advance(60);
    // A note is corrected once; a correction may itself be corrected.
    let n4 = note_ok(
        &app,
        &alice,
        &case,
        "Called the client; they moved",
        Some(&n3),
    )
    .await;
    let foreign = note_ok(&app, &alice, &other, "another case's note", None).await;

    let v = get_ok(&app, &alice, &format!("/cases/{case}/notes")).await;
    assert_eq!(
        ids(&v, "notes"),
        [n4.clone(), n3.clone(), n2.clone(), n1.clone()]
    );
    let notes = v["notes"].as_array().unwrap();
    assert_eq!(notes[3]["text"], "Called the client.\nShe moved.");
    assert_eq!(notes[3]["corrected_by"], n3.as_str());
    assert_eq!(notes[1]["corrects"], n1.as_str());
    assert_eq!(notes[1]["corrected_by"], n4.as_str());
    assert_eq!(notes[0]["corrects"], n3.as_str());
    assert!(notes[0]["corrected_by"].is_null() && notes[2]["corrected_by"].is_null());
    assert!(notes[2]["corrects"].is_null());
    for n in notes {
        assert_eq!(n["author"], app.user_id("alice").as_str());
        assert_eq!(n["author_name"], "alice");
    }
    let times: Vec<&str> = notes
        .iter()
        .map(|n| n["created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");

    // A correction names a note of this case only; nothing is stored otherwise.
    for bad in [foreign.as_str(), NEVER, "not-an-id"] {
        let r = post_note(&app, &alice, &case, json!({"text": "fix", "corrects": bad})).await;
        assert_error(r, StatusCode::BAD_REQUEST, "unknown_note").await;
    }
    let v = get_ok(&app, &alice, &format!("/cases/{case}/notes")).await;
    assert_eq!(v["notes"].as_array().unwrap().len(), 4);
    let v = get_ok(&app, &alice, &format!("/cases/{other}/notes")).await;
    assert_eq!(ids(&v, "notes"), [foreign]);
}

#[tokio::test]
async fn casework_events_go_by_date_and_coming_up_leaves_out_what_was_replaced() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Evented Client", None)
        .await;
    let ev = |kind: &str, d: i64, time: Option<&str>| {
        json!({"kind": kind, "date": day(&app, d), "time": time,
               "place": "26 Federal Plaza, room 1237", "description": format!("{kind} on day {d}")})
    };
    let h1 = event_ok(&app, &alice, &case, ev("hearing", 10, Some("09:30"))).await;
    let dl = event_ok(&app, &alice, &case, ev("deadline", 5, None)).await;
    let ap = event_ok(&app, &alice, &case, ev("appointment", 5, Some("14:00"))).await;
    let far = event_ok(&app, &alice, &case, ev("other", 45, None)).await;
    let mut moved = ev("hearing", 12, Some("10:00"));
    moved["replaces"] = json!(h1);
    let h2 = event_ok(&app, &alice, &case, moved).await;

    let v = get_ok(&app, &alice, &format!("/cases/{case}/events")).await;
    assert_eq!(
        ids(&v, "events"),
        [dl.clone(), ap.clone(), h1.clone(), h2.clone(), far.clone()]
    );
    let events = v["events"].as_array().unwrap();
    assert_eq!(events[2]["replaced_by"], h2.as_str());
    assert_eq!(events[3]["replaces"], h1.as_str());
    assert_eq!(events[1]["time"], "14:00");
    assert!(events[0]["time"].is_null());
    assert_eq!(events[3]["place"], "26 Federal Plaza, room 1237");
    assert_eq!(events[3]["kind"], "hearing");
    assert_eq!(events[3]["author_name"], "alice");

    // Coming up: the next 30 days, the replaced hearing and the far one left out.
    let up = get_ok(&app, &alice, "/upcoming").await;
    assert_eq!(up["from"], day(&app, 0));
    assert_eq!(up["to"], day(&app, 29));
    assert_eq!(up["truncated"], false);
    assert!(up["sealed_offices"].as_array().unwrap().is_empty());
    let items = up["events"].as_array().unwrap();
    let got: Vec<&str> = items
        .iter()
        .map(|i| i["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [dl.as_str(), ap.as_str(), h2.as_str()]);
    for i in items {
        assert_eq!(i["case_id"], case.as_str());
        assert_eq!(i["office"], "bronx");
        assert_eq!(i["client_name"], "Evented Client");
    }
    // A window of one day, and one that reaches the far event.
    let one = get_ok(
        &app,
        &alice,
        &format!("/upcoming?from={}&days=1", day(&app, 12)),
    )
    .await;
    let got: Vec<&str> = one["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [h2.as_str()]);
    let wide = get_ok(&app, &alice, "/upcoming?days=60").await;
    assert_eq!(wide["events"].as_array().unwrap().len(), 4);
    // bob (queens) sees nothing of a bronx case.
    let bob = app.login("bob").await;
    let up = get_ok(&app, &bob, "/upcoming?days=366").await;
    assert!(up["events"].as_array().unwrap().is_empty(), "{up}");
}
