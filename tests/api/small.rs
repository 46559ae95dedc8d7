//! Issue 9, probed from outside as the attack did. Item 6: a recovery code is no
//! fresh second factor.
use reqwest::StatusCode;
use serde_json::json;

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
