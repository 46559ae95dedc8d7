//! Issue 9, item 4: no account that cannot read client data (an administrator, the
//! superadmin) can, acting alone, give itself or a new account that power. A caseworker
//! account made, enabled or reset by them reads nothing until a supervisor of the
//! office, or the office passphrase, confirms it; both halves are audited.
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::authkit::{Account, create_and_enrol, login_account};
use crate::helpers::{TestApp, assert_error, spawn_app};
use crate::lifecycle_helpers::audit_rows;

async fn status_of(c: &Client, app: &TestApp, path: &str) -> StatusCode {
    c.get(app.url(path)).send().await.unwrap().status()
}

async fn listed(c: &Client, app: &TestApp) -> usize {
    let v: serde_json::Value = c
        .get(app.url("/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["cases"].as_array().map(Vec::len).unwrap_or(0)
}

async fn new_supervisor(app: &TestApp, by: &Client, name: &str) -> Account {
    create_and_enrol(
        app,
        by,
        json!({"username": name, "role": "caseworker", "office": "bronx", "supervisor": true,
               "password": "correct horse battery staple 42"}),
    )
    .await
}

#[tokio::test]
async fn an_account_an_admin_makes_reads_nothing_until_a_supervisor_confirms_it() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Held Back", None).await;
    let admin = app.login("admin").await;

    // The admin's own supervisor account: created, enrolled, signed in — and blind.
    let carol = new_supervisor(&app, &admin, "carol").await;
    let c = login_account(&app, &carol).await;
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(listed(&c, &app).await, 0);
    // ...and it cannot pass the power on: no share, no confirming anyone.
    let r = c
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read", "expires_at": crate::authkit::in_secs(&app, 3600)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let dave = new_supervisor(&app, &admin, "dave").await;
    let r = c
        .post(app.url(&format!("/users/{}/confirm", dave.id)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;

    // The admin cannot confirm it alone, without the passphrase.
    let r = admin
        .post(app.url(&format!("/users/{}/confirm", carol.id)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::NOT_FOUND
    );

    // A supervisor who can already read (alice) confirms: now carol reads.
    let r = alice
        .post(app.url(&format!("/users/{}/confirm", carol.id)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::OK
    );

    // Both halves are in the audit log, by ids.
    let rows = audit_rows(&app);
    let made = rows.iter().any(|r| {
        r.action == "manage_users" && r.decision == "allow" && r.target.contains(&carol.id)
    });
    let confirmed = rows.iter().any(|r| {
        r.action == "confirm_access"
            && r.decision == "allow"
            && r.actor == app.user_id("alice")
            && r.target.contains(&carol.id)
    });
    assert!(made && confirmed);
}

#[tokio::test]
async fn resetting_a_caseworker_takes_their_reading_until_the_passphrase_confirms() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Reset Me", None).await;
    let admin = app.login("admin").await;
    let alice_id = app.user_id("alice");

    // The admin resets alice's password (and could now sign in as her).
    let new_pw = "a brand new password for alice 7";
    let r = admin
        .post(app.url(&format!("/users/{alice_id}/reset-password")))
        .json(&json!({"password": new_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let c = app.client();
    let r = c
        .post(app.url("/login"))
        .json(&json!({"username": "alice", "password": new_pw, "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::NOT_FOUND
    );

    // A wrong passphrase confirms nothing; the right one does.
    let r = admin
        .post(app.url(&format!("/users/{alice_id}/confirm")))
        .json(&json!({"passphrase": "not the office passphrase at all"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::NOT_FOUND
    );
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let r = admin
        .post(app.url(&format!("/users/{alice_id}/confirm")))
        .json(&json!({"passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::OK
    );

    // The same for a reset authenticator, and for the superadmin, who has no
    // passphrase path at all.
    let root = app.login("root").await;
    let r = root
        .post(app.url(&format!("/users/{alice_id}/reset-totp")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let r = root
        .post(app.url(&format!("/users/{alice_id}/confirm")))
        .json(&json!({"passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let users: serde_json::Value = admin
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = users
        .as_array()
        .or_else(|| users["users"].as_array())
        .unwrap()
        .iter()
        .find(|u| u["id"] == alice_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(me["access_pending"], true, "{me}");
}

#[tokio::test]
async fn a_supervisor_sees_and_confirms_waiting_accounts_on_the_cases_page() {
    use crate::pagekit::{hidden, page_sign_in};
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let erin = new_supervisor(&app, &admin, "erin").await;

    let c = page_sign_in(&app, "alice").await;
    let list = c
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Accounts waiting for your confirmation") && list.contains("erin"));
    let action = format!("/users/{}/confirm", erin.id);
    assert!(list.contains(&action), "{list}");
    let csrf = hidden(&list, "csrf").unwrap();
    let r = c
        .post(format!("{}{action}", app.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list = c
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Accounts waiting for your confirmation"));
    // bob, a queens caseworker who supervises nothing, sees no such section.
    let users: serde_json::Value = admin
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let erin_row = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "erin")
        .unwrap()
        .clone();
    assert_eq!(erin_row["access_pending"], false);
}

#[tokio::test]
async fn giving_a_caseworker_account_a_way_in_needs_a_fresh_code() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    // Past the step-up window, the admin's session is no longer fresh.
    app.clock.advance(11 * 60);
    let body = json!({"username": "frank", "role": "caseworker", "office": "bronx",
                      "password": "correct horse battery staple 42"});
    let r = admin
        .post(app.url("/users"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let alice_id = app.user_id("alice");
    let r = admin
        .post(app.url(&format!("/users/{alice_id}/reset-totp")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    // With a fresh code it is made — and still waits for confirmation.
    let mut with_code = body.clone();
    with_code["totp"] = json!(app.code("admin"));
    let r = admin
        .post(app.url("/users"))
        .json(&with_code)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["access_pending"], true);
    // Disabling takes nobody's power away from anyone else: no code needed.
    app.clock.advance(11 * 60);
    let r = admin
        .post(app.url(&format!("/users/{}/disable", v["id"].as_str().unwrap())))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn resetting_a_partner_ends_their_shares_so_the_superadmin_reads_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Shared Once", None).await;
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read", "expires_at": crate::authkit::in_secs(&app, 86400)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The superadmin takes pat's account over: a new password it chooses, a new
    // authenticator it enrols.
    let root = app.login("root").await;
    let pat = app.user_id("pat");
    let new_pw = "root chose this password for pat 9";
    let r = root
        .post(app.url(&format!("/users/{pat}/reset-password")))
        .json(&json!({"password": new_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let c = app.client();
    let r = c
        .post(app.url("/login"))
        .json(&json!({"username": "pat", "password": new_pw, "totp": app.code("pat")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::NOT_FOUND
    );
    // A caseworker who can read shares again: then pat reads.
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read", "expires_at": crate::authkit::in_secs(&app, 86400)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        status_of(&c, &app, &format!("/cases/{case}")).await,
        StatusCode::OK
    );
}
