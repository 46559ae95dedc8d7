//! Authentication (issue 3): TOTP against independent implementations, replay and
//! skew, recovery codes, enrolment, throttling, enumeration, sessions, step-up.
use std::time::Instant;

use casevault::auth::{TotpSecret, current_step};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authkit::*;
use crate::helpers::*;

// ---------- TOTP ----------

/// RFC 6238 appendix B, SHA-1 seed; the 6-digit truncations of the published codes.
const RFC6238_SEED: &[u8] = b"12345678901234567890";
const RFC6238: [(i64, &str); 6] = [
    (59, "287082"),
    (1_111_111_109, "081804"),
    (1_111_111_111, "050471"),
    (1_234_567_890, "005924"),
    (2_000_000_000, "279037"),
    (20_000_000_000, "353130"),
];

#[tokio::test]
async fn rfc6238_vectors_are_accepted_by_the_server_at_their_time() {
    let app = spawn_app().await;
    let secret = TotpSecret::from_bytes(RFC6238_SEED);
    for (t, code) in RFC6238 {
        assert_eq!(secret.code_at(current_step(t)), code, "t={t}");
    }
    // Give alice the RFC seed and move the server's clock to the vectors' times.
    casevault::vault::operator::set_totp_secret(&app.app.vault, &app.user_id("alice"), &secret)
        .unwrap();
    let pw = app.creds.users["alice"].password.clone();
    for (t, code) in &RFC6238[4..] {
        app.clock.advance(t - app.clock.unix());
        assert_eq!(app.clock.unix(), *t);
        // A published code of another time is refused...
        let c = app.client();
        let r = try_login(&app, &c, "alice", &pw, Some("005924")).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        // ...and the one for this time accepted.
        let r = try_login(&app, &c, "alice", &pw, Some(code)).await;
        assert_eq!(r.status(), StatusCode::OK, "t={t}");
    }
}

fn oathtool(secret: &str, unix: i64) -> Option<String> {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{unix}")])
        .output()
        .ok()?;
    assert!(out.status.success(), "oathtool failed: {out:?}");
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

#[tokio::test]
async fn oathtool_codes_are_accepted_once_and_not_when_two_steps_old() {
    let app = spawn_app().await;
    let secret = app.creds.users["alice"].totp_secret.clone();
    let pw = app.creds.users["alice"].password.clone();
    app.clock.advance(30);
    let Some(code) = oathtool(&secret, app.clock.unix()) else {
        eprintln!("SKIPPED: oathtool is not installed (.ci/run installs it)");
        return;
    };
    assert_eq!(code.len(), 6);
    let r = try_login(&app, &app.client(), "alice", &pw, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK, "oathtool's code refused");
    // The same code again: its step is used.
    let r = try_login(&app, &app.client(), "alice", &pw, Some(&code)).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // One step old is within the skew; two steps old is not (bob, audrey: unused).
    let now = app.clock.unix();
    let bob = app.creds.users["bob"].clone();
    let old1 = oathtool(&bob.totp_secret, now - 30).unwrap();
    let r = try_login(&app, &app.client(), "bob", &bob.password, Some(&old1)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let audrey = app.creds.users["audrey"].clone();
    let old2 = oathtool(&audrey.totp_secret, now - 60).unwrap();
    let r = try_login(&app, &app.client(), "audrey", &audrey.password, Some(&old2)).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let fresh = oathtool(&audrey.totp_secret, now).unwrap();
    let r = try_login(
        &app,
        &app.client(),
        "audrey",
        &audrey.password,
        Some(&fresh),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn recovery_codes_work_once() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "dora", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    assert_eq!(a.recovery.len(), 10);
    let distinct: std::collections::BTreeSet<_> = a.recovery.iter().collect();
    assert_eq!(distinct.len(), 10);
    let r = try_login(&app, &app.client(), "dora", STRONG, Some(&a.recovery[0])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = try_login(&app, &app.client(), "dora", STRONG, Some(&a.recovery[0])).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    // Typed in capitals with spaces around: still the same code.
    let typed = format!(" {} ", a.recovery[1].to_uppercase());
    let r = try_login(&app, &app.client(), "dora", STRONG, Some(&typed)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Another user's recovery code does not open this account.
    let b = create_and_enrol(
        &app,
        &admin,
        json!({"username": "ed-b", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    let r = try_login(&app, &app.client(), "dora", STRONG, Some(&b.recovery[0])).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn enrolment_is_the_only_thing_an_unenrolled_user_can_do() {
    let app = spawn_app().await;
    let root = app.login("root").await;
    let r = root
        .post(app.url("/users"))
        .json(&json!({"username": "paula", "role": "partner", "org": "nyifup", "password": STRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["totp_enrolled"], false);

    let c = app.client();
    let r = try_login(&app, &c, "paula", STRONG, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_enrol_totp"], true);
    let blocked = [
        c.get(app.url("/cases")),
        c.get(app.url("/offices")),
        c.get(app.url("/users")),
        c.post(app.url("/cases"))
            .json(&json!({"office": "bronx", "client_name": "X"})),
        c.post(app.url("/seal-all")),
    ];
    for req in blocked {
        let r = req.send().await.unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "totp_enrolment_required").await;
    }
    let r = c.get(app.url("/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": "123456"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "not_enrolling").await;

    let r = c.post(app.url("/totp/enrol")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert_eq!(
        TotpSecret::from_base32(&secret).unwrap().as_bytes().len(),
        20
    );
    let uri = v["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/casevault:paula?"), "{uri}");
    for part in [format!("secret={secret}"), "issuer=casevault".into()] {
        assert!(uri.contains(&part), "{uri} lacks {part}");
    }
    let svg = v["qr_svg"].as_str().unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));

    // A wrong first code does not confirm; the account stays blocked.
    let wrong = code_at(&secret, app.clock.unix() + 300);
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": wrong}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    let r = c.get(app.url("/cases")).send().await.unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "totp_enrolment_required").await;

    // The first valid code confirms and hands out ten recovery codes once.
    let code = next_code(&app, &secret);
    let r = c
        .post(app.url("/totp/confirm"))
        .json(&json!({"totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    let r = c.get(app.url("/cases")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.post(app.url("/totp/enrol")).send().await.unwrap();
    assert_error(r, StatusCode::CONFLICT, "already_enrolled").await;

    // From now on the password alone is not enough.
    let r = try_login(&app, &app.client(), "paula", STRONG, None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "totp_required").await;
    let code = next_code(&app, &secret);
    let r = try_login(&app, &app.client(), "paula", STRONG, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["must_enrol_totp"], false);
}

#[tokio::test]
async fn one_code_signs_in_once_even_when_raced() {
    let app = spawn_app().await;
    let pw = app.creds.users["alice"].password.clone();
    let code = app.code("alice");
    let attempts = (0..5).map(|_| {
        let c = app.client();
        let (app, pw, code) = (&app, pw.clone(), code.clone());
        async move { try_login(app, &c, "alice", &pw, Some(&code)).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    // The losers fail (or, should one arrive after four failures, are slowed).
    assert!(statuses.iter().all(|s| {
        [
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
        ]
        .contains(s)
    }));
}

#[tokio::test]
async fn caseworkers_without_totp_when_settings_allow_but_never_other_roles() {
    let mut settings = test_settings();
    settings.totp.required_for_caseworkers = false;
    let app = spawn_app_with(settings).await;
    let root = app.login("root").await;
    for (name, body) in [
        ("cw-one", json!({"role": "caseworker", "office": "bronx"})),
        ("pp-one", json!({"role": "partner", "org": "nyifup"})),
    ] {
        let mut body = body;
        body["username"] = json!(name);
        body["password"] = json!(STRONG);
        let r = root
            .post(app.url("/users"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // An account the superadmin made reads once a supervisor confirms it (rule 16).
    let alice = app.login("alice").await;
    let users: Value = root
        .get(app.url("/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cw_id = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "cw-one")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    crate::authkit::confirm_access(&app, &alice, &cw_id).await;
    let cw = app.client();
    let r = try_login(&app, &cw, "cw-one", STRONG, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["must_enrol_totp"], false);
    let case = app
        .create_case(&cw, "bronx", "No Second Factor", None)
        .await;
    let r = cw
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Without an authenticator there is nothing to step up with: no shares.
    let r = cw
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read", "expires_at": in_secs(&app, 3600)}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;

    let pp = app.client();
    let r = try_login(&app, &pp, "pp-one", STRONG, None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["must_enrol_totp"], true);
    let r = pp.get(app.url("/cases")).send().await.unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "totp_enrolment_required").await;
}

#[tokio::test]
async fn an_empty_code_field_means_no_code() {
    let app = spawn_app().await;
    let pw = app.creds.users["alice"].password.clone();
    for empty in ["", "  "] {
        let r = try_login(&app, &app.client(), "alice", &pw, Some(empty)).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "totp_required").await;
    }
}

// ---------- shares ----------

#[tokio::test]
async fn revocation_and_expiry_take_effect_on_the_next_request() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let pat = app.login("pat").await;
    let case = app.create_case(&alice, "bronx", "Next Request", None).await;
    let missing = pat
        .get(app.url(&format!("/cases/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let share = |secs: i64| {
        alice
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&json!({"username": "pat", "permission": "read", "expires_at": in_secs(&app, secs)}))
            .send()
    };
    let read = || pat.get(app.url(&format!("/cases/{case}"))).send();

    let r = share(3600).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(read().await.unwrap().status(), StatusCode::OK);
    let r = alice
        .delete(app.url(&format!("/cases/{case}/shares/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The same session, the very next request: gone, exactly like a missing case.
    let r = read().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.text().await.unwrap(), missing);

    assert_eq!(share(60).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(read().await.unwrap().status(), StatusCode::OK);
    app.clock.advance(60);
    let r = read().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.text().await.unwrap(), missing);
}

// ---------- throttling ----------

fn retry_after(r: &reqwest::Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failures_slow_down_then_soft_lock_and_a_good_login_works_after_it() {
    let app = spawn_app().await;
    let pw = app.creds.users["alice"].password.clone();
    let secret = app.creds.users["alice"].totp_secret.clone();
    let c = app.client();
    let wrong = |n: usize| format!("wrong-password-{n}");
    // Three free failures.
    for n in 0..3 {
        let r = try_login(&app, &c, "alice", &wrong(n), None).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // From the fourth on, each failure sets a doubling delay; an attempt inside it
    // (even with the right password and code) answers 429 with Retry-After.
    let mut delays = Vec::new();
    for n in 3..9 {
        let r = try_login(&app, &c, "alice", &wrong(n), None).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        let r = try_login(&app, &c, "alice", &pw, Some(&code_now(&app, &secret))).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait = retry_after(&r);
        assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
        delays.push(wait);
        app.clock.advance(wait);
    }
    assert_eq!(delays, [2, 4, 8, 16, 32, 60]);
    // The tenth failure soft-locks the account for 15 minutes.
    let r = try_login(&app, &c, "alice", &wrong(9), None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let r = try_login(&app, &c, "alice", &pw, Some(&code_now(&app, &secret))).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 15 * 60);
    app.clock.advance(15 * 60 - 1);
    let r = try_login(&app, &c, "alice", &pw, Some(&code_now(&app, &secret))).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 1);
    // Once the lock has run out, the right password and code get in.
    app.clock.advance(1);
    let r = try_login(&app, &c, "alice", &pw, Some(&code_now(&app, &secret))).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn failures_from_one_address_slow_every_account_tried_from_it() {
    let app = spawn_app().await;
    let c = app.client();
    // Many different accounts (as a flood tries), one failure each: past the
    // address's free failures, which are ten times an account's (3 × 10).
    let mut names: Vec<String> = ["alice", "bob", "pat"].map(String::from).to_vec();
    names.extend((0..28).map(|n| format!("nobody-{n}")));
    for name in &names {
        let r = try_login(&app, &c, name, "wrong-password-xyz", None).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Another account, never tried, is slowed because of where the attempt comes from.
    let audrey = app.creds.users["audrey"].clone();
    let code = code_now(&app, &audrey.totp_secret);
    let r = try_login(&app, &c, "audrey", &audrey.password, Some(&code)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!(wait > 0);
    app.clock.advance(wait);
    let r = try_login(
        &app,
        &c,
        "audrey",
        &audrey.password,
        Some(&code_now(&app, &audrey.totp_secret)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

// ---------- enumeration ----------

#[tokio::test]
async fn unknown_user_wrong_password_and_wrong_code_answer_identically() {
    let app = spawn_app().await;
    let alice = app.creds.users["alice"].clone();
    let bob = app.creds.users["bob"].clone();
    // bob is disabled: his right password and code must look like any failure.
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url(&format!("/users/{}/disable", bob.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "admin of bronx cannot disable bob of queens"
    );
    let root = app.login("root").await;
    let r = root
        .post(app.url(&format!("/users/{}/disable", bob.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Each attempt is a failure; the clock moves past any delay so that none is a 429.
    let mut answers = Vec::new();
    let attempt = |name: String, pw: String, code: Option<String>| {
        let app = &app;
        async move {
            app.clock.advance(61);
            let started = Instant::now();
            let r = try_login(app, &app.client(), &name, &pw, code.as_deref()).await;
            let took = started.elapsed();
            let status = r.status();
            let cookie = set_cookie(&r);
            let body = r.text().await.unwrap();
            assert!(cookie.is_none());
            (status, body, took)
        }
    };
    let code = |s: &str| Some(code_now(&app, s));
    let unknown = attempt(
        "nobody-here".into(),
        alice.password.clone(),
        code(&alice.totp_secret),
    )
    .await;
    let wrong_pw = attempt(
        "alice".into(),
        "not-her-password-1".into(),
        code(&alice.totp_secret),
    )
    .await;
    let wrong_code = {
        let far = code_at(&alice.totp_secret, app.clock.unix() + 3600);
        attempt("alice".into(), alice.password.clone(), Some(far)).await
    };
    let disabled = attempt("bob".into(), bob.password.clone(), code(&bob.totp_secret)).await;
    let malformed = attempt("x".into(), "whatever-it-is".into(), None).await;
    answers.extend(
        [&unknown, &wrong_pw, &wrong_code, &disabled, &malformed].map(|a| (a.0, a.1.clone())),
    );
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, &answers[0].1);
    }
    let v: Value = serde_json::from_str(&answers[0].1).unwrap();
    assert_eq!(v["error"]["code"], "invalid_credentials");

    // Cost: an unknown user costs a full argon2 verification too (a dummy hash), so
    // response time does not tell whether an account exists. Counted, not timed.
    for (name, pw) in [("ghost-1", "some-password-1"), ("alice", "bad-password-1")] {
        let before = app.app.vault.password_verifications();
        let (status, _, _) = attempt(name.into(), pw.into(), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.app.vault.password_verifications() - before,
            1,
            "{name}: exactly one argon2 verification"
        );
    }
}

// ---------- sessions ----------

#[tokio::test]
async fn cookie_flags_rotation_and_logout() {
    let app = spawn_app().await;
    let alice = app.creds.users["alice"].clone();
    let c = bare_client(&app);
    let r = try_login(&app, &c, "alice", &alice.password, Some(&app.code("alice"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (a, line) = set_cookie(&r).unwrap();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(
            line.split("; ").any(|p| p == flag),
            "{flag} missing in {line}"
        );
    }
    assert!(a.len() >= 43, "a 256-bit token");
    assert_eq!(get_with(&app, &a, "/me").await.status(), StatusCode::OK);

    // A token nobody issued is nothing.
    let planted = "A".repeat(43);
    let r = get_with(&app, &planted, "/me").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // Signing in again from the same browser rotates: the old token dies.
    let r = c
        .post(app.url("/login"))
        .header("cookie", format!("__Host-casevault_session={a}"))
        .json(&json!({"username": "alice", "password": alice.password, "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (b, _) = set_cookie(&r).unwrap();
    assert_ne!(a, b);
    let r = get_with(&app, &a, "/me").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(get_with(&app, &b, "/me").await.status(), StatusCode::OK);

    // Logout ends the session at once and clears the cookie.
    let r = c
        .post(app.url("/logout"))
        .header("cookie", format!("__Host-casevault_session={b}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, line) = set_cookie(&r).unwrap();
    assert!(line.contains("Max-Age=0"), "{line}");
    let r = get_with(&app, &b, "/cases").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_lifetime() {
    let app = spawn_app().await;
    // Idle: 15 minutes without a request.
    let t = login_token(&app, "alice").await;
    for _ in 0..3 {
        app.clock.advance(14 * 60);
        assert_eq!(get_with(&app, &t, "/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(15 * 60 + 1);
    let r = get_with(&app, &t, "/me").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // It stays dead even if used again quickly.
    let r = get_with(&app, &t, "/me").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // Absolute: 12 hours after sign-in, however busy.
    let t = login_token(&app, "bob").await;
    for _ in 0..72 {
        app.clock.advance(10 * 60);
        assert_eq!(get_with(&app, &t, "/me").await.status(), StatusCode::OK);
    }
    app.clock.advance(1);
    let r = get_with(&app, &t, "/me").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn password_reset_and_disable_end_sessions_at_once() {
    let app = spawn_app().await;
    let alice = app.creds.users["alice"].clone();
    let admin = app.login("admin").await;
    let t = login_token(&app, "alice").await;
    assert_eq!(get_with(&app, &t, "/cases").await.status(), StatusCode::OK);

    let r = admin
        .post(app.url(&format!("/users/{}/reset-password", alice.id)))
        .json(&json!({"password": "short"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "weak_password").await;
    let r = admin
        .post(app.url(&format!("/users/{}/reset-password", alice.id)))
        .json(&json!({"password": STRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get_with(&app, &t, "/cases").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let r = try_login(
        &app,
        &app.client(),
        "alice",
        &alice.password,
        Some(&app.code("alice")),
    )
    .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let r = try_login(
        &app,
        &bare_client(&app),
        "alice",
        STRONG,
        Some(&app.code("alice")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (t, _) = set_cookie(&r).unwrap();

    // Disabling ends her session and refuses her sign-in like any wrong password.
    let r = admin
        .post(app.url(&format!("/users/{}/disable", alice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get_with(&app, &t, "/cases").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let r = try_login(
        &app,
        &app.client(),
        "alice",
        STRONG,
        Some(&app.code("alice")),
    )
    .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let r = admin
        .post(app.url(&format!("/users/{}/enable", alice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = try_login(
        &app,
        &app.client(),
        "alice",
        STRONG,
        Some(&app.code("alice")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

// ---------- step-up ----------

#[tokio::test]
async fn share_revoke_and_unseal_need_a_fresh_code() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Step Up", None).await;
    // The code proved at sign-in counts for 10 minutes; after that, step up.
    app.clock.advance(11 * 60);
    let share = |totp: Option<String>| {
        let mut body =
            json!({"username": "pat", "permission": "read", "expires_at": in_secs(&app, 86400)});
        if let Some(t) = totp {
            body["totp"] = json!(t);
        }
        alice
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&body)
            .send()
    };
    let r = share(None).await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let wrong = code_at(
        &app.creds.users["alice"].totp_secret,
        app.clock.unix() + 600,
    );
    let r = share(Some(wrong)).await.unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    let r = share(Some(app.code("alice"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Fresh now: the next share needs nothing more (the same partner again, so that
    // one share is changed: 200).
    let r = share(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Revoking is sharing too.
    app.clock.advance(11 * 60);
    let revoke = |body: Value| {
        alice
            .delete(app.url(&format!("/cases/{case}/shares/{id}")))
            .json(&body)
            .send()
    };
    let r = revoke(json!({})).await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let r = revoke(json!({"totp": app.code("alice")})).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Unseal.
    let admin = app.login("admin").await;
    app.seal("bronx").await;
    app.clock.advance(11 * 60);
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass, "totp": app.code("admin")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn step_up_code_guessing_is_throttled() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Guessing", None).await;
    app.clock.advance(11 * 60);
    let secret = app.creds.users["alice"].totp_secret.clone();
    let mut last = None;
    for i in 0..6 {
        let guess = code_at(&secret, app.clock.unix() + 3600 + 30 * i);
        let r = alice
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&json!({"username": "pat", "permission": "read", "expires_at": in_secs(&app, 86400), "totp": guess}))
            .send()
            .await
            .unwrap();
        last = Some(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(i >= 4, "throttled after {i} guesses");
            assert!(retry_after(&r) > 0);
            break;
        }
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    assert_eq!(last, Some(StatusCode::TOO_MANY_REQUESTS));
}
