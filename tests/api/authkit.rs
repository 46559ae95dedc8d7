//! Helpers for the identity and access tests (issue 3): raw sign-ins that keep the
//! response, codes at the server's manual clock, accounts made and enrolled through
//! the API, and session tokens handled by hand (no cookie jar).
// A toolbox shared by the test modules: a helper that no test calls yet is no error.
#![allow(dead_code)]
use casevault::auth::{TotpSecret, current_step};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A password that passes the server's rules.
pub const STRONG: &str = "violet-ferry-7-lantern-quartz";

/// The code of a base32 secret at the server's current time (the clock is not moved).
pub fn code_now(app: &TestApp, secret_b32: &str) -> String {
    code_at(secret_b32, app.clock.unix())
}

/// The code of a base32 secret at a Unix time.
pub fn code_at(secret_b32: &str, unix: i64) -> String {
    TotpSecret::from_base32(secret_b32)
        .expect("base32 secret")
        .code_at(current_step(unix))
}

/// Moves the clock one step and returns the code of that step (never a used step).
pub fn next_code(app: &TestApp, secret_b32: &str) -> String {
    app.clock.advance(30);
    code_now(app, secret_b32)
}

/// A client without a cookie jar: the tests carry tokens by hand.
pub fn bare_client(app: &TestApp) -> Client {
    let pem = std::fs::read(&app.cert).unwrap();
    let cert = reqwest::Certificate::from_pem(&pem).unwrap();
    Client::builder()
        .add_root_certificate(cert)
        .default_headers(crate::helpers::json_headers())
        .build()
        .unwrap()
}

/// POST /login with whatever is given; the response is returned untouched.
pub async fn try_login(
    app: &TestApp,
    c: &Client,
    username: &str,
    password: &str,
    totp: Option<&str>,
) -> Response {
    let mut body = json!({"username": username, "password": password});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    c.post(app.url("/login")).json(&body).send().await.unwrap()
}

/// The session token a response set, with the whole Set-Cookie line.
pub fn set_cookie(r: &Response) -> Option<(String, String)> {
    let line = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-casevault_session="))?
        .to_string();
    let token = line
        .trim_start_matches("__Host-casevault_session=")
        .split(';')
        .next()?
        .to_string();
    Some((token, line))
}

/// The device token a response set, with the whole Set-Cookie line.
pub fn set_device_cookie(r: &Response) -> Option<(String, String)> {
    let line = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-casevault_device="))?
        .to_string();
    let token = line
        .trim_start_matches("__Host-casevault_device=")
        .split(';')
        .next()?
        .to_string();
    Some((token, line))
}

/// Signs a demo user in without a cookie jar; returns the session token.
pub async fn login_token(app: &TestApp, name: &str) -> String {
    let c = bare_client(app);
    let code = app.code(name);
    let r = try_login(app, &c, name, &app.creds.users[name].password, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK, "login {name}");
    set_cookie(&r).expect("session cookie").0
}

/// GET with a session token.
pub async fn get_with(app: &TestApp, token: &str, path: &str) -> Response {
    bare_client(app)
        .get(app.url(path))
        .header("cookie", format!("__Host-casevault_session={token}"))
        .send()
        .await
        .unwrap()
}

/// An account made through the API and enrolled in TOTP through the API.
pub struct Account {
    pub id: String,
    pub username: String,
    pub password: String,
    pub secret: String,
    pub recovery: Vec<String>,
    /// Signed in (the session that enrolled).
    pub client: Client,
}

/// Creates an account as `by` (the body must carry username, role, password, …),
/// signs it in with its password, enrols TOTP and confirms with a first code.
pub async fn create_and_enrol(app: &TestApp, by: &Client, body: Value) -> Account {
    let r = by.post(app.url("/users")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "create user {body}");
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let username = body["username"].as_str().unwrap().to_string();
    let password = body["password"].as_str().unwrap().to_string();
    let client = app.client();
    let r = try_login(app, &client, &username, &password, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_enrol_totp"], true);
    let r = client.post(app.url("/totp/enrol")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    let code = next_code(app, &secret);
    let r = client
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let recovery = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    Account {
        id,
        username,
        password,
        secret,
        recovery,
        client,
    }
}

/// Signs an API-made account in with its next code; returns its client.
pub async fn login_account(app: &TestApp, a: &Account) -> Client {
    let c = app.client();
    let code = next_code(app, &a.secret);
    let r = try_login(app, &c, &a.username, &a.password, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK, "login {}", a.username);
    c
}

/// An RFC 3339 time `secs` after the server's clock.
pub fn in_secs(app: &TestApp, secs: i64) -> String {
    casevault::clock::rfc3339(
        time::OffsetDateTime::from_unix_timestamp(app.clock.unix() + secs).unwrap(),
    )
}

/// A supervisor of the account's office confirms an account that an administrator
/// made (until then it reads nothing: policy rule 16).
pub async fn confirm_access(app: &TestApp, supervisor: &Client, user_id: &str) {
    let r = supervisor
        .post(app.url(&format!("/users/{user_id}/confirm")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "confirm {user_id}");
}
