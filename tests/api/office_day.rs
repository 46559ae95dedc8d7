//! A day in the office (issue 24), accounts: a waiting account is told so, the office
//! administrator confirms on the web with the office passphrase, people change their own
//! password and make new recovery codes, an administrator resets an authenticator on
//! the web, and the authenticator's secret stays the same until it is confirmed.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::{Account, bare_client, create_and_enrol, next_code, try_login};
use crate::helpers::{TestApp, assert_error, spawn_app};
use crate::pagekit::{get_page as get, hidden, page_client, post_form as post};

const WAITING: &str = "Your account is waiting for a supervisor of your office to confirm it";

/// A caseworker of bronx made by the office administrator (so it waits).
async fn waiting_caseworker(app: &TestApp, name: &str) -> Account {
    let admin = app.login("admin").await;
    create_and_enrol(
        app,
        &admin,
        json!({"username": name, "role": "caseworker", "office": "bronx", "password": "a waiting caseworker's own password"}),
    )
    .await
}

/// Signs an API-made account in through the sign-in page.
async fn page_sign_in_account(app: &TestApp, a: &Account, password: &str) -> Client {
    let c = page_client(app);
    let (_, _, html) = get(&c, &format!("{}/login", app.base)).await;
    let token = hidden(&html, "login_csrf").unwrap();
    let code = next_code(app, &a.secret);
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("login_csrf", token.as_str()),
            ("username", a.username.as_str()),
            ("password", password),
            ("totp", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{} sign-in", a.username);
    c
}

#[tokio::test]
async fn a_waiting_account_is_told_so_on_every_page_and_the_admin_confirms_it_on_the_web() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Rosa Waiting", None).await;
    let carol = waiting_caseworker(&app, "carol").await;
    let web = page_sign_in_account(&app, &carol, "a waiting caseworker's own password").await;

    let (s, _, page) = get(&web, &format!("{}/cases", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(WAITING), "{page}");
    assert!(!page.contains("There are no cases yet"), "{page}");
    let (_, _, account) = get(&web, &format!("{}/account", app.base)).await;
    assert!(account.contains(WAITING), "every page: {account}");
    // Opening a case: the waiting notice, not "Not found" (the same for any id).
    for id in [case.as_str(), "00000000-0000-4000-8000-000000000000"] {
        let (s, _, page) = get(&web, &format!("{}/cases/{id}", app.base)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(
            page.contains("Waiting for confirmation") && page.contains(WAITING),
            "{page}"
        );
        assert!(!page.contains("We could not find that page"), "{page}");
        assert!(!page.contains("Rosa Waiting"), "{page}");
    }

    // The administrator's Users page offers Confirm, with the office passphrase.
    let admin = crate::pagekit::page_sign_in(&app, "admin").await;
    let (_, _, users) = get(&admin, &format!("{}/admin/users", app.base)).await;
    let action = format!("/admin/users/{}/confirm", carol.id);
    assert!(users.contains(&action), "{users}");
    let url = format!("{}{action}", app.base);
    let code = app.code("admin");
    let (s, _, page) = post(
        &admin,
        &users,
        &url,
        &[
            ("passphrase", "k7m2p-q9x4a-wrong-wrong-wrong"),
            ("totp", &code),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("five groups of five"), "{page}");
    let (_, _, page) = get(&web, &format!("{}/cases", app.base)).await;
    assert!(
        page.contains(WAITING),
        "a wrong passphrase confirms nothing"
    );

    let pass = app.creds.offices["bronx"].passphrase.clone();
    let (_, _, users) = get(&admin, &format!("{}/admin/users", app.base)).await;
    let code = app.code("admin");
    let (s, to, _) = post(
        &admin,
        &users,
        &url,
        &[("passphrase", &pass), ("totp", &code)],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/users?done=access_confirmed")
    );
    let (_, _, page) = get(&web, &format!("{}/cases", app.base)).await;
    assert!(!page.contains(WAITING), "confirmed: {page}");
    // A supervisor keeps their button on the case list (the demo's alice).
    let dave = waiting_caseworker(&app, "dave").await;
    let sup = crate::pagekit::page_sign_in(&app, "alice").await;
    let (_, _, page) = get(&sup, &format!("{}/cases", app.base)).await;
    assert!(
        page.contains(&format!("/users/{}/confirm", dave.id)),
        "{page}"
    );
}

#[tokio::test]
async fn people_change_their_own_password_and_other_sessions_end() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "erin", "role": "caseworker", "office": "bronx", "password": "first password for erin"}),
    )
    .await;
    let other = crate::authkit::login_account(&app, &a).await;
    let me = a.client.clone();
    let url = app.url("/me/password");
    let code = next_code(&app, &a.secret);
    let r = me
        .post(&url)
        .json(&json!({"current_password": "not my password", "new_password": "a brand new long password", "totp": code}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "wrong_password").await;
    let r = me
        .post(&url)
        .json(&json!({"current_password": "first password for erin", "new_password": "password"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "weak_password").await;
    let r = me
        .post(&url)
        .json(&json!({"current_password": "first password for erin", "new_password": "a brand new long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // This session goes on; the other one ended.
    assert_eq!(
        me.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        other.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let c = bare_client(&app);
    let code = next_code(&app, &a.secret);
    let r = try_login(&app, &c, "erin", "first password for erin", Some(&code)).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    let code = next_code(&app, &a.secret);
    let r = try_login(&app, &c, "erin", "a brand new long password", Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK);

    // The audit names the change, never the password.
    let auditor = app.login("audrey").await;
    let v: Value = auditor
        .get(app.url("/audit?action=password_change"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["wrong_password", "ok"], "{v}");
    assert!(!v.to_string().contains("brand new"), "{v}");
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "fran", "role": "caseworker", "office": "bronx", "password": "fran's long password"}),
    )
    .await;
    let code = next_code(&app, &a.secret);
    let r = a
        .client
        .post(app.url("/me/recovery-codes"))
        .json(&json!({"totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let fresh: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !a.recovery.contains(c)));
    let c = bare_client(&app);
    let r = try_login(
        &app,
        &c,
        "fran",
        "fran's long password",
        Some(&a.recovery[0]),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "an old code stopped working"
    );
    let r = try_login(&app, &c, "fran", "fran's long password", Some(&fresh[0])).await;
    assert_eq!(r.status(), StatusCode::OK, "a new code works");
    // Without a fresh factor: refused.
    app.clock.advance(11 * 60);
    let r = a
        .client
        .post(app.url("/me/recovery-codes"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
}

#[tokio::test]
async fn the_account_page_changes_the_password_and_shows_new_codes_once() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "gus", "role": "caseworker", "office": "bronx", "password": "gus has a long password"}),
    )
    .await;
    let web = page_sign_in_account(&app, &a, "gus has a long password").await;
    let url = format!("{}/account", app.base);
    let (_, _, page) = get(&web, &url).await;
    assert!(page.contains("Change your password") && page.contains("Make new recovery codes"));
    let (s, _, out) = post(
        &web,
        &page,
        &format!("{}/account/password", app.base),
        &[
            ("current_password", "wrong"),
            ("new_password", "gus picks another password"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(out.contains("Your password now was not right"), "{out}");
    let (s, to, _) = post(
        &web,
        &page,
        &format!("{}/account/password", app.base),
        &[
            ("current_password", "gus has a long password"),
            ("new_password", "gus picks another password"),
        ],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/account?done=password_changed")
    );
    let (s, _, out) = post(
        &web,
        &page,
        &format!("{}/account/recovery-codes", app.base),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert!(
        out.contains("Your new recovery codes") && out.matches("<li><code>").count() == 10,
        "{out}"
    );
}

#[tokio::test]
async fn the_authenticator_secret_stays_until_confirmed_or_renewed() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/users"))
        .json(&json!({"username": "hana", "role": "caseworker", "office": "bronx", "password": "hana's long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let c = app.client();
    let r = try_login(&app, &c, "hana", "hana's long password", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let secret = |c: Client, q: &'static str| {
        let url = app.url(&format!("/totp/enrol{q}"));
        async move {
            let r = c.post(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()["secret"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let first = secret(c.clone(), "").await;
    assert_eq!(
        secret(c.clone(), "").await,
        first,
        "a reload shows the same key"
    );
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": "000000"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    assert_eq!(
        secret(c.clone(), "").await,
        first,
        "a wrong code keeps the key"
    );
    let r = c
        .post(app.url("/totp/enrol?new=maybe"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_query").await;
    let second = secret(c.clone(), "?new=true").await;
    assert_ne!(second, first, "asked for a new one");
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": next_code(&app, &first)}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    // Another session that knows the password (whoever set it) never sees the secret
    // being scanned: it gets a new one, and the first session's next look does too.
    let other = app.client();
    let r = try_login(&app, &other, "hana", "hana's long password", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let theirs = secret(other.clone(), "").await;
    assert_ne!(
        theirs, second,
        "the pending secret is shown to its own session only"
    );
    let mine = secret(c.clone(), "").await;
    assert_ne!(mine, theirs);
    assert_ne!(mine, second);
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": next_code(&app, &mine)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The session opened with the password alone ends when the account gets its
    // second factor (it never proved one).
    let r = other.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        c.get(app.url("/me")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_admin_resets_an_authenticator_on_the_web() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "ivan", "role": "caseworker", "office": "bronx", "password": "ivan's long password"}),
    )
    .await;
    let web = crate::pagekit::page_sign_in(&app, "admin").await;
    let (_, _, users) = get(&web, &format!("{}/admin/users", app.base)).await;
    let action = format!("/admin/users/{}/reset-totp", a.id);
    assert!(users.contains(&action), "{users}");
    let code = app.code("admin");
    let (s, to, _) = post(
        &web,
        &users,
        &format!("{}{action}", app.base),
        &[("totp", &code)],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/users?done=totp_reset")
    );
    let c = bare_client(&app);
    let r = try_login(&app, &c, "ivan", "ivan's long password", None).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_enrol_totp"], true, "{v}");
}
