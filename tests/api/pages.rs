//! The pages over plain HTTPS (no browser): security headers on every page, a CSRF
//! field in every posting form, forged posts refused and audited, the no-JavaScript
//! upload, and the error pages (404, 423, 429).
use casevault::store::AuditFilter;
use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, bytes, spawn_app};
use crate::pagekit::{hidden, page_client, page_sign_in as sign_in};

async fn get(c: &Client, url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = c.get(url).send().await.unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (s, h, r.text().await.unwrap())
}

fn assert_secure_page(url: &str, h: &reqwest::header::HeaderMap, body: &str) {
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{url}: CSP {csp}");
    }
    assert!(!csp.contains("http"), "{url}: CSP names an origin: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{url}");
    assert_eq!(h["cache-control"], "no-store", "{url}");
    assert!(
        h["content-type"].to_str().unwrap().starts_with("text/html"),
        "{url}"
    );
    assert!(
        body.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{url}"
    );
    assert!(
        !body.contains("<style") && !body.contains(" style="),
        "{url}: inline style"
    );
    for (i, _) in body.match_indices("<script") {
        assert!(
            body[i..].starts_with("<script src=\"/static/"),
            "{url}: inline script"
        );
    }
    assert!(
        !body.contains("src=\"http") && !body.contains("href=\"http"),
        "{url}: third-party origin"
    );
}

/// Every `<form method="post">` in `body` carries a non-empty CSRF field.
fn assert_forms_have_csrf(url: &str, body: &str) -> usize {
    let mut n = 0;
    for part in body.split("<form").skip(1) {
        let form = &part[..part.find("</form>").unwrap()];
        let head = &form[..form.find('>').unwrap()];
        if !head.contains("method=\"post\"") {
            continue;
        }
        n += 1;
        let ok = ["csrf", "login_csrf"]
            .iter()
            .any(|name| hidden(form, name).is_some_and(|v| v.len() >= 20));
        assert!(ok, "{url}: a posting form has no CSRF field: {head}");
    }
    n
}

#[tokio::test]
async fn every_page_sends_the_security_headers_and_every_post_form_a_csrf_field() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app
        .create_case(&api, "bronx", "Header Test", Some("A11112222"))
        .await;
    let r = api
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&serde_json::json!({"username": "pat", "permission": "read", "expires_at": "2027-06-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pat = sign_in(&app, "pat").await;
    let admin = sign_in(&app, "admin").await;
    let audrey = sign_in(&app, "audrey").await;
    let root = sign_in(&app, "root").await;
    let anon = page_client(&app);
    let b = &app.base;
    let pages: Vec<(&Client, String, StatusCode)> = vec![
        (&anon, format!("{b}/login"), StatusCode::OK),
        (&anon, format!("{b}/no-such-page"), StatusCode::NOT_FOUND),
        (&alice, format!("{b}/cases"), StatusCode::OK),
        (
            &alice,
            format!("{b}/cases?a_number=A11112222"),
            StatusCode::OK,
        ),
        (&alice, format!("{b}/cases/{case}"), StatusCode::OK),
        (
            &alice,
            format!("{b}/cases/00000000-0000-4000-8000-000000000000"),
            StatusCode::NOT_FOUND,
        ),
        (&alice, format!("{b}/audit"), StatusCode::FORBIDDEN),
        (&pat, format!("{b}/cases"), StatusCode::OK),
        (&pat, format!("{b}/cases/{case}"), StatusCode::OK),
        (&admin, format!("{b}/admin"), StatusCode::OK),
        (&admin, format!("{b}/admin/users"), StatusCode::OK),
        (&admin, format!("{b}/audit"), StatusCode::OK),
        (&audrey, format!("{b}/audit"), StatusCode::OK),
        (&audrey, format!("{b}/admin"), StatusCode::FORBIDDEN),
        (&root, format!("{b}/admin"), StatusCode::OK),
        (&root, format!("{b}/admin/users"), StatusCode::OK),
    ];
    let mut forms = 0;
    for (c, url, status) in &pages {
        let (s, h, body) = get(c, url).await;
        assert_eq!(s, *status, "{url}");
        assert_secure_page(url, &h, &body);
        forms += assert_forms_have_csrf(url, &body);
    }
    // Sign-in, sign-out, new case, upload, share, seal, panic seal, create user,
    // disable, reset password: the check above saw real forms.
    assert!(forms >= 15, "only {forms} posting forms were checked");

    // The assets: first-party, long-cached, typed.
    for (path, ct) in [
        ("/static/app.css", "text/css"),
        ("/static/upload.js", "text/javascript"),
    ] {
        let r = anon.get(format!("{b}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ct)
        );
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=31536000")
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}

fn csrf_denials(app: &TestApp) -> usize {
    app.app
        .vault
        .db()
        .read(|tx| {
            tx.audit_page(&AuditFilter {
                limit: 10_000,
                action: Some("csrf_check".into()),
                ..AuditFilter::default()
            })
        })
        .unwrap()
        .iter()
        .filter(|e| e.decision == "deny")
        .count()
}

#[tokio::test]
async fn forged_posts_without_the_token_are_refused_and_audited() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let url = format!("{}/cases", app.base);
    let before = csrf_denials(&app);

    for form in [
        vec![("client_name", "Forged")],
        vec![
            ("client_name", "Forged"),
            ("csrf", "not-the-token-aaaaaaaaaaaaaaaaaaaaaaaaa"),
        ],
        vec![("client_name", "Forged"), ("csrf", "")],
    ] {
        let r = alice.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body = r.text().await.unwrap();
        assert!(body.contains("This form has expired"), "{body}");
    }
    assert_eq!(csrf_denials(&app), before + 3, "each refusal is audited");
    let (_, _, list) = get(&alice, &url).await;
    assert!(!list.contains("Forged"), "a forged post created a case");

    // The same post with the session's token works: the refusal above was the token.
    let token = hidden(&list, "csrf").unwrap();
    let r = alice
        .post(&url)
        .form(&[("client_name", "Real Client"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, _, list) = get(&alice, &url).await;
    assert!(list.contains("Real Client"));

    // Another session's token is not this session's.
    let admin = sign_in(&app, "admin").await;
    let (_, _, admin_page) = get(&admin, &format!("{}/admin", app.base)).await;
    let admin_token = hidden(&admin_page, "csrf").unwrap();
    let r = alice
        .post(&url)
        .form(&[("client_name", "Cross"), ("csrf", admin_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Sealing (no fields but the token) is refused without it, and the office stays open.
    let r = admin
        .post(format!("{}/admin/offices/bronx/seal", app.base))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(app.app.vault.is_unsealed("bronx"));

    // Sign-in without the double-submit cookie, or from another origin, is refused.
    let fresh = page_client(&app);
    let login = format!("{}/login", app.base);
    let r = fresh
        .post(&login)
        .form(&[
            ("login_csrf", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("username", "alice"),
            ("password", &app.creds.users["alice"].password),
            ("totp", &app.code("alice")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = fresh
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "login_csrf").unwrap();
    let r = fresh
        .post(&login)
        .header("origin", "https://evil.example")
        .form(&[
            ("login_csrf", token.as_str()),
            ("username", "alice"),
            ("password", &app.creds.users["alice"].password),
            ("totp", &app.code("alice")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(csrf_denials(&app), before + 7);
}

#[tokio::test]
async fn upload_form_without_javascript_streams_the_file() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "No Script", None).await;
    let (_, _, html) = get(&alice, &format!("{}/cases/{case}", app.base)).await;
    let token = hidden(&html, "csrf").unwrap();
    let doc = bytes(1024 * 1024 + 3, 11);
    let boundary = "----casevaulttestboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"letter.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
    body.extend_from_slice(&doc);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let url = format!("{}/cases/{case}/documents", app.base);
    let r = alice
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("?done=uploaded")
    );
    let list: serde_json::Value = api
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &list["documents"][0];
    assert_eq!(d["filename"], "letter.pdf");
    let got = api
        .get(app.url(&format!(
            "/cases/{case}/documents/{}",
            d["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got.as_ref() == doc.as_slice());

    // The same upload without the token is refused before anything is stored.
    let forged = String::from_utf8_lossy(&body).replace(&token, "forged-token-forged-token-forged");
    let r = alice
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(forged.into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let list: serde_json::Value = api
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["documents"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn error_pages_say_what_to_do() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Sealed Client", None).await;

    // 404: a missing case and one the caller may not see read the same.
    let bob = sign_in(&app, "bob").await;
    let (s1, _, seen_by_bob) = get(&bob, &format!("{}/cases/{case}", app.base)).await;
    let (s2, _, missing) = get(
        &bob,
        &format!("{}/cases/00000000-0000-4000-8000-000000000000", app.base),
    )
    .await;
    assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(seen_by_bob, missing);
    assert!(missing.contains("We could not find that page or case"));

    // 423: sealed, and who can unseal it.
    app.seal("bronx").await;
    let (s, _, body) = get(&alice, &format!("{}/cases/{case}", app.base)).await;
    assert_eq!(s, StatusCode::LOCKED);
    assert!(
        body.contains("Only a key holder of the bronx office can unseal it"),
        "{body}"
    );
    assert!(!body.contains("Sealed Client"));
    let (s, _, body) = get(&alice, &format!("{}/cases", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("The bronx office is sealed"));

    // 429: too many failed sign-ins, and when to retry.
    let c = page_client(&app);
    let login = format!("{}/login", app.base);
    let mut last = None;
    for _ in 0..12 {
        let html = c.get(&login).send().await.unwrap().text().await.unwrap();
        let token = hidden(&html, "login_csrf").unwrap();
        let r = c
            .post(&login)
            .form(&[
                ("login_csrf", token.as_str()),
                ("username", "bob"),
                ("password", "wrong password here"),
                ("totp", "123456"),
            ])
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            last = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let body = r.text().await.unwrap();
        assert!(body.contains("That did not work"), "{body}");
        assert!(
            !body.contains("wrong password here"),
            "the password was echoed"
        );
    }
    let r = last.expect("sign-in was never throttled");
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);
    let body = r.text().await.unwrap();
    assert!(body.contains("Please try again in"), "{body}");
}

#[tokio::test]
async fn audit_page_is_decided_and_confined() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let (s, _, _) = get(&alice, &format!("{}/audit", app.base)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let bob = app.login("bob").await;
    let queens_case = app.create_case(&bob, "queens", "Queens Client", None).await;
    let admin = sign_in(&app, "admin").await;
    let (s, _, body) = get(&admin, &format!("{}/audit?id={queens_case}", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("No entries match"),
        "a bronx admin saw queens entries"
    );
    let audrey = sign_in(&app, "audrey").await;
    let (_, _, body) = get(&audrey, &format!("{}/audit?id={queens_case}", app.base)).await;
    assert!(
        body.contains(&queens_case) && body.contains("bob"),
        "{body}"
    );
    assert!(!body.contains("Queens Client"));

    // Reading the log is itself audited, and a caseworker's refusal too.
    let entries = app
        .app
        .vault
        .db()
        .read(|tx| {
            tx.audit_page(&AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            })
        })
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "read_all_audit" && e.decision == "allow")
    );
    assert!(entries.iter().any(|e| e.action == "read_all_audit"
        && e.decision == "deny"
        && e.actor == app.user_id("alice")));
}

#[tokio::test]
async fn sharing_asks_for_a_fresh_code_once_the_step_up_window_has_passed() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Step Up", None).await;
    let page = format!("{}/cases/{case}", app.base);
    let (_, _, html) = get(&alice, &page).await;
    assert!(
        !html.contains("id=\"share-code\""),
        "a fresh session is asked for a code"
    );

    // Past the 10-minute step-up window (but inside the 15-minute idle timeout).
    app.clock.advance(11 * 60);
    let (_, _, html) = get(&alice, &page).await;
    assert!(
        html.contains("id=\"share-code\""),
        "no code field after the window"
    );
    let token = hidden(&html, "csrf").unwrap();
    let until = "2027-05-31";
    let share = format!("{page}/shares");
    let r = alice
        .post(&share)
        .form(&[
            ("csrf", token.as_str()),
            ("username", "pat"),
            ("permission", "read"),
            ("until", until),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("Enter the 6-digit code"));
    let r = alice
        .post(&share)
        .form(&[
            ("csrf", token.as_str()),
            ("username", "pat"),
            ("permission", "read"),
            ("until", until),
            ("totp", "000000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("That code did not work"));
    let r = alice
        .post(&share)
        .form(&[
            ("csrf", token.as_str()),
            ("username", "pat"),
            ("permission", "read"),
            ("until", until),
            ("totp", &app.code("alice")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, _, html) = get(&alice, &page).await;
    assert!(
        html.contains("31 May 2027") && html.contains("Active"),
        "{html}"
    );

    // The partner sees the case with the share's end.
    let pat = sign_in(&app, "pat").await;
    let (_, _, list) = get(&pat, &format!("{}/cases", app.base)).await;
    assert!(
        list.contains("Step Up") && list.contains("31 May 2027"),
        "{list}"
    );
}

#[tokio::test]
async fn a_partner_sees_the_upload_form_only_with_an_upload_share() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let read = app.create_case(&api, "bronx", "Read Share", None).await;
    let upload = app.create_case(&api, "bronx", "Upload Share", None).await;
    for (case, permission) in [(&read, "read"), (&upload, "upload")] {
        let r = api
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&serde_json::json!({"username": "pat", "permission": permission, "expires_at": "2027-06-01T00:00:00Z"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let pat = sign_in(&app, "pat").await;
    let (_, _, html) = get(&pat, &format!("{}/cases/{read}", app.base)).await;
    assert!(
        html.contains("read only") && !html.contains("id=\"upload\""),
        "{html}"
    );
    assert!(!html.contains("Share this case"));
    let (_, _, html) = get(&pat, &format!("{}/cases/{upload}", app.base)).await;
    assert!(
        html.contains("read and add documents") && html.contains("id=\"upload\""),
        "{html}"
    );
    // The form's script target is the API route, which the vault also decides.
    assert!(html.contains(&format!("data-api=\"/api/v1/cases/{upload}/documents\"")));
}

/// Posts a form with the given fields (the session's token added when `token` is set).
async fn post_form(
    c: &Client,
    url: &str,
    token: Option<&str>,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    if let Some(t) = token {
        form.push(("csrf", t));
    }
    let r = c.post(url).form(&form).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

#[tokio::test]
async fn admin_case_list_shows_no_client_data_and_its_forms_need_the_token() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let marker = "Zephyrine Quillfeather";
    let case = app
        .create_case(&api, "bronx", marker, Some("A987654321"))
        .await;
    app.upload_ok(&api, &case, "asylum-petition.pdf", bytes(5000, 3))
        .await;
    let bob = app.login("bob").await;
    let queens = app.create_case(&bob, "queens", "Queens Only", None).await;

    let admin = sign_in(&app, "admin").await;
    let b = &app.base;
    let mut forms = 0;
    for url in [
        format!("{b}/admin/cases"),
        format!("{b}/admin"),
        format!("{b}/admin/cases/{case}/purge"),
        format!("{b}/admin/offices/bronx/purge"),
    ] {
        let (s, h, body) = get(&admin, &url).await;
        assert_eq!(s, StatusCode::OK, "{url}");
        assert_secure_page(&url, &h, &body);
        forms += assert_forms_have_csrf(&url, &body);
        for secret in [marker, "Zephyrine", "987654321", "asylum-petition"] {
            assert!(!body.contains(secret), "{url} shows {secret}");
        }
    }
    // Hold (details form), purge link target, office hold, two purge forms, seal...
    assert!(forms >= 6, "only {forms} posting forms were checked");
    let (_, _, list) = get(&admin, &format!("{b}/admin/cases")).await;
    assert!(list.contains(&case), "the case id is listed");
    assert!(!list.contains(&queens), "another office's case is listed");
    assert!(list.contains(&format!("/admin/cases/{case}/purge")));
    let (_, _, confirm) = get(&admin, &format!("{b}/admin/cases/{case}/purge")).await;
    assert!(confirm.contains("This cannot be undone") && confirm.contains("bronx"));
    assert!(confirm.contains(&case));

    // Only the office's administrator: others are refused, another office's case
    // is not admitted to exist.
    let (s, _, _) = get(&admin, &format!("{b}/admin/cases/{queens}/purge")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let alice = sign_in(&app, "alice").await;
    let (_, _, own) = get(&alice, &format!("{b}/cases/{case}")).await;
    assert!(
        own.contains(marker),
        "the marker is a name the case page shows"
    );
    for (url, status) in [
        (format!("{b}/admin/cases"), StatusCode::FORBIDDEN),
        (
            format!("{b}/admin/cases/{case}/purge"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{b}/admin/offices/bronx/purge"),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (s, _, body) = get(&alice, &url).await;
        assert_eq!(s, status, "{url}");
        assert!(!body.contains(marker));
    }
    let root = sign_in(&app, "root").await;
    let (s, _, _) = get(&root, &format!("{b}/admin/cases")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The vault decided each time, and recorded it (rule 15).
    let listings: Vec<_> = app
        .app
        .vault
        .db()
        .read(|tx| {
            tx.audit_page(&AuditFilter {
                limit: 10_000,
                action: Some("list_office_cases".into()),
                ..AuditFilter::default()
            })
        })
        .unwrap();
    let by = |who: &str, d: &str| {
        listings
            .iter()
            .filter(|e| e.actor == app.user_id(who) && e.decision == d)
            .count()
    };
    assert!(by("admin", "allow") >= 4 && by("admin", "deny") == 1);
    assert_eq!((by("alice", "deny"), by("root", "deny")), (3, 1));
    assert!(listings.iter().all(|e| !e.target.contains("Zephyrine")));

    // Every new form refuses a post without the session's token, and nothing changes.
    let before = csrf_denials(&app);
    let code = app.code("admin");
    let posts = [
        (&admin, format!("{b}/admin/cases/{case}/hold")),
        (&admin, format!("{b}/admin/cases/{case}/lift")),
        (&admin, format!("{b}/admin/cases/{case}/purge")),
        (&admin, format!("{b}/admin/offices/bronx/hold")),
        (&admin, format!("{b}/admin/offices/bronx/lift")),
        (&admin, format!("{b}/admin/offices/bronx/purge")),
        (&alice, format!("{b}/cases/{case}/close")),
    ];
    for (c, url) in &posts {
        let (s, _, body) = post_form(
            c,
            url,
            None,
            &[("totp", code.as_str()), ("confirm", "bronx")],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{url}");
        assert!(body.contains("This form has expired"), "{url}");
    }
    assert_eq!(csrf_denials(&app), before + posts.len());
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a forged purge deleted the case"
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["held"], false, "a forged post placed a hold");
    assert_eq!(v["status"], "open", "a forged post closed the case");
    assert!(app.app.vault.is_unsealed("bronx"));
}

#[tokio::test]
async fn a_held_case_is_not_purged_the_page_says_why_and_a_fresh_code_purges_it() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app
        .create_case(&api, "bronx", "Hold Then Purge", None)
        .await;
    app.upload_ok(&api, &case, "a.pdf", bytes(3000, 5)).await;
    let admin = sign_in(&app, "admin").await;
    let b = &app.base;
    let (_, _, list) = get(&admin, &format!("{b}/admin/cases")).await;
    let token = hidden(&list, "csrf").unwrap();
    let t = Some(token.as_str());

    // Signed in a moment ago: a hold needs no further code.
    let (s, to, _) = post_form(
        &admin,
        &format!("{b}/admin/cases/{case}/hold"),
        t,
        &[("reason", "Subpoena 24-117")],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/cases?done=held")
    );
    let (_, _, list) = get(&admin, &format!("{b}/admin/cases?done=held")).await;
    assert!(list.contains("The legal hold is in place") && list.contains("Lift hold"));
    assert!(
        !list.contains("Subpoena"),
        "the reason is stored sealed, not shown"
    );

    // The confirmation explains the hold and offers no button; a post is refused
    // with 409 and the same notice, and the case stays.
    let purge = format!("{b}/admin/cases/{case}/purge");
    let (s, _, page) = get(&admin, &purge).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("This case is under a legal hold; lift the hold first."));
    assert!(!page.contains("Delete case permanently"));
    let code = app.code("admin");
    let (s, _, page) = post_form(&admin, &purge, t, &[("totp", code.as_str())]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        page.contains("This case is under a legal hold; lift the hold first."),
        "{page}"
    );
    assert!(
        !page.contains("That did not work"),
        "an error page, not a notice"
    );
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Past the step-up window, lifting asks for a code.
    app.clock.advance(11 * 60);
    let (_, _, list) = get(&admin, &format!("{b}/admin/cases")).await;
    assert!(list.contains(&format!("id=\"lift-code-{case}\"")));
    let lift = format!("{b}/admin/cases/{case}/lift");
    let (s, _, page) = post_form(&admin, &lift, t, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Enter the 6-digit code"));
    let code = app.code("admin");
    let (s, to, _) = post_form(&admin, &lift, t, &[("totp", code.as_str())]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/cases?done=lifted")
    );

    // A purge always asks for a code, and a wrong one changes nothing.
    let (s, _, page) = post_form(&admin, &purge, t, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Enter the 6-digit code"));
    let (s, _, page) = post_form(&admin, &purge, t, &[("totp", "000000")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code did not work"));
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let code = app.code("admin");
    let (s, to, _) = post_form(&admin, &purge, t, &[("totp", code.as_str())]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/cases?done=purged")
    );
    let api = app.login("alice").await;
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, _, _) = get(&admin, &purge).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn office_hold_and_purge_from_the_office_page() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Office Purge", None).await;
    let admin = sign_in(&app, "admin").await;
    let b = &app.base;
    let (_, _, page) = get(&admin, &format!("{b}/admin")).await;
    let token = hidden(&page, "csrf").unwrap();
    let t = Some(token.as_str());
    let (s, to, _) = post_form(&admin, &format!("{b}/admin/offices/bronx/hold"), t, &[]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=office_held")
    );
    let (_, _, page) = get(&admin, &format!("{b}/admin")).await;
    assert!(page.contains("The whole office is under a legal hold"));

    let purge = format!("{b}/admin/offices/bronx/purge");
    let (_, _, page) = get(&admin, &purge).await;
    assert!(page.contains("lift the holds first") && page.contains("including yours"));
    assert!(
        !page.contains("name=\"confirm\""),
        "a held office offers no purge form"
    );
    let code = app.code("admin");
    let fields = [("confirm", "bronx"), ("totp", code.as_str())];
    let (s, _, page) = post_form(&admin, &purge, t, &fields).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("lift the holds first"));
    let (s, _, _) = post_form(&admin, &format!("{b}/admin/offices/bronx/lift"), t, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The office's name must be typed exactly; a wrong one deletes nothing.
    let code = app.code("admin");
    let (s, _, page) = post_form(
        &admin,
        &purge,
        t,
        &[("confirm", "queens"), ("totp", code.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("not this office’s name"));
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Another office is not theirs to delete.
    let code = app.code("admin");
    let (s, _, _) = post_form(
        &admin,
        &format!("{b}/admin/offices/queens/purge"),
        t,
        &[("confirm", "queens"), ("totp", code.as_str())],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The purge waits for a second person (issue 26): nothing is deleted yet.
    let code = app.code("admin");
    let fields = [("confirm", "bronx"), ("totp", code.as_str())];
    let (s, to, _) = post_form(&admin, &purge, t, &fields).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=approval_pending")
    );
    let (s, _, page) = get(&admin, &format!("{b}/admin?done=approval_pending")).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the office and its admin are still there"
    );
    assert!(page.contains("waits for a second administrator"), "{page}");
    // Once another person approves, it runs.
    let root = app.login("root").await;
    let r = root.get(app.url("/approvals")).send().await.unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    let id = v["approvals"][0]["id"].as_str().unwrap().to_string();
    let r = root
        .post(app.url(&format!("/approvals/{id}/approve")))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _, _) = get(&admin, &format!("{b}/admin")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the admin's own session is gone");
}

#[tokio::test]
async fn closing_a_case_shows_its_status_and_the_retention_preview_lists_it() {
    const DAY: i64 = 24 * 3600;
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let done = app
        .create_case(&api, "bronx", "Finished Matter", None)
        .await;
    let kept = app.create_case(&api, "bronx", "Kept Matter", None).await;
    app.upload_ok(&api, &done, "f.pdf", bytes(4000, 9)).await;
    let alice = sign_in(&app, "alice").await;
    for case in [&done, &kept] {
        let page = format!("{}/cases/{case}", app.base);
        let (_, _, html) = get(&alice, &page).await;
        assert!(html.contains("Close case") && html.contains("365 days after closing"));
        let token = hidden(&html, "csrf").unwrap();
        // Closing asks first: the question changes nothing.
        let (s, _, ask) = post_form(&alice, &format!("{page}/close"), Some(&token), &[]).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ask.contains("cannot be reopened"), "{ask}");
        let (s, to, _) = post_form(
            &alice,
            &format!("{page}/close"),
            Some(&token),
            &[("confirm", "yes")],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert!(to.ends_with("?done=closed"), "{to}");
        let (_, _, html) = get(&alice, &page).await;
        assert!(html.contains("Closed</strong> on "), "{html}");
        assert!(
            !html.contains("Close case"),
            "a closed case offers closing again"
        );
    }
    app.app
        .vault
        .set_case_hold(
            &casevault::vault::operator::actor(),
            &kept,
            true,
            None,
            casevault::vault::StepUp::none(),
        )
        .await
        .unwrap();

    // Before the year is out nothing is due; after it, the preview lists the case
    // and names the held one as kept, and deletes nothing.
    let admin = sign_in(&app, "admin").await;
    let (_, _, page) = get(&admin, &format!("{}/admin", app.base)).await;
    assert!(page.contains("No closed case is due for deletion now."));
    app.clock.advance(366 * DAY);
    let admin = sign_in(&app, "admin").await;
    let (_, _, page) = get(&admin, &format!("{}/admin", app.base)).await;
    let due = page
        .find("Due for deletion at the next run (1)")
        .expect(&page);
    let held = page.find("Kept because of a legal hold (1)").expect(&page);
    assert!(page[due..held].contains(&done) && page[held..].contains(&kept));
    let (_, _, list) = get(&admin, &format!("{}/admin/cases", app.base)).await;
    // "Closed 21 September 2026": a date in words follows.
    let at = list.find("Closed ").expect("the close date is listed") + 7;
    assert!(
        list[at..].starts_with(|c: char| c.is_ascii_digit()),
        "{list}"
    );
    let api = app.login("alice").await;
    let r = api
        .get(app.url(&format!("/cases/{done}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a preview deleted a case");
}
