//! Passkeys in a real browser (issue 22): Chromium with a virtual authenticator (the
//! DevTools `WebAuthn` domain, through chromedriver), against a real server at
//! `https://localhost:PORT` (browsers refuse WebAuthn on an IP address). The walk:
//! add a passkey, sign out, sign in with only the passkey, share a case with a passkey
//! step-up, remove the passkey, and find that it no longer signs in. The negative
//! cases: a replayed challenge, an assertion of a credential the server never
//! registered, another user's passkey on step-up.
use serde_json::{Value, json};

use crate::browser::{check_page, shots, sign_in_ok};
use crate::helpers::{TestApp, spawn_app};
use crate::webdriver::{Browser, installed};

/// A virtual platform authenticator that holds discoverable credentials and verifies
/// its user (a passkey on a phone or laptop); answers its id.
async fn authenticator(b: &Browser) -> String {
    b.cdp("WebAuthn.enable", json!({"enableUI": false})).await;
    let v = b
        .cdp(
            "WebAuthn.addVirtualAuthenticator",
            json!({"options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserVerified": true,
                "automaticPresenceSimulation": true
            }}),
        )
        .await;
    v["authenticatorId"].as_str().unwrap().to_string()
}

/// Runs `body` (which must end by returning a value) in the page, awaiting it.
async fn run(b: &Browser, body: &str) -> Value {
    b.js_async(&format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, e => done({{error: String(e)}}));"
    ))
    .await
}

/// `fetch` of a JSON API route from the page, answering `{status, body}`.
const API: &str = "const api = async (path, body) => {
    const r = await fetch('/api/v1' + path, {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
    const text = await r.text();
    return {status: r.status, body: text ? JSON.parse(text) : null};
};";

async fn sign_out(b: &Browser) {
    b.click("form[action='/logout'] button[type=submit]").await;
}

#[tokio::test]
async fn passkeys_sign_in_step_up_and_stop_when_removed_in_a_real_browser() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app: TestApp = spawn_app().await;
    assert!(app.base.starts_with("https://localhost:"));
    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    let base = app.base.clone();
    let auth = authenticator(&b).await;

    // Alice adds a passkey on her account page (her sign-in code is fresh).
    sign_in_ok(&b, &app, "alice").await;
    b.goto(&format!("{base}/account")).await;
    b.type_into("#passkey-name", "work laptop").await;
    b.click_stay("#passkey-add button[type=submit]").await;
    b.wait_for(
        "return location.search.includes('done=passkey_added') && document.readyState === 'complete';",
        "the passkey to be added",
    )
    .await;
    let t = b.text().await;
    assert!(
        t.contains("work laptop") && t.contains("The passkey was added"),
        "{t}"
    );
    check_page(&b).await;
    b.screenshot(&shots().join("passkeys.png")).await;
    let creds = b
        .cdp("WebAuthn.getCredentials", json!({"authenticatorId": auth}))
        .await;
    assert_eq!(creds["credentials"].as_array().unwrap().len(), 1, "{creds}");
    assert_eq!(creds["credentials"][0]["isResidentCredential"], true);

    // Sign out, then in with only the passkey: no username, no password, no code.
    sign_out(&b).await;
    b.goto(&format!("{base}/login")).await;
    b.click_stay("#passkey-signin").await;
    b.wait_for(
        "return !location.pathname.startsWith('/login') && document.readyState === 'complete';",
        "the passkey sign-in",
    )
    .await;
    let t = b.text().await;
    assert!(t.contains("Signed in as alice"), "{t}");

    // Open a case and share it once the step-up window has passed: the passkey
    // proves it instead of a code.
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Passkey Client", None)
        .await;
    app.clock.advance(11 * 60);
    b.goto(&format!("{base}/cases/{case}")).await;
    b.type_into("#share-with", "pat").await;
    b.click_stay("form[action$='/shares'] button[data-passkey-reauth]")
        .await;
    b.wait_for(
        "return location.search.includes('done=shared') && document.readyState === 'complete';",
        "the share after a passkey step-up",
    )
    .await;

    // A replayed sign-in challenge, and the same assertion twice, are refused.
    let replay = run(
        &b,
        &format!(
            "{API}
             const c = await api('/login/passkey/start');
             const options = PublicKeyCredential.parseRequestOptionsFromJSON(c.body.publicKey);
             const cred = await navigator.credentials.get({{publicKey: options}});
             const body = {{challenge_id: c.body.challenge_id, credential: cred.toJSON()}};
             const first = await api('/login/passkey/finish', body);
             const again = await api('/login/passkey/finish', body);
             return [first.status, again.status, again.body];"
        ),
    )
    .await;
    assert_eq!(replay[0], 200, "{replay}");
    assert_eq!(replay[1], 401, "{replay}");
    assert_eq!(replay[2]["error"]["code"], "invalid_credentials");

    // Remove the passkey (the session is fresh from the passkey sign-in above).
    b.goto(&format!("{base}/account")).await;
    b.click_stay("button[data-passkey-remove]").await;
    b.wait_for(
        "return location.search.includes('done=passkey_removed') && document.readyState === 'complete';",
        "the passkey to be removed",
    )
    .await;
    assert!(b.text().await.contains("You have no passkey yet"));

    // It no longer signs in: the authenticator still offers it, the server refuses.
    sign_out(&b).await;
    let refused = run(
        &b,
        &format!(
            "{API}
             const c = await api('/login/passkey/start');
             const options = PublicKeyCredential.parseRequestOptionsFromJSON(c.body.publicKey);
             const cred = await navigator.credentials.get({{publicKey: options}});
             const r = await api('/login/passkey/finish', {{challenge_id: c.body.challenge_id, credential: cred.toJSON()}});
             return [r.status, r.body];"
        ),
    )
    .await;
    assert_eq!(refused[0], 401, "{refused}");
    b.goto(&format!("{base}/login")).await;
    b.click_stay("#passkey-signin").await;
    b.wait_for(
        "return !document.getElementById('passkey-status').hidden;",
        "the refusal on the sign-in page",
    )
    .await;
    assert!(b.url().await.ends_with("/login"));
    b.quit().await;
}

#[tokio::test]
async fn unregistered_credentials_and_another_users_passkey_are_refused() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        return;
    }
    let app: TestApp = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    let base = app.base.clone();
    let auth = authenticator(&b).await;

    // A credential this origin's authenticator made without the server: its user
    // handle names alice's id, but the server never registered it.
    sign_in_ok(&b, &app, "bob").await;
    let alice_id = app.user_id("alice");
    let forged = run(
        &b,
        &format!(
            "{API}
             const id = '{alice_id}'.replaceAll('-', '');
             const bytes = new Uint8Array(id.match(/../g).map(h => parseInt(h, 16)));
             await navigator.credentials.create({{publicKey: {{
                 challenge: new Uint8Array(32), rp: {{id: 'localhost', name: 'x'}},
                 user: {{id: bytes, name: 'alice', displayName: 'alice'}},
                 pubKeyCredParams: [{{type: 'public-key', alg: -7}}],
                 authenticatorSelection: {{residentKey: 'required', userVerification: 'required'}}}}}});
             const c = await api('/login/passkey/start');
             const options = PublicKeyCredential.parseRequestOptionsFromJSON(c.body.publicKey);
             const cred = await navigator.credentials.get({{publicKey: options}});
             const r = await api('/login/passkey/finish', {{challenge_id: c.body.challenge_id, credential: cred.toJSON()}});
             return [r.status, r.body];"
        ),
    )
    .await;
    assert_eq!(forged[0], 401, "{forged}");
    assert_eq!(forged[1]["error"]["code"], "invalid_credentials");

    // Bob and alice each register a passkey on this device; alice, asked for a
    // step-up, answers her own challenge with bob's passkey: refused.
    let add = |name: &'static str| {
        let (b, base) = (&b, base.clone());
        async move {
            b.goto(&format!("{base}/account")).await;
            b.type_into("#passkey-name", name).await;
            b.click_stay("#passkey-add button[type=submit]").await;
            b.wait_for(
                "return location.search.includes('done=passkey_added') && document.readyState === 'complete';",
                name,
            )
            .await;
        }
    };
    add("bob's key").await;
    let bob_cred = b
        .cdp("WebAuthn.getCredentials", json!({"authenticatorId": auth}))
        .await["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["userName"] == "bob")
        .map(|c| c["credentialId"].as_str().unwrap().to_string())
        .expect("bob's credential");
    sign_out(&b).await;
    sign_in_ok(&b, &app, "alice").await;
    add("alice's key").await;
    let other = run(
        &b,
        &format!(
            "{API}
             const c = await api('/reauth/passkey/start');
             const pk = c.body.publicKey;
             pk.allowCredentials = [{{type: 'public-key',
                 id: '{bob_cred}'.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')}}];
             const options = PublicKeyCredential.parseRequestOptionsFromJSON(pk);
             const cred = await navigator.credentials.get({{publicKey: options}});
             const r = await api('/reauth/passkey/finish', {{challenge_id: c.body.challenge_id, credential: cred.toJSON()}});
             return [c.status, r.status, r.body];"
        ),
    )
    .await;
    assert_eq!(other[0], 200, "{other}");
    assert_eq!(other[1], 401, "{other}");
    assert_eq!(other[2]["error"]["code"], "invalid_credentials");

    // A cloned key: the same credential, its signature counter set back. Alice signs
    // in with her passkey twice (the counter moves on), then her credential is put
    // back into the authenticator with its counter at zero: refused.
    let sign_in_by_passkey = format!(
        "{API}
         const c = await api('/login/passkey/start');
         const options = PublicKeyCredential.parseRequestOptionsFromJSON(c.body.publicKey);
         options.allowCredentials = [];
         const cred = await navigator.credentials.get({{publicKey: options}});
         const r = await api('/login/passkey/finish', {{challenge_id: c.body.challenge_id, credential: cred.toJSON()}});
         return [r.status, r.body];"
    );
    let all = b
        .cdp("WebAuthn.getCredentials", json!({"authenticatorId": auth}))
        .await;
    let mine = |all: &Value| {
        all["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["userName"] == "alice")
            .cloned()
            .expect("alice's credential")
    };
    // Only alice's credential in the authenticator, so the sign-in uses it.
    for c in all["credentials"].as_array().unwrap() {
        if c["userName"] != "alice" {
            b.cdp(
                "WebAuthn.removeCredential",
                json!({"authenticatorId": auth, "credentialId": c["credentialId"]}),
            )
            .await;
        }
    }
    for _ in 0..2 {
        let r = run(&b, &sign_in_by_passkey).await;
        assert_eq!(r[0], 200, "{r}");
    }
    let mut cloned = mine(
        &b.cdp("WebAuthn.getCredentials", json!({"authenticatorId": auth}))
            .await,
    );
    assert!(cloned["signCount"].as_u64().unwrap() >= 2, "{cloned}");
    b.cdp(
        "WebAuthn.removeCredential",
        json!({"authenticatorId": auth, "credentialId": cloned["credentialId"]}),
    )
    .await;
    cloned["signCount"] = json!(0);
    b.cdp(
        "WebAuthn.addCredential",
        json!({"authenticatorId": auth, "credential": cloned}),
    )
    .await;
    let r = run(&b, &sign_in_by_passkey).await;
    assert_eq!(r[0], 401, "a counter that went back: {r}");
    let audit = rusqlite::Connection::open(app.data().join(casevault::store::DB_FILE)).unwrap();
    let refused: i64 = audit
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action IN ('login', 'step_up') AND outcome = 'passkey_refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(refused >= 2, "refusals audited: {refused}");
    b.quit().await;
}

#[tokio::test]
async fn a_policy_that_requires_passkeys_for_admins_leads_them_to_add_one_then_to_use_it() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        return;
    }
    let mut settings = crate::helpers::test_settings();
    settings
        .second_factor
        .insert("admin".into(), "passkey".into());
    let app: TestApp = crate::helpers::spawn_app_with(settings).await;
    let base = app.base.clone();

    // Over the API: the password and code open a session that can only add a passkey.
    let c = app.client();
    let r = c
        .post(app.url("/login"))
        .json(&json!({"username": "admin", "password": app.creds.users["admin"].password, "totp": app.code("admin")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_add_passkey"], true, "{v}");
    let r = c.get(app.url("/users")).send().await.unwrap();
    crate::helpers::assert_error(
        r,
        reqwest::StatusCode::FORBIDDEN,
        "passkey_enrolment_required",
    )
    .await;
    let r = c.get(app.url("/me/passkeys")).send().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    // Other roles are not concerned.
    app.login("alice").await;

    // In the browser: the admin is sent to add one, adds it, and then uses it.
    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    authenticator(&b).await;
    sign_in_ok(&b, &app, "admin").await;
    b.goto(&format!("{base}/admin")).await;
    assert!(b.url().await.ends_with("/account"), "{}", b.url().await);
    assert!(b.text().await.contains("Add a passkey to continue"));
    b.type_into("#passkey-name", "office laptop").await;
    b.click_stay("#passkey-add button[type=submit]").await;
    b.wait_for(
        "return location.search.includes('done=passkey_added') && document.readyState === 'complete';",
        "the admin's passkey",
    )
    .await;
    b.goto(&format!("{base}/admin")).await;
    assert!(b.url().await.ends_with("/admin"), "{}", b.url().await);
    // Now a password and a code are not enough for this account.
    let r = app
        .client()
        .post(app.url("/login"))
        .json(&json!({"username": "admin", "password": app.creds.users["admin"].password, "totp": app.code("admin")}))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(r, reqwest::StatusCode::UNAUTHORIZED, "passkey_required").await;
    sign_out(&b).await;
    b.goto(&format!("{base}/login")).await;
    b.click_stay("#passkey-signin").await;
    b.wait_for(
        "return !location.pathname.startsWith('/login') && document.readyState === 'complete';",
        "the admin's passkey sign-in",
    )
    .await;
    assert!(b.text().await.contains("Signed in as admin"));
    b.quit().await;
}

/// Every passkey route by role: they act on the caller's own account only, so every
/// role gets the same answers, a visitor without a session gets 401 but for the
/// sign-in ceremony, and each call leaves one audit entry or none as documented.
#[tokio::test]
async fn passkey_routes_answer_alike_for_every_role_and_need_a_session() {
    use reqwest::StatusCode as S;
    let app: TestApp = spawn_app().await;
    for user in ["root", "admin", "alice", "bob", "pat", "audrey"] {
        let c = app.login(user).await;
        let get = c.get(app.url("/me/passkeys")).send().await.unwrap();
        assert_eq!(get.status(), S::OK, "{user}");
        assert_eq!(get.json::<Value>().await.unwrap(), json!([]), "{user}");
        let post = |path: &'static str, body: Value| {
            let c = c.clone();
            let url = app.url(path);
            async move { c.post(url).json(&body).send().await.unwrap() }
        };
        let r = post("/me/passkeys/register/start", json!({})).await;
        assert_eq!(r.status(), S::OK, "{user}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["challenge_id"].is_string() && v["publicKey"]["challenge"].is_string(),
            "{v}"
        );
        assert_eq!(v["publicKey"]["rp"]["id"], "localhost");
        assert_eq!(
            v["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
        assert_eq!(
            v["publicKey"]["authenticatorSelection"]["userVerification"],
            "required"
        );
        let r = post(
            "/me/passkeys/register/finish",
            json!({"challenge_id": v["challenge_id"], "name": "x", "credential": {"id": "AAAA"}}),
        )
        .await;
        crate::helpers::assert_error(r, S::BAD_REQUEST, "passkey_refused").await;
        let r = post("/reauth/passkey/start", json!({})).await;
        crate::helpers::assert_error(r, S::BAD_REQUEST, "no_passkey").await;
        let r = post(
            "/reauth/passkey/finish",
            json!({"challenge_id": "nope", "credential": {}}),
        )
        .await;
        crate::helpers::assert_error(r, S::UNAUTHORIZED, "invalid_credentials").await;
        let r = c
            .delete(app.url(&format!("/me/passkeys/{}", uuid::Uuid::new_v4())))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        crate::helpers::assert_error(r, S::NOT_FOUND, "not_found").await;
    }
    // No session: the account routes answer 401; the sign-in ceremony is open, and a
    // made-up answer is the generic refusal.
    let c = app.client();
    for (m, path) in [
        ("GET", "/me/passkeys"),
        ("POST", "/me/passkeys/register/start"),
        ("POST", "/reauth/passkey/start"),
    ] {
        let req = if m == "GET" {
            c.get(app.url(path))
        } else {
            c.post(app.url(path)).json(&json!({}))
        };
        assert_eq!(
            req.send().await.unwrap().status(),
            S::UNAUTHORIZED,
            "{path}"
        );
    }
    let r = c
        .post(app.url("/login/passkey/start"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), S::OK);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["publicKey"]
            .get("allowCredentials")
            .is_none_or(|a| a.as_array().is_some_and(|a| a.is_empty())),
        "{v}"
    );
    let r = c
        .post(app.url("/login/passkey/finish"))
        .json(&json!({"challenge_id": v["challenge_id"], "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}}))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(r, S::UNAUTHORIZED, "invalid_credentials").await;
}
