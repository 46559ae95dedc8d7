//! Client upload links after an attack on a demo (issue 25): disabling the maker or
//! ending a partner's share ends their links for good (they do not come back with the
//! account or the share); a form of many empty files writes one audit entry; anything
//! below a link's address gets the same fixed page as a dead link.
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::lifecycle_helpers::{audit_rows, post_json};
use crate::pagekit::{get_page, page_client};
use crate::upload_links::{make_link, send_files};

#[tokio::test]
async fn a_disabled_makers_links_end_for_good() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Disabled Maker", None)
        .await;
    let (_, url, _) = make_link(&app, &alice, &case, json!({})).await;
    let admin = app.login("admin").await;
    let alice_id = app.user_id("alice");
    let r = post_json(
        &app,
        &admin,
        &format!("/users/{alice_id}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let code = app.code("admin");
    let r = post_json(
        &app,
        &admin,
        &format!("/users/{alice_id}/enable"),
        json!({"totp": code}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let code = app.code("admin");
    let r = post_json(
        &app,
        &admin,
        &format!("/users/{alice_id}/confirm"),
        json!({"passphrase": pass, "totp": code}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, _, _) = get_page(&page_client(&app), &url).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the link stays dead after re-enabling"
    );
}

#[tokio::test]
async fn a_partners_links_end_with_the_share() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Partner Link", None).await;
    let share = |until: i64| json!({"username": "pat", "permission": "upload", "expires_at": crate::authkit::in_secs(&app, until), "totp": app.code("alice")});
    let r = post_json(
        &app,
        &alice,
        &format!("/cases/{case}/shares"),
        share(86_400),
    )
    .await;
    assert!(r.status().is_success());
    let v: serde_json::Value = r.json().await.unwrap();
    let share_id = v["id"].as_str().unwrap().to_string();
    let pat = app.login("pat").await;
    let (_, url, _) = make_link(&app, &pat, &case, json!({})).await;
    let (status, _, _) = get_page(&page_client(&app), &url).await;
    assert_eq!(status, StatusCode::OK);
    let r = alice
        .delete(app.url(&format!("/cases/{case}/shares/{share_id}")))
        .json(&json!({"totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = post_json(
        &app,
        &alice,
        &format!("/cases/{case}/shares"),
        share(86_400),
    )
    .await;
    assert!(r.status().is_success());
    let (status, _, _) = get_page(&page_client(&app), &url).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a new share does not bring the old link back"
    );
}

#[tokio::test]
async fn many_empty_files_write_one_entry_and_paths_below_a_link_are_dead() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Empty Flood", None).await;
    let (_, url, token) = make_link(&app, &alice, &case, json!({})).await;
    let before = audit_rows(&app).len();
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("e{i}.pdf"), Vec::new()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let (status, _) = send_files(&app, &url, &refs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let written = audit_rows(&app).len() - before;
    assert!(
        written <= 2,
        "{written} audit entries for one form of 200 empty files"
    );

    let c = page_client(&app);
    let (_, _, dead) = get_page(&c, &format!("{}/u/{}", app.base, "a".repeat(24))).await;
    for below in [format!("{url}/"), format!("{url}/x"), format!("{url}/x/y")] {
        let (status, _, page) = get_page(&c, &below).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{below}");
        assert_eq!(page, dead, "{below}: the dead link's page");
        assert!(!page.contains(&token));
    }
}
