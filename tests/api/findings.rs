//! What the third outside attack and a new user found (issue 21), each against a real
//! server: the search cursor that confirmed A-number guesses, a waiting account's
//! searches, sharing a case twice, invisible formatting characters in free text, one
//! person's failed sign-ins locking out everyone behind an address, and the A-number
//! field that truncated.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::{STRONG, create_and_enrol, in_secs, login_account};
use crate::casekit::{bronx_caseworker, get, get_ok, post_event, post_note};
use crate::helpers::{TestApp, assert_error, spawn_app, test_settings};
use crate::signin::from;

/// The raw answer (status and body bytes) of a case search with a cursor.
async fn cursor_answer(app: &TestApp, c: &Client, query: &str) -> (StatusCode, Vec<u8>) {
    let r = get(app, c, &format!("/cases?{query}")).await;
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// Whether the audit log has an entry of `action` with `outcome` naming `target`.
fn audited(app: &TestApp, action: &str, target: &str, outcome: &str) -> bool {
    let db = rusqlite::Connection::open(app.data().join(casevault::store::DB_FILE)).unwrap();
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = ?1 AND target LIKE ?2 AND outcome = ?3",
            rusqlite::params![action, format!("%{target}%"), outcome],
            |r| r.get(0),
        )
        .unwrap();
    n > 0
}

#[tokio::test]
async fn a_cursor_confirms_nothing_about_a_case_the_caller_may_not_read() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    // Alice's client, whose A-number the attacker guesses.
    let case = app
        .create_case(&alice, "bronx", "Guessed Client", Some("A087654321"))
        .await;
    let made_up = uuid::Uuid::new_v4().to_string();

    // 1. An account the administrator made and nobody confirmed (policy rule 16).
    let waiting = create_and_enrol(
        &app,
        &admin,
        json!({"username": "walt", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    // 2. A confirmed caseworker of the same office who is not on alice's case.
    let carl = bronx_caseworker(&app, "carl").await;
    let carl = login_account(&app, &carl).await;

    for (who, c) in [("waiting", &waiting.client), ("confirmed", &carl)] {
        for search in [
            "a_number=A-087-654-321",
            "a_number=A011111111",
            "client_name=Guessed%20Client",
            "",
        ] {
            let right = cursor_answer(&app, c, &format!("{search}&after={case}")).await;
            let fake = cursor_answer(&app, c, &format!("{search}&after={made_up}")).await;
            assert_eq!(right.0, StatusCode::BAD_REQUEST, "{who} {search}");
            assert_eq!(
                right, fake,
                "{who} {search}: the answer for a real case must be the made-up one's, byte for byte"
            );
        }
    }
    // The refused cursor is audited with the case it named.
    assert!(audited(
        &app,
        "list_cases",
        &format!("case:{case}"),
        "invalid_cursor"
    ));

    // Alice may read the case, so her cursor works, search or no search.
    let v = get_ok(
        &app,
        &alice,
        &format!("/cases?a_number=A011111111&after={case}"),
    )
    .await;
    assert_eq!(v["cases"].as_array().unwrap().len(), 0, "{v}");
    let r = get(&app, &alice, &format!("/cases?after={case}")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_waiting_account_lists_and_searches_nothing_and_keeps_no_office_unsealed() {
    let mut settings = test_settings();
    settings.seal.idle_minutes = 10;
    let app = crate::helpers::spawn_app_with(settings).await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    app.create_case(&alice, "bronx", "Listed Client", Some("A087654321"))
        .await;
    let waiting = create_and_enrol(
        &app,
        &admin,
        json!({"username": "walt", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    let v = get_ok(&app, &waiting.client, "/cases").await;
    assert!(v["cases"].as_array().unwrap().is_empty(), "{v}");
    // Nine minutes of searches by the waiting account: no use of the office's keys.
    for _ in 0..9 {
        app.clock.advance(60);
        let v = get_ok(&app, &waiting.client, "/cases?a_number=A087654321").await;
        assert!(v["cases"].as_array().unwrap().is_empty(), "{v}");
    }
    app.clock.advance(120);
    let sealed = app.app.vault.seal_idle().await.unwrap();
    assert!(sealed.contains(&"bronx".to_string()), "{sealed:?}");
}

#[tokio::test]
async fn sharing_a_case_again_with_the_same_partner_changes_the_one_live_share() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Shared Twice", None).await;
    let share = |perm: &str, notes: bool, secs: i64| json!({"username": "pat", "permission": perm, "expires_at": in_secs(&app, secs), "notes": notes});
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&share("read", false, 86_400))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: Value = r.json().await.unwrap();
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&share("upload", true, 2 * 86_400))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a second share changes the first"
    );
    let second: Value = r.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    let live: Vec<&Value> = v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "live")
        .collect();
    assert_eq!(live.len(), 1, "{v}");
    assert_eq!(live[0]["permission"], "upload");
    assert_eq!(live[0]["notes"], true);
    assert!(audited(
        &app,
        "share_case",
        &format!("share:{}", first["id"].as_str().unwrap()),
        "changed notes=yes"
    ));
    // A share beyond a year is refused and changes nothing.
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&share("read", false, 366 * 86_400))
        .send()
        .await
        .unwrap();
    let e = assert_error(r, StatusCode::BAD_REQUEST, "invalid_time").await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("365 days"),
        "{e}"
    );
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    assert!(
        v["shares"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["permission"] == "upload")
    );
}

#[tokio::test]
async fn invisible_formatting_characters_are_refused_in_every_free_text() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    let root = app.login("root").await;
    let case = app.create_case(&alice, "bronx", "Plain Client", None).await;
    for bad in [
        "\u{202E}", "\u{200B}", "\u{2028}", "\u{2029}", "\u{2066}", "\u{FEFF}",
    ] {
        let r = alice
            .post(app.url("/cases"))
            .json(&json!({"office": "bronx", "client_name": format!("José{bad}Ruiz")}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
        let r = post_note(
            &app,
            &alice,
            &case,
            json!({"text": format!("call{bad}back")}),
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
        let r = post_event(
            &app,
            &alice,
            &case,
            json!({"kind": "hearing", "date": "2030-01-02", "place": format!("room{bad}12")}),
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
        let r = post_event(
            &app,
            &alice,
            &case,
            json!({"kind": "hearing", "date": "2030-01-02", "description": format!("bring{bad}papers")}),
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
        let r = admin
            .put(app.url(&format!("/cases/{case}/hold")))
            .json(&json!({"reason": format!("subpoena{bad}2026"), "totp": app.code("admin")}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_reason").await;
        let r = admin
            .post(app.url("/users"))
            .json(&json!({"username": format!("eve{bad}"), "role": "caseworker", "office": "bronx", "password": STRONG, "totp": app.code("admin")}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_username").await;
        let r = root
            .post(app.url("/users"))
            .json(&json!({"username": "quill", "role": "partner", "org": format!("legal{bad}aid"), "password": STRONG, "totp": app.code("root")}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
    }
    // Nothing was stored: the case has no note, no event and no hold.
    let v = get_ok(&app, &alice, &format!("/cases/{case}/notes")).await;
    assert!(v["notes"].as_array().unwrap().is_empty());
    let v = get_ok(&app, &alice, &format!("/cases/{case}/events")).await;
    assert!(v["events"].as_array().unwrap().is_empty());
    let v = get_ok(&app, &alice, &format!("/cases/{case}")).await;
    assert_eq!(v["held"], false);
    // Ordinary accents and scripts are kept.
    let r = post_note(
        &app,
        &alice,
        &case,
        json!({"text": "Llamó José Hernández; محمد"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn one_persons_failed_sign_ins_do_not_lock_out_a_colleague_at_the_same_address() {
    let app = spawn_app().await;
    let url = format!("https://127.0.0.1:{}/api/v1/login", app.port());
    for n in 0..10 {
        let r = from(&app, 5)
            .post(&url)
            .json(&json!({"username": "bob", "password": format!("wrong-{n}"), "totp": "000000"}))
            .send()
            .await
            .unwrap();
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&r.status()),
            "{}",
            r.status()
        );
        app.clock.advance(120);
    }
    // Bob waits out his lock; the message says it is this account that waits.
    let r = from(&app, 5)
        .post(&url)
        .json(&json!({"username": "bob", "password": app.creds.users["bob"].password, "totp": app.code("bob")}))
        .send()
        .await
        .unwrap();
    let e = assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("this account"),
        "{e}"
    );
    // Alice, at the same address, in a browser never used before, signs in.
    let r = from(&app, 5)
        .post(&url)
        .json(&json!({"username": "alice", "password": app.creds.users["alice"].password, "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn the_a_number_fields_take_every_spelling_the_api_takes() {
    let app = spawn_app().await;
    let c = crate::pagekit::page_sign_in(&app, "alice").await;
    let page = c
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The field no longer cuts `A-087-654-321` (13 characters) to 12.
    let field = page
        .split("id=\"a_number\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap();
    let max: usize = field
        .split("maxlength=\"")
        .nth(1)
        .and_then(|m| m.split('"').next())
        .and_then(|m| m.parse().ok())
        .unwrap();
    assert!(max >= "A 087 654 321".len(), "maxlength {max}");
    // Every spelling saves the same number; a wrong digit count is refused, never cut.
    let alice = app.login("alice").await;
    for spelling in ["A-087-654-321", "A 087 654 321", "087654321", "a087654321"] {
        let r = alice
            .post(app.url("/cases"))
            .json(
                &json!({"office": "bronx", "client_name": "Spelled Client", "a_number": spelling}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{spelling}");
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = get_ok(&app, &alice, &format!("/cases/{id}")).await;
        assert_eq!(v["metadata"]["a_number"], "087654321", "{spelling}");
    }
    for wrong in ["A-087-654-3210", "A-087-654", "A-087-654-3"] {
        let r = alice
            .post(app.url("/cases"))
            .json(&json!({"office": "bronx", "client_name": "Spelled Client", "a_number": wrong}))
            .send()
            .await
            .unwrap();
        let e = assert_error(r, StatusCode::BAD_REQUEST, "invalid_a_number").await;
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("8 or 9 digits"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn a_flood_from_one_address_says_it_is_the_network_that_waits() {
    let app = spawn_app().await;
    let url = format!("https://127.0.0.1:{}/api/v1/login", app.port());
    // Alice's code first: taking one moves the test clock past the delay below.
    let code = app.code("alice");
    // Ten times an account's free failures, at names nobody has.
    for n in 0..31 {
        let r = from(&app, 6)
            .post(&url)
            .json(&json!({"username": format!("nobody-{n}"), "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let r = from(&app, 6)
        .post(&url)
        .json(&json!({"username": "alice", "password": app.creds.users["alice"].password, "totp": code}))
        .send()
        .await
        .unwrap();
    let e = assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let m = e["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("your network") && !m.contains("this account"),
        "{m}"
    );
    // Another address is not affected.
    let r = from(&app, 7)
        .post(&url)
        .json(&json!({"username": "alice", "password": app.creds.users["alice"].password, "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_line_fields_refuse_line_breaks_and_names_that_look_empty() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    for (field, value) in [
        ("client_name", "Maria\nLopez"),
        ("client_name", "Maria\tLopez"),
        ("client_name", "\u{3164}"),
        ("client_name", "\u{115F}\u{1160}"),
        ("country_of_birth", "Guate\rmala"),
    ] {
        let mut body = json!({"office": "bronx", "client_name": "Plain Name"});
        body[field] = json!(value);
        let r = alice
            .post(app.url("/cases"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
    }
    let case = app.create_case(&alice, "bronx", "Plain Name", None).await;
    let r = post_event(
        &app,
        &alice,
        &case,
        json!({"kind": "hearing", "date": "2030-01-02", "place": "room 12\nfloor 3"}),
    )
    .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
    // A note and an event's description may have several lines.
    let r = post_note(&app, &alice, &case, json!({"text": "line one\nline two"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}
