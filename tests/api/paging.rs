//! Issue 10, item 1: paged lists. Cases newest first, documents oldest first; every
//! page carries `next_after`; a cursor is resolved only inside the caller's own scope,
//! so another office's case id as a cursor answers exactly like a made-up one; limits
//! outside 1..=500 are a clear 400.
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::*;
use crate::pagekit::page_sign_in;

async fn get(app: &TestApp, c: &Client, path: &str) -> reqwest::Response {
    c.get(app.url(path)).send().await.unwrap()
}

async fn page(app: &TestApp, c: &Client, path: &str) -> Value {
    let r = get(app, c, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn case_pages_are_complete_ordered_and_refuse_foreign_cursors() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(
            app.create_case(&alice, "bronx", &format!("Paged {i}"), None)
                .await,
        );
    }
    // Newest first.
    made.reverse();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &after {
            None => "/cases?limit=3".to_string(),
            Some(a) => format!("/cases?limit=3&after={a}"),
        };
        let v = page(&app, &alice, &q).await;
        let got = ids(&v, "cases");
        assert!(got.len() <= 3);
        seen.extend(got.clone());
        pages += 1;
        match v["next_after"].as_str() {
            Some(n) => {
                assert_eq!(
                    Some(n),
                    got.last().map(String::as_str),
                    "cursor is the page's last"
                );
                after = Some(n.to_string());
            }
            None => {
                assert!(v["next_after"].is_null());
                break;
            }
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every case once, newest first");
    // The default page holds them all, with no next page.
    let all = page(&app, &alice, "/cases").await;
    assert_eq!(ids(&all, "cases"), made);
    assert!(all["next_after"].is_null());

    // Limits outside 1..=500 and non-numbers are refused plainly.
    for bad in ["0", "501", "-1", "abc", "99999999999999999999999"] {
        let r = get(&app, &alice, &format!("/cases?limit={bad}")).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_query").await;
    }
    // A cursor that is no id, one that names nothing, and one that names bob's case
    // in queens all answer alike: the cursor tells nothing of other offices.
    let bob = app.login("bob").await;
    let queens = app.create_case(&bob, "queens", "Not alice's", None).await;
    let mut bodies = Vec::new();
    for cursor in [
        "not-an-id".to_string(),
        uuid::Uuid::new_v4().to_string(),
        queens.clone(),
    ] {
        let r = get(&app, &alice, &format!("/cases?after={cursor}")).await;
        let v = assert_error(r, StatusCode::BAD_REQUEST, "invalid_cursor").await;
        bodies.push(v);
    }
    assert_eq!(
        bodies[1], bodies[2],
        "foreign case cursor == unknown cursor"
    );
    // And bob's own list never shows alice's cases, whatever the cursor.
    let b = page(&app, &bob, "/cases?limit=500").await;
    assert_eq!(ids(&b, "cases"), vec![queens]);
}

#[tokio::test]
async fn document_pages_oldest_first() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Docs", None).await;
    let other = app.create_case(&alice, "bronx", "Other", None).await;
    let foreign_doc = app.upload_ok(&alice, &other, "x.pdf", vec![1; 10]).await;
    let mut made = Vec::new();
    for i in 0..5u8 {
        made.push(
            app.upload_ok(&alice, &case, &format!("d{i}.pdf"), vec![i; 100])
                .await,
        );
    }
    let p1 = page(&app, &alice, &format!("/cases/{case}/documents?limit=2")).await;
    let n1 = p1["next_after"].as_str().unwrap().to_string();
    let p2 = page(
        &app,
        &alice,
        &format!("/cases/{case}/documents?limit=2&after={n1}"),
    )
    .await;
    let n2 = p2["next_after"].as_str().unwrap().to_string();
    let p3 = page(
        &app,
        &alice,
        &format!("/cases/{case}/documents?limit=2&after={n2}"),
    )
    .await;
    assert!(p3["next_after"].is_null());
    let mut seen = ids(&p1, "documents");
    seen.extend(ids(&p2, "documents"));
    seen.extend(ids(&p3, "documents"));
    assert_eq!(seen, made);
    // Another case's document is no cursor here.
    let r = get(
        &app,
        &alice,
        &format!("/cases/{case}/documents?after={foreign_doc}"),
    )
    .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    let r = get(&app, &alice, &format!("/cases/{case}/documents?limit=0")).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_query").await;
    // A case the caller may not see stays a 404, cursor or not.
    let bob = app.login("bob").await;
    let r = get(&app, &bob, &format!("/cases/{case}/documents?after={n1}")).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_case_list_page_links_to_older_cases() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    for i in 0..55 {
        app.create_case(&alice, "bronx", &format!("Page client {i:02}"), None)
            .await;
    }
    let web = page_sign_in(&app, "alice").await;
    let html = web
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("Page client ").count(), 50);
    assert!(html.contains("Page client 54") && !html.contains("Page client 04"));
    let start = html.find("/cases?after=").expect("an Older cases link");
    let href: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let older = web
        .get(format!("{}{href}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(older.matches("Page client ").count(), 5);
    assert!(older.contains("Page client 04") && older.contains("Newest cases"));
    assert!(
        !older.contains("/cases?after="),
        "no link past the last page"
    );
}

/// A partner's scope is their *live* shares: a case whose share was revoked is, as a
/// cursor, exactly like a made-up id (it told a former partner whether the case still
/// existed, found from outside).
#[tokio::test]
async fn a_revoked_share_is_no_cursor_for_the_partner() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Shared once", None).await;
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&serde_json::json!({"username": "pat", "permission": "read",
            "expires_at": crate::authkit::in_secs(&app, 3600)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let share = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pat = app.login("pat").await;
    // While the share lives, the case is pat's page and a cursor.
    let v = page(&app, &pat, "/cases").await;
    assert_eq!(ids(&v, "cases"), vec![case.clone()]);
    let r = get(&app, &pat, &format!("/cases?after={case}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = alice
        .delete(app.url(&format!("/cases/{case}/shares/{share}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let revoked = get(&app, &pat, &format!("/cases?after={case}")).await;
    let revoked = assert_error(revoked, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    let made_up = get(
        &app,
        &pat,
        &format!("/cases?after={}", uuid::Uuid::new_v4()),
    )
    .await;
    let made_up = assert_error(made_up, StatusCode::BAD_REQUEST, "invalid_cursor").await;
    assert_eq!(revoked, made_up);
    // An account with no list at all (the office admin) has no cursor either.
    let admin = app.login("admin").await;
    let r = get(&app, &admin, &format!("/cases?after={case}")).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_cursor").await;
}
