//! Issue 9, probed from outside as the attack did. Item 6: a recovery code is no
//! fresh second factor; item 7: only real key use holds off the idle auto-seal.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

// ---------------------------------------------------------------------------------
// Item 6: a sign-in with a recovery code does not count as step-up.

#[tokio::test]
async fn a_recovery_code_sign_in_is_not_a_fresh_second_factor() {
    let app = spawn_app().await;
    // An office administrator made and enrolled through the API, so it has recovery
    // codes (an admin reads no client data: nothing else must confirm the account).
    let root = app.login("root").await;
    let ada = create_and_enrol(
        &app,
        &root,
        json!({"username": "ada-admin", "role": "admin", "office": "bronx", "password": STRONG}),
    )
    .await;

    let c = app.client();
    let before = head_seq(&app);
    let r = try_login(
        &app,
        &c,
        &ada.username,
        &ada.password,
        Some(&ada.recovery[0]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Straight after that sign-in, every action that needs a fresh code asks for one.
    let r = c
        .put(app.url("/offices/bronx/hold"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    // The sign-in is audited as one made with a recovery code.
    let login = rows_after(&app, before);
    assert!(
        login
            .iter()
            .any(|r| r.action == "login" && r.decision == "allow" && r.outcome == "recovery_code"),
        "{login:?}"
    );
    let r = c.post(app.url("/offices/bronx/seal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let r = c
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    assert!(!app.app.vault.is_unsealed("bronx"));
    // Nor does a second recovery code step up.
    let r = c
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass, "totp": ada.recovery[1]}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    assert!(!app.app.vault.is_unsealed("bronx"));

    // A code from the authenticator does, and then the session is fresh.
    let r = c
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass, "totp": next_code(&app, &ada.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c
        .put(app.url("/offices/bronx/hold"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // The same account signed in with its authenticator is fresh at once.
    let t = login_account(&app, &ada).await;
    let r = t
        .delete(app.url("/offices/bronx/hold"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------------------------
// Item 7: only a use of the keys holds off the idle auto-seal.

#[tokio::test]
async fn polling_the_office_list_does_not_hold_off_the_idle_seal() {
    let app = spawn_app().await;
    let idle = i64::from(app.settings.seal.idle_minutes) * 60;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Polled Client", None)
        .await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // From now on nobody uses a key: a dashboard polls the office list and the admin
    // page (each poll also keeps its session alive) for a whole idle period.
    let admin = app.login("admin").await;
    let mut polled = 0;
    while polled < idle {
        app.clock.advance(600);
        polled += 600;
        let r = admin.get(app.url("/offices")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert!(v.to_string().contains("bronx"), "{v}");
        let r = admin
            .get(format!("{}/admin", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(app.app.vault.is_unsealed("bronx"));
    }

    let mut sealed = app.app.vault.seal_idle().await.unwrap();
    sealed.sort();
    assert_eq!(sealed, vec!["bronx".to_string(), "queens".to_string()]);
    assert!(!app.app.vault.is_unsealed("bronx"));
    assert_eq!(
        count(app.data(), "audit", "action = 'auto_seal'"),
        2,
        "each auto-seal is audited"
    );
    let alice = app.login("alice").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
}
