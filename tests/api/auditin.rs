//! Issue 9, items 8 and 9: what a client can make the audit log say.
//!
//! Item 8: attacker-chosen text (spaces, newlines, escape codes, 57 KB strings, a
//! client's name and A-number typed into the wrong field) never becomes an audit
//! target, and an office's view of the log matches whole target tokens, so nobody
//! outside an office can write an entry its administrator sees.
//! Item 9: refusals before sign-in (forged sign-in forms, throttled sign-ins) cost the
//! sender as much as the server: a flood writes a small bounded number of rows that
//! still say how many were refused, and no authenticated action goes unrecorded.
use casevault::store::AuditRow;
use reqwest::{Client, Method, StatusCode, redirect};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle_helpers::*;
use crate::pagekit::hidden;

/// A client's name and A-number, the way a hurried caseworker types them.
const CLIENT_TEXT: &str = "Maria Quillontez A-217-455-981";

/// Strings an attacker puts where an id or a slug belongs.
fn probes() -> Vec<String> {
    vec![
        "bronx x".into(),
        "bronx\nINJECTEDLINE seq=1 actor=root".into(),
        "bronx\u{1b}[31mESCAPED\u{1b}[0m".into(),
        "bronx\tTABBED".into(),
        CLIENT_TEXT.into(),
        // A well-formed slug that names no office, made of client data.
        "maria-quillontez-a217455981".into(),
        format!("LONG{}", "Z".repeat(57_000)),
    ]
}

/// What must never appear in the audit table (compared case-insensitively).
const MARKERS: &[&str] = &[
    "bronx x",
    "injectedline",
    "\u{1b}",
    "escaped",
    "tabbed",
    "quillontez",
    "217-455-981",
    "217455981",
    "zzzzzzzz",
    "\n",
    "\t",
];

/// Percent-encodes every byte but ASCII letters and digits (one path segment).
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn assert_clean(rows: &[AuditRow]) {
    for r in rows {
        let all = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            r.time, r.actor, r.role, r.action, r.target, r.decision, r.outcome
        )
        .to_lowercase();
        for m in MARKERS {
            assert!(
                !all.contains(m),
                "{m:?} reached the audit log: seq {} target {:?}",
                r.seq,
                r.target.get(..120).unwrap_or(&r.target)
            );
        }
        for tok in r.target.split(' ') {
            assert!(
                !tok.is_empty() && tok.len() <= 64,
                "a target token is not an id: {:?}",
                r.target.get(..120).unwrap_or(&r.target)
            );
        }
    }
}

async fn send(c: &Client, method: Method, url: &str, body: Option<Value>) {
    let mut req = c.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    answered(req).await;
}

/// Sends; no answer may be a 5xx. (A URL over the client's 64 KiB limit, two long
/// segments, cannot be sent at all and is skipped.)
async fn answered(req: reqwest::RequestBuilder) {
    match req.send().await {
        Ok(r) => assert!(!r.status().is_server_error(), "{}", r.status()),
        Err(e) if e.is_builder() => {}
        Err(e) => panic!("{e}"),
    }
}

/// Every API route kind that takes an office, case, document, share or user from its
/// path, or an office, user id or username from its body, fed `p`.
async fn probe_api(
    app: &TestApp,
    c: &Client,
    creates_offices: bool,
    (case, doc): (&str, &str),
    p: &str,
) {
    let e = seg(p);
    let u = |path: String| app.url(&path);
    let empty = || Some(json!({}));
    let code = json!({"totp": "000000"});
    for (m, path, body) in [
        (Method::POST, format!("/offices/{e}/seal"), empty()),
        (
            Method::POST,
            format!("/offices/{e}/unseal"),
            Some(json!({"passphrase": "not the passphrase at all"})),
        ),
        (Method::PUT, format!("/offices/{e}/hold"), empty()),
        (Method::DELETE, format!("/offices/{e}/hold"), empty()),
        (Method::POST, format!("/offices/{e}/purge"), empty()),
        (Method::GET, format!("/cases/{e}"), None),
        (Method::GET, format!("/cases/{e}/documents"), None),
        (Method::GET, format!("/cases/{e}/documents/{e}"), None),
        (Method::GET, format!("/cases/{case}/documents/{e}"), None),
        (Method::POST, format!("/cases/{e}/close"), empty()),
        (Method::PUT, format!("/cases/{e}/hold"), empty()),
        (
            Method::POST,
            format!("/cases/{e}/purge"),
            Some(code.clone()),
        ),
        (
            Method::POST,
            format!("/cases/{case}/documents/{e}/purge"),
            Some(code.clone()),
        ),
        (
            Method::POST,
            format!("/cases/{e}/documents/{doc}/purge"),
            Some(code.clone()),
        ),
        (Method::DELETE, format!("/cases/{e}/shares/{e}"), empty()),
        (Method::DELETE, format!("/cases/{case}/shares/{e}"), empty()),
        (
            Method::POST,
            format!("/cases/{case}/assignments"),
            Some(json!({"user_id": p})),
        ),
        (
            Method::POST,
            format!("/cases/{e}/assignments"),
            Some(json!({"user_id": p})),
        ),
        (
            Method::POST,
            format!("/cases/{case}/shares"),
            Some(
                json!({"username": p, "permission": "read", "expires_at": "2027-06-01T00:00:00Z"}),
            ),
        ),
        (
            Method::POST,
            format!("/cases/{case}/shares"),
            Some(json!({"username": "pat", "permission": p, "expires_at": p})),
        ),
        (
            Method::POST,
            "/cases".into(),
            Some(json!({"office": p, "client_name": "Probe Client"})),
        ),
        (
            Method::POST,
            "/users".into(),
            Some(
                json!({"username": p, "role": "caseworker", "office": p, "password": "correct horse battery staple 42"}),
            ),
        ),
        (
            Method::POST,
            "/users".into(),
            Some(
                json!({"username": "probe-user", "role": "caseworker", "office": p, "password": "correct horse battery staple 42"}),
            ),
        ),
        (Method::POST, format!("/users/{e}/disable"), empty()),
        (Method::POST, format!("/users/{e}/enable"), empty()),
        (
            Method::POST,
            format!("/users/{e}/reset-password"),
            Some(json!({"password": "correct horse battery staple 42"})),
        ),
        (Method::POST, format!("/users/{e}/reset-totp"), empty()),
    ] {
        send(c, m, &u(path), body).await;
    }
    if !creates_offices {
        // (The superadmin's own choice of a new slug is what an office is called.)
        send(
            c,
            Method::POST,
            &app.url("/offices"),
            Some(json!({"slug": p})),
        )
        .await;
    }
    answered(
        c.post(app.url(&format!("/cases/{e}/documents")))
            .query(&[("filename", p)])
            .header("content-type", "application/pdf")
            .body("probe bytes"),
    )
    .await;
    answered(
        c.post(app.url(&format!("/cases/{case}/documents")))
            .query(&[("filename", p)])
            .header("content-type", "application/pdf")
            .body("probe bytes"),
    )
    .await;
    answered(
        c.get(app.url("/audit"))
            .query(&[("target", p), ("actor", p), ("action", p)]),
    )
    .await;
}

/// A browser-like client signed in through the pages, with the form token.
async fn page_session(app: &TestApp, user: &str) -> (Client, String) {
    let pem = std::fs::read(&app.cert).unwrap();
    let c = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let login = format!("{}/login", app.base);
    let html = c.get(&login).send().await.unwrap().text().await.unwrap();
    let token = hidden(&html, "login_csrf").unwrap();
    let r = c
        .post(&login)
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
    let home = if user == "admin" { "/admin" } else { "/cases" };
    let html = c
        .get(format!("{}{home}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden(&html, "csrf").unwrap();
    (c, csrf)
}

/// The same route kinds through the pages (with a valid form token, so that the
/// request reaches the vault's decision).
async fn probe_pages(app: &TestApp, c: &Client, csrf: &str, p: &str) {
    let e = seg(p);
    let b = &app.base;
    let form = [("csrf", csrf), ("totp", "000000"), ("confirm", p)];
    for path in [
        format!("/admin/offices/{e}/seal"),
        format!("/admin/offices/{e}/unseal"),
        format!("/admin/offices/{e}/hold"),
        format!("/admin/offices/{e}/lift"),
        format!("/admin/offices/{e}/purge"),
        format!("/admin/cases/{e}/hold"),
        format!("/admin/cases/{e}/purge"),
        format!("/admin/users/{e}/disable"),
        format!("/admin/users/{e}/password"),
        format!("/cases/{e}/close"),
        format!("/cases/{e}/shares"),
    ] {
        answered(c.post(format!("{b}{path}")).form(&form)).await;
    }
    for path in [
        format!("/admin/offices/{e}/purge"),
        format!("/admin/cases/{e}/purge"),
        format!("/cases/{e}"),
    ] {
        answered(c.get(format!("{b}{path}"))).await;
    }
    let r = c
        .post(format!("{b}/cases"))
        .form(&[
            ("csrf", csrf),
            ("office", p),
            ("client_name", "Probe Client"),
        ])
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_server_error(), "{}", r.status());
}

#[tokio::test]
async fn client_text_in_paths_and_bodies_never_becomes_an_audit_target() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Real Client", None).await;
    let doc = app
        .upload_ok(&alice, &case, "real.pdf", b"real".to_vec())
        .await;
    let before = head_seq(&app);
    // Every role that reaches a decision on the way: an office's administrator (denied
    // elsewhere), the superadmin (allowed, then "not found"), caseworkers of either
    // office and a partner.
    for who in ["admin", "root", "alice", "bob", "pat"] {
        let c = app.login(who).await;
        for p in probes() {
            probe_api(&app, &c, who == "root", (&case, &doc), &p).await;
        }
    }
    for who in ["admin", "alice"] {
        let (c, csrf) = page_session(&app, who).await;
        for p in probes() {
            probe_pages(&app, &c, &csrf, &p).await;
        }
    }
    let rows = rows_after(&app, before);
    assert!(rows.len() > 500, "the probes were decided: {}", rows.len());
    assert_clean(&audit_rows(&app));
    // The refusals are still recorded, with a fixed placeholder for what was named.
    assert!(
        rows.iter()
            .any(|r| r.action == "seal_office" && r.target == "office:invalid"),
        "a probe of an office path is recorded with a placeholder"
    );
    assert!(
        rows.iter()
            .any(|r| r.action == "create_case" && r.target == "office:invalid")
    );
    // ... and the chain still verifies.
    let o = cli(
        &["audit", "verify", "--data", app.data().to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stdout(&o));
}

#[tokio::test]
async fn another_office_cannot_write_what_an_office_administrator_reads() {
    let app = spawn_app().await;
    let bob = app.login("bob").await;
    let bob_id = app.user_id("bob");
    // Bob (queens) names bronx with something stuck to it, in every way a path or a
    // body lets him.
    for p in [
        "bronx x",
        "bronx office:bronx",
        "bronx\nx",
        "bronx\u{0}",
        "bronx ",
        " bronx",
        "bronx%20x",
        "x office:bronx",
        "bronx-old",
        "bronx,queens",
    ] {
        let e = seg(p);
        for (m, path, body) in [
            (Method::POST, format!("/offices/{e}/seal"), Some(json!({}))),
            (
                Method::POST,
                format!("/offices/{e}/unseal"),
                Some(json!({"passphrase": "not the passphrase at all"})),
            ),
            (Method::PUT, format!("/offices/{e}/hold"), Some(json!({}))),
            (Method::POST, format!("/offices/{e}/purge"), Some(json!({}))),
            (
                Method::POST,
                "/cases".to_string(),
                Some(json!({"office": p, "client_name": "Probe Client"})),
            ),
        ] {
            send(&bob, m, &app.url(&path), body).await;
        }
    }
    // An entry written before this fix (or by any other path) with text after the
    // office token, or a longer slug, is not bronx's either.
    let vault = app.app.vault.clone();
    vault
        .db()
        .write(|tx| {
            for target in [
                "office:bronx x",
                "office:bronx Maria Quillontez",
                "office:bronx-old",
                "office:bronxville case:00000000-0000-4000-8000-000000000000",
                "office:bronx\ncase:00000000-0000-4000-8000-000000000000",
                "office:queens office:bronx\u{1b}",
            ] {
                casevault::audit::append(
                    tx,
                    "2026-01-01T00:00:00Z",
                    &casevault::audit::Entry {
                        actor: &bob_id,
                        role: "caseworker",
                        action: "seal_office",
                        target,
                        decision: "deny",
                        outcome: "denied",
                    },
                )?;
            }
            Ok::<_, casevault::store::StoreError>(())
        })
        .unwrap();

    let admin = app.login("admin").await;
    let mut after = 0;
    let mut seen = 0;
    loop {
        let r = admin
            .get(app.url("/audit"))
            .query(&[("after", after.to_string()), ("limit", "1000".into())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        for e in v["entries"].as_array().unwrap() {
            seen += 1;
            let t = e["target"].as_str().unwrap();
            assert_ne!(
                e["actor"],
                bob_id.as_str(),
                "bronx's view shows bob's {t:?}"
            );
            assert!(
                t.split(' ').any(|tok| tok == "office:bronx"),
                "bronx's view shows {t:?}"
            );
        }
        match v["next_after"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert!(seen > 0, "bronx's administrator sees bronx's own entries");
    // The same filter through the store-level target search is only a search: the
    // auditor still sees every entry, bob's included.
    let audrey = app.login("audrey").await;
    let v: Value = audrey
        .get(app.url("/audit"))
        .query(&[("actor", bob_id.as_str()), ("limit", "1000")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["entries"].as_array().unwrap().len() > 40);
}

/// How many refusals the rows stand for: a row is one, an aggregate says `x N`.
fn refusals(rows: &[AuditRow], action: &str, outcome: &str) -> (usize, u64) {
    let mine: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| r.action == action && r.outcome.split(' ').next() == Some(outcome))
        .collect();
    let n = mine
        .iter()
        .map(|r| {
            let mut words = r.outcome.split(' ');
            words.next();
            match (words.next(), words.next()) {
                (Some("x"), Some(n)) => n.parse::<u64>().unwrap(),
                _ => 1,
            }
        })
        .sum();
    (mine.len(), n)
}

#[tokio::test]
async fn a_flood_of_forged_sign_in_forms_writes_a_few_rows_that_count_it() {
    let app = spawn_app().await;
    let before = head_seq(&app);
    let (alice, _) = page_session(&app, "alice").await;
    let flood = Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&app.cert).unwrap()).unwrap(),
        )
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    let login = format!("{}/login", app.base);
    for i in 0..400 {
        let r = flood
            .post(&login)
            .form(&[
                ("login_csrf", "forged-token-aaaaaaaaaaaaaaaaaaaaaa"),
                ("username", "alice"),
                ("password", "guess"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "post {i}");
        if i == 200 {
            // In the middle of the flood, a signed-in user's forged form is still
            // recorded one by one: the bound is for refusals before sign-in only.
            for _ in 0..5 {
                let r = alice
                    .post(format!("{}/cases", app.base))
                    .form(&[("client_name", "Forged")])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::FORBIDDEN);
            }
        }
    }
    let rows = rows_after(&app, before);
    let anon: Vec<AuditRow> = rows.iter().filter(|r| r.actor == "-").cloned().collect();
    let (n, _) = refusals(&anon, "csrf_check", "csrf_invalid");
    assert!(n <= 5, "{n} rows for 400 forged sign-in posts");
    assert!(n >= 1, "the attack is recorded as it starts");
    let alice_id = app.user_id("alice");
    assert_eq!(
        rows.iter()
            .filter(|r| r.actor == alice_id && r.action == "csrf_check")
            .count(),
        5
    );
    // When the window has passed, the next refusal first writes what was counted.
    app.clock.advance(61);
    let r = flood
        .post(&login)
        .form(&[("login_csrf", "forged"), ("username", "alice")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let rows = rows_after(&app, before);
    let anon: Vec<AuditRow> = rows.iter().filter(|r| r.actor == "-").cloned().collect();
    let (n, total) = refusals(&anon, "csrf_check", "csrf_invalid");
    assert!(n <= 6, "{n} rows");
    assert_eq!(total, 401, "the rows state how many posts were refused");
    assert!(
        anon.iter()
            .all(|r| r.target == "form:login" && r.decision == "deny")
    );
    assert_clean(&rows);
    let o = cli(
        &["audit", "verify", "--data", app.data().to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stdout(&o));
}

#[tokio::test]
async fn a_flood_of_throttled_sign_ins_writes_a_few_rows_that_count_it() {
    let mut app = spawn_app().await;
    let before = head_seq(&app);
    let c = app.client();
    let mut throttled = 0;
    for _ in 0..400 {
        let r = c
            .post(app.url("/login"))
            .json(&json!({"username": "alice", "password": "wrong-password-guess"}))
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            StatusCode::UNAUTHORIZED => {}
            s => panic!("{s}"),
        }
    }
    assert!(throttled > 350, "{throttled}");
    // A sign-in from elsewhere is an authenticated action: recorded as always.
    let bob = app.login("bob").await;
    drop(bob);
    let rows = rows_after(&app, before);
    let (n, _) = refusals(&rows, "login", "throttled");
    assert!(n <= 4, "{n} rows for {throttled} throttled sign-ins");
    let bob_id = app.user_id("bob");
    assert!(
        rows.iter()
            .any(|r| r.actor == bob_id && r.action == "login" && r.decision == "allow")
    );
    // Shutting down writes what is still counted: nothing of the attack is lost.
    app.server.take().unwrap().shutdown().await;
    let rows = rows_after(&app, before);
    let (n, total) = refusals(&rows, "login", "throttled");
    assert!(n <= 5, "{n} rows");
    assert_eq!(
        total, throttled,
        "the rows state how many sign-ins were throttled"
    );
    let (_, wrong) = refusals(&rows, "login", "invalid_credentials");
    assert_eq!(wrong + total, 400);
    assert_clean(&rows);
}
