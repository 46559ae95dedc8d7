//! Finding a client by any words of the name (issue 24, item 10): each word of a client
//! name is blind-indexed on its own, folded for case and accents, and a search finds
//! the cases whose name holds every word searched — within the searcher's office and
//! what they may read. The words never rest in the clear; a rotation recomputes their
//! indexes, a purge removes them, and cases indexed before the words were are indexed
//! at the next unseal.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::login_account;
use crate::casekit::{bronx_caseworker, get, get_ok, ids, patch_ok, settle, share_with};
use crate::helpers::{TestApp, assert_error, scan_for, spawn_app};
use crate::lifecycle_helpers::{post_json, raw_db};

/// The ids a name search answers.
async fn by_name(app: &TestApp, c: &Client, name: &str) -> Vec<String> {
    let r = c
        .get(app.url("/cases"))
        .query(&[("client_name", name)])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "search {name:?}: {text}");
    ids(&serde_json::from_str(&text).unwrap(), "cases")
}

/// The stored word indexes of a case.
fn token_rows(app: &TestApp, case: &str) -> Vec<Vec<u8>> {
    let db = raw_db(app.data());
    let mut st = db
        .prepare("SELECT tag FROM case_name_tokens WHERE case_id = ?1 ORDER BY tag")
        .unwrap();
    st.query_map([case], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn name_search_finds_every_word_folded_in_any_order_and_only_what_all_words_match() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let jose = app
        .create_case(&alice, "bronx", "José Hernández Ruiz", None)
        .await;
    let perez = app.create_case(&alice, "bronx", "José Pérez", None).await;
    let garcia = app
        .create_case(&alice, "bronx", "Ana García-López", None)
        .await;

    // The three queries of the issue, and more spellings of the same words.
    for q in [
        "Hernández",
        "hernandez",
        "José Hernández Ruiz",
        "Ruiz José",
        "  HERNANDEZ   ruiz ",
        "jose hernandez-ruiz",
        "Ruiz, José.",
    ] {
        assert_eq!(by_name(&app, &alice, q).await, vec![jose.clone()], "{q}");
    }
    // Every word must match: "José Pérez" is another client.
    assert_eq!(
        by_name(&app, &alice, "José Pérez").await,
        vec![perez.clone()]
    );
    assert!(
        by_name(&app, &alice, "José Hernández Pérez")
            .await
            .is_empty()
    );
    // One word shared by two clients finds both, newest first.
    assert_eq!(
        by_name(&app, &alice, "jose").await,
        vec![perez.clone(), jose.clone()]
    );
    // Whole words only: no prefix, no part of a word.
    for q in ["Hern", "hernande", "ernandez", "Jos", "Ruiz José X"] {
        assert!(by_name(&app, &alice, q).await.is_empty(), "{q}");
    }
    // A hyphenated name is two words.
    for q in ["garcia", "López", "garcia lopez", "García-López"] {
        assert_eq!(by_name(&app, &alice, q).await, vec![garcia.clone()], "{q}");
    }
    // Nothing to search for, or too many words: refused.
    for q in ["   ", " - ' , ", ""] {
        let r = get(&app, &alice, &format!("/cases?client_name={}", urlenc(q))).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;
    }
    let many: String = (0..13).map(|i| format!("w{i} ")).collect();
    let r = get(
        &app,
        &alice,
        &format!("/cases?client_name={}", urlenc(&many)),
    )
    .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_field").await;

    // Pages of a word search hold together (one per page here).
    let v = get_ok(&app, &alice, "/cases?client_name=jose&limit=1").await;
    assert_eq!(ids(&v, "cases"), vec![perez.clone()]);
    let after = v["next_after"].as_str().unwrap().to_string();
    let v = get_ok(
        &app,
        &alice,
        &format!("/cases?client_name=jose&limit=1&after={after}"),
    )
    .await;
    assert_eq!(ids(&v, "cases"), vec![jose.clone()]);
    assert!(v["next_after"].is_null());

    // An edit replaces the words: the old surname finds nothing, the new one does.
    patch_ok(
        &app,
        &alice,
        &jose,
        Some("1"),
        json!({"client_name": "José Hernández Ortega"}),
    )
    .await;
    assert!(by_name(&app, &alice, "Ruiz").await.is_empty());
    assert_eq!(
        by_name(&app, &alice, "ortega jose").await,
        vec![jose.clone()]
    );
    assert_eq!(token_rows(&app, &jose).len(), 3);
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn name_search_stays_in_the_office_and_in_what_the_searcher_may_read() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let ours = app
        .create_case(&alice, "bronx", "José Hernández Ruiz", None)
        .await;
    let theirs = app
        .create_case(&bob, "queens", "José Hernández Ruiz", None)
        .await;
    // Another office's namesake is never found, by either side.
    assert_eq!(by_name(&app, &alice, "hernandez").await, vec![ours.clone()]);
    assert_eq!(by_name(&app, &bob, "hernandez").await, vec![theirs.clone()]);

    // A caseworker of the same office who is not on alice's case does not find it,
    // but finds their own client of the same surname.
    let carl = bronx_caseworker(&app, "carl").await;
    let carl = login_account(&app, &carl).await;
    assert!(by_name(&app, &carl, "José Hernández Ruiz").await.is_empty());
    let carls = app
        .create_case(&carl, "bronx", "Marta Hernández", None)
        .await;
    assert_eq!(by_name(&app, &carl, "hernandez").await, vec![carls.clone()]);
    // Alice supervises the office: she finds both.
    assert_eq!(
        by_name(&app, &alice, "Hernández").await,
        vec![carls.clone(), ours.clone()]
    );
    // A cursor naming alice's case is refused for carl, search or not, exactly like
    // a made-up one.
    let made_up = uuid::Uuid::new_v4().to_string();
    for after in [&ours, &made_up] {
        let r = get(
            &app,
            &carl,
            &format!("/cases?client_name=hernandez&after={after}"),
        )
        .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    }

    // A partner finds by word only what is shared with them.
    share_with(&app, &alice, &ours, "pat", "read", None).await;
    let pat = app.login("pat").await;
    assert_eq!(by_name(&app, &pat, "ruiz jose").await, vec![ours.clone()]);
    assert!(by_name(&app, &pat, "Marta").await.is_empty());
    assert!(by_name(&app, &pat, "jose perez").await.is_empty());
}

#[tokio::test]
async fn name_words_rest_only_as_keyed_indexes_survive_a_rotation_and_go_with_a_purge() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    // Words no other part of the vault writes.
    let name = "Xochiquetzal Ñúñez-Quauhtlí";
    let case = app.create_case(&alice, "bronx", name, None).await;
    let other = app
        .create_case(&alice, "bronx", "Quauhtli Otherclient", None)
        .await;
    assert_eq!(
        by_name(&app, &alice, "nunez quauhtli").await,
        vec![case.clone()]
    );
    let mut markers: Vec<Vec<u8>> = Vec::new();
    for w in ["Xochiquetzal", "Ñúñez", "Quauhtlí", "Otherclient"] {
        for form in [
            w.to_string(),
            w.to_lowercase(),
            w.to_uppercase(),
            casevault::crypto::fold_name(w),
        ] {
            markers.push(form.into_bytes());
        }
    }
    let scan = |app: &TestApp| {
        let m: Vec<&[u8]> = markers.iter().map(Vec::as_slice).collect();
        scan_for(app.data(), &m)
    };
    // The scanner sees a planted word, so its silence below means something.
    std::fs::write(app.data().join("planted"), b"..nunez..").unwrap();
    assert!(!scan(&app).is_empty());
    std::fs::remove_file(app.data().join("planted")).unwrap();
    let found = scan(&app);
    assert!(found.is_empty(), "a name word in the clear: {found:?}");

    // A rotation recomputes every word index under the new key.
    let before = token_rows(&app, &case);
    assert_eq!(before.len(), 3);
    let r = post_json(&app, &admin, "/offices/bronx/rotate", json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let after = token_rows(&app, &case);
    assert_eq!(after.len(), 3);
    assert!(
        before.iter().all(|t| !after.contains(t)),
        "an old index kept"
    );
    // The old index values are nowhere in the files (overwritten, WAL truncated by
    // the rotation before it answered).
    let old: Vec<&[u8]> = before.iter().map(Vec::as_slice).collect();
    let left = scan_for(app.data(), &old);
    assert!(left.is_empty(), "an old word index remains: {left:?}");
    assert_eq!(
        by_name(&app, &alice, "Ñúñez Xochiquetzal").await,
        vec![case.clone()]
    );
    assert_eq!(
        by_name(&app, &alice, "quauhtli").await,
        vec![other.clone(), case.clone()]
    );

    // A purge removes the case's word indexes, and their bytes with them.
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    settle(&app).await;
    assert!(token_rows(&app, &case).is_empty());
    assert_eq!(token_rows(&app, &other).len(), 2, "only that case's");
    // ("quauhtli" is also the other client's word: its index rightly stays.)
    let kept = token_rows(&app, &other);
    let gone: Vec<&[u8]> = after
        .iter()
        .filter(|t| !kept.contains(t))
        .map(Vec::as_slice)
        .collect();
    assert_eq!(gone.len(), 2);
    let left = scan_for(app.data(), &gone);
    assert!(left.is_empty(), "a purged word index remains: {left:?}");
    assert_eq!(by_name(&app, &alice, "quauhtli").await, vec![other.clone()]);
    let found = scan(&app);
    assert!(found.is_empty(), "a name word in the clear: {found:?}");

    // An office purge takes every word index of the office.
    let v = crate::approvals::purge_office_approved(&app, &admin, "bronx").await;
    assert_eq!(v["status"], "done");
    let n: i64 = raw_db(app.data())
        .query_row("SELECT COUNT(*) FROM case_name_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn cases_indexed_before_words_were_are_indexed_at_the_next_unseal() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "José Hernández Ruiz", Some("A123456789"))
        .await;
    // As a vault from before migration 0012: no word rows, the case marked pending.
    app.seal("bronx").await;
    {
        let db = raw_db(app.data());
        db.execute("DELETE FROM case_name_tokens", []).unwrap();
        db.execute("UPDATE cases SET a_number_pending = 1", [])
            .unwrap();
    }
    let r = get(&app, &alice, "/cases?client_name=hernandez").await;
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
    assert!(token_rows(&app, &case).is_empty());
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": app.creds.offices["bronx"].passphrase}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(token_rows(&app, &case).len(), 3);
    assert_eq!(by_name(&app, &alice, "hernandez").await, vec![case.clone()]);
    let v: Value = get_ok(&app, &alice, "/cases?a_number=123456789").await;
    assert_eq!(ids(&v, "cases"), vec![case]);
}
