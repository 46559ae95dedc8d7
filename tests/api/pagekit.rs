//! What the page tests share: a browser-like client (cookie jar, no redirects
//! followed), reading a hidden form field, and signing in through the sign-in form.
use reqwest::{Client, StatusCode, redirect};

use crate::helpers::TestApp;

/// A browser-like client: cookie jar, no automatic redirects.
pub fn page_client(app: &TestApp) -> Client {
    let pem = std::fs::read(&app.cert).unwrap();
    Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first `name="NAME"` hidden input in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Signs a demo user in through the sign-in page (password and code).
pub async fn page_sign_in(app: &TestApp, user: &str) -> Client {
    let c = page_client(app);
    let html = c
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "login_csrf").expect("login form token");
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("login_csrf", token.as_str()),
            ("username", user),
            ("password", &app.creds.users[user].password),
            ("totp", &app.code(user)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{user} sign-in");
    c
}
