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

/// GETs a page: status, headers and body.
pub async fn get_page(c: &Client, url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = c.get(url).send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.text().await.unwrap())
}

/// Posts a form with the page's CSRF token; answers status, `Location` and body.
pub async fn post_form(
    c: &Client,
    page: &str,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let token = hidden(page, "csrf").expect("the page has a CSRF token");
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("csrf", &token));
    let r = c.post(url).form(&form).send().await.unwrap();
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, r.text().await.unwrap())
}
