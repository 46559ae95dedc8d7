//! Issue 9, items 1 and 13: a state change must provably come from our own origin
//! (or a non-browser client), JSON routes need the JSON content type even with an
//! empty body, the session cookie is `__Host-`, and no client data rides in a URL or a
//! page title.
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_error, spawn_app};
use crate::lifecycle_helpers::audit_rows;
use crate::pagekit::{hidden, page_client};

/// Refusals recorded for the origin/content-type gate.
fn refusals(app: &TestApp, form: &str) -> usize {
    let target = format!("form:{form}");
    audit_rows(app)
        .iter()
        .filter(|r| r.action == "csrf_check" && r.target == target)
        .count()
}

/// A client that sends what a browser on another site would: the victim's cookie,
/// and the other site's `Origin` or `Sec-Fetch-Site`.
async fn admin_api(app: &TestApp) -> Client {
    app.login("admin").await
}

#[tokio::test]
async fn cross_site_requests_change_nothing_and_are_audited_once() {
    let app = spawn_app().await;
    let admin = admin_api(&app).await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Cross Site", None).await;

    // A foreign Origin on every kind of state change: refused, nothing changes.
    let cases = [
        ("POST", "/offices/bronx/seal".to_string(), json!({})),
        ("POST", "/offices/bronx/purge".to_string(), json!({})),
        ("POST", format!("/cases/{case}/purge"), json!({})),
        ("POST", format!("/cases/{case}/close"), json!({})),
        ("POST", "/seal-all".to_string(), json!({})),
        ("PUT", format!("/cases/{case}/hold"), json!({})),
    ];
    for (i, (method, path, body)) in cases.iter().enumerate() {
        let before = refusals(&app, "cross_origin");
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let origin = if i % 2 == 0 {
            ("origin", "https://evil.example.org")
        } else {
            ("sec-fetch-site", "same-site")
        };
        let r = admin
            .request(m, app.url(path))
            .header(origin.0, origin.1)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "cross_origin").await;
        // Audited at most once; past a few per address and minute, counted into one
        // aggregate entry instead (refusals before sign-in are bounded).
        let after = refusals(&app, "cross_origin");
        assert!(after <= before + 1, "{path}");
        assert!(
            i >= 3 || after == before + 1,
            "{path}: the first ones are written"
        );
    }
    assert!(app.app.vault.is_unsealed("bronx"), "still unsealed");
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the case is still there");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "open", "and still open");

    // A cross-site upload (raw body) is refused the same way and stores nothing.
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "x.pdf")])
        .header("origin", "https://evil.example.org")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "cross_origin").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap();
    let docs: serde_json::Value = r.json().await.unwrap();
    assert_eq!(docs["documents"].as_array().unwrap().len(), 0);

    // Our own origin (as the progress-bar upload sends it) is accepted.
    let own = app.base.clone();
    let r = admin
        .post(app.url("/offices/bronx/seal"))
        .header("origin", &own)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!app.app.vault.is_unsealed("bronx"));
}

#[tokio::test]
async fn json_routes_refuse_other_content_types_even_with_an_empty_body() {
    let app = spawn_app().await;
    let admin = admin_api(&app).await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Plain Text", None).await;
    // What a cross-site <form> or fetch(no-cors) can send without a preflight, and no
    // Origin at all (as from a privacy-stripping proxy): still no state change.
    for (ct, body) in [
        ("text/plain", ""),
        ("text/plain", "   "),
        ("application/x-www-form-urlencoded", ""),
        ("multipart/form-data; boundary=x", ""),
    ] {
        let before = refusals(&app, "not_json");
        let r = admin
            .post(app.url(&format!("/cases/{case}/purge")))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(
            r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        // Audited at most once each (past a few per address, counted together).
        let after = refusals(&app, "not_json");
        assert!(after <= before + 1 && after >= 1, "{ct}");
        let r = admin
            .post(app.url("/offices/bronx/seal"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(
            r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    assert!(app.app.vault.is_unsealed("bronx"));
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "not purged");
}

#[tokio::test]
async fn the_session_cookie_is_host_prefixed() {
    let app = spawn_app().await;
    let c = crate::authkit::bare_client(&app);
    let r = c
        .post(app.url("/login"))
        .json(&json!({"username": "alice", "password": app.creds.users["alice"].password, "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-casevault_session="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
}

#[tokio::test]
async fn no_client_data_in_a_url_or_a_title() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app
        .create_case(&api, "bronx", "Rosa Titlecase", Some("A123456789"))
        .await;
    app.create_case(&api, "bronx", "Other Person", None).await;

    let c = page_client(&app);
    let html = c
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "login_csrf").unwrap();
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("login_csrf", token.as_str()),
            ("username", "alice"),
            ("password", &app.creds.users["alice"].password),
            ("totp", &app.code("alice")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The search box posts (with the session's CSRF token) instead of a query string.
    let list = c
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains(r#"form class="search" method="post" action="/cases/search""#),
        "{list}"
    );
    let csrf = hidden(&list, "csrf").unwrap();
    let found = c
        .post(format!("{}/cases/search", app.base))
        .form(&[("csrf", csrf.as_str()), ("a_number", "A123456789")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("Rosa Titlecase") && !found.contains("Other Person"));
    // A search in the URL is not a search: the list is shown whole.
    let url_search = c
        .get(format!("{}/cases?a_number=A123456789", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(url_search.contains("Other Person"));
    // A search post without the token is refused.
    let r = c
        .post(format!("{}/cases/search", app.base))
        .form(&[("a_number", "A123456789")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The case page's title names no client.
    let page = c
        .get(format!("{}/cases/{case}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let title = &page[page.find("<title>").unwrap()..page.find("</title>").unwrap()];
    assert!(
        !title.contains("Rosa") && !title.contains("Titlecase"),
        "{title}"
    );
    assert!(
        page.contains("Rosa Titlecase"),
        "the page itself still shows the name"
    );
}
