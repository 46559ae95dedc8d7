//! Sign-in under a flood (issue 10 item 4): wrong passwords from many addresses lock
//! the account for browsers it does not know, never for a browser that signed in
//! before (its device cookie is throttled on its own); forged, moved and revoked
//! device cookies give nothing; a device's own failures lock that device only; a
//! refused attempt runs no argon2 (counted, never timed). Client addresses are real:
//! each client binds its own 127.0.0.x.
use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Client, Response, StatusCode, redirect};
use serde_json::json;

use crate::authkit::{in_secs, set_device_cookie};
use crate::helpers::{TestApp, assert_error, json_headers, scan_for, spawn_app};
use crate::pagekit::hidden;

/// A client without a cookie jar, connecting from 127.0.0.`last`.
pub fn from(app: &TestApp, last: u8) -> Client {
    let pem = std::fs::read(&app.cert).unwrap();
    Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .default_headers(json_headers())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

fn url(app: &TestApp, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", app.port())
}

/// `POST /api/v1/login`, with a device cookie when one is given.
async fn sign_in(
    app: &TestApp,
    c: &Client,
    user: &str,
    password: &str,
    code: Option<String>,
    device: Option<&str>,
) -> Response {
    let mut body = json!({"username": user, "password": password});
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    let mut req = c.post(url(app, "/api/v1/login")).json(&body);
    if let Some(d) = device {
        req = req.header("cookie", format!("__Host-casevault_device={d}"));
    }
    req.send().await.unwrap()
}

/// A demo user's right password and next code, from `c`, with `device`.
async fn right(app: &TestApp, c: &Client, user: &str, device: Option<&str>) -> Response {
    let pw = app.creds.users[user].password.clone();
    sign_in(app, c, user, &pw, Some(app.code(user)), device).await
}

/// Signs a demo user in from 127.0.0.1 and returns the device token it was given.
async fn device_of(app: &TestApp, user: &str) -> String {
    let r = right(app, &from(app, 1), user, None).await;
    assert_eq!(r.status(), StatusCode::OK, "{user} signs in");
    set_device_cookie(&r).expect("a device cookie").0
}

/// `each` wrong passwords for `user` from every address in `addrs`, all at once.
async fn flood(app: &TestApp, user: &str, addrs: &[u8], each: usize) -> Vec<StatusCode> {
    let clients: Vec<(usize, Client)> = addrs
        .iter()
        .flat_map(|a| (0..each).map(move |i| (usize::from(*a) * 1000 + i, *a)))
        .map(|(n, a)| (n, from(app, a)))
        .collect();
    let guesses = clients.iter().map(|(n, c)| async move {
        sign_in(app, c, user, &format!("wrong-guess-{n}"), None, None)
            .await
            .status()
    });
    futures_util::future::join_all(guesses).await
}

/// Tops a flood up until `user` is soft-locked for untrusted browsers: wrong
/// passwords from fresh addresses, past any short delay. (A burst alone may stop at a
/// delay, which on the manual clock never runs out by itself.)
async fn lock(app: &TestApp, user: &str) {
    for last in 40..80 {
        let r = sign_in(app, &from(app, last), user, "wrong-top-up", None, None).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&r);
            if wait > 60 {
                return;
            }
            app.clock.advance(wait);
        }
    }
    panic!("{user} never locked");
}

/// One wrong password, evaluated: waits out (on the manual clock) any delay first.
async fn fail(app: &TestApp, c: &Client, user: &str, device: Option<&str>) {
    for _ in 0..3 {
        let r = sign_in(app, c, user, "wrong-password-x", None, device).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            app.clock.advance(retry_after(&r));
            continue;
        }
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        return;
    }
    panic!("a wrong password was never evaluated");
}

fn retry_after(r: &Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts a 429 `too_many_attempts` with a Retry-After.
async fn assert_throttled(r: Response, what: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{what}");
    assert!(retry_after(&r) > 0, "{what}");
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn a_flood_locks_the_account_for_new_browsers_but_not_for_one_that_signed_in() {
    let app = spawn_app().await;
    let r = right(&app, &from(&app, 1), "alice", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (device, line) = set_device_cookie(&r).expect("a device cookie at sign-in");
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=7776000",
    ] {
        assert!(
            line.split("; ").any(|p| p == flag),
            "{flag} missing: {line}"
        );
    }
    assert!(!line.to_ascii_lowercase().contains("domain="), "{line}");

    // Forty wrong passwords at once from four addresses: the account locks.
    let statuses = flood(&app, "alice", &[2, 3, 4, 5], 10).await;
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    lock(&app, "alice").await;

    // A browser the account does not know is locked out, from a quiet address or a
    // flooding one, even with the right password and code — and costs no argon2.
    let before = app.app.vault.password_verifications();
    for last in [9, 2] {
        let r = right(&app, &from(&app, last), "alice", None).await;
        assert_throttled(r, "an untrusted browser during the flood").await;
    }
    let r = right(&app, &from(&app, 9), "alice", Some("")).await;
    assert_throttled(r, "an empty device cookie counts as none").await;
    assert_eq!(app.app.vault.password_verifications(), before, "argon2 ran");

    // The browser that signed in before gets in at once, also from a flooding address,
    // and is handed a fresh device cookie each time.
    let mut seen = vec![device.clone()];
    for last in [1, 2] {
        let r = right(&app, &from(&app, last), "alice", Some(&device)).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "trusted sign-in from 127.0.0.{last}"
        );
        let (fresh, _) = set_device_cookie(&r).expect("a new device cookie");
        assert!(!seen.contains(&fresh));
        seen.push(fresh);
    }
    // Its success did not unlock the account for the flood.
    let r = right(&app, &from(&app, 9), "alice", None).await;
    assert_throttled(r, "still locked for untrusted browsers").await;

    // No device token, nor its nonce or tag, rests anywhere in the data directory.
    let parts: Vec<String> = seen
        .iter()
        .flat_map(|t| t.split('.').skip(1).map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut markers: Vec<&[u8]> = seen.iter().map(|t| t.as_bytes()).collect();
    markers.extend(parts.iter().map(|p| p.as_bytes()));
    let hits = scan_for(app.data(), &markers);
    assert!(hits.is_empty(), "device tokens at rest: {hits:?}");
}

#[tokio::test]
async fn paced_failures_from_rotating_addresses_and_a_locked_address_spare_a_trusted_browser() {
    let app = spawn_app().await;
    let device = device_of(&app, "alice").await;
    // Ten failures, each from another address and paced past every delay: the
    // account's soft lock.
    for last in 2..12 {
        fail(&app, &from(&app, last), "alice", None).await;
    }
    let r = right(&app, &from(&app, 30), "alice", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) > 10 * 60, "the account is soft-locked");
    // And 127.0.0.20 is locked too (failures against other names from it: ten times
    // an account's lock, since one address is often a whole office).
    let flooder = from(&app, 20);
    let address_lock = app.settings.login.lock_after_failures * casevault::auth::ADDRESS_FACTOR;
    for n in 0..address_lock {
        fail(&app, &flooder, &format!("nobody-{n}"), None).await;
    }
    let r = right(&app, &flooder, "bob", None).await;
    assert_throttled(r, "another account from the locked address").await;

    // The trusted browser signs in from the locked address, into the locked account.
    let r = right(&app, &flooder, "alice", Some(&device)).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn forged_moved_and_revoked_device_cookies_give_no_exemption() {
    let app = spawn_app().await;
    let alice = device_of(&app, "alice").await;
    let pat = device_of(&app, "pat").await;
    flood(&app, "alice", &[2, 3, 4, 5], 10).await;
    lock(&app, "alice").await;

    let mut forged = Vec::new();
    // Another account's cookie.
    forged.push(pat.clone());
    // Alice's, with its nonce, its issue time or its tag altered.
    let parts: Vec<&str> = alice.split('.').collect();
    let swap = |s: &str| {
        let first = if s.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &s[1..])
    };
    forged.push(format!("{}.{}.{}", parts[0], swap(parts[1]), parts[2]));
    forged.push(format!(
        "{}.{}.{}",
        parts[0].parse::<i64>().unwrap() - 1,
        parts[1],
        parts[2]
    ));
    forged.push(format!("{}.{}.{}", parts[0], parts[1], swap(parts[2])));
    forged.push(format!("{}.{}", parts[1], parts[2]));
    forged.push("not-a-device-token".into());
    let before = app.app.vault.password_verifications();
    for f in &forged {
        let r = right(&app, &from(&app, 1), "alice", Some(f)).await;
        assert_throttled(r, &format!("forged cookie {f}")).await;
    }
    assert_eq!(app.app.vault.password_verifications(), before, "argon2 ran");

    // The real one works.
    let r = right(&app, &from(&app, 1), "alice", Some(&alice)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (fresh, _) = set_device_cookie(&r).unwrap();

    // A new password revokes every device of the account: after an administrator's
    // reset, the cookie that worked a moment ago gives no exemption.
    let admin = app.login("admin").await;
    let new_pw = "orchid-tundra-5-beacon-walnut";
    let r = admin
        .post(app.url(&format!("/users/{}/reset-password", app.user_id("alice"))))
        .json(&json!({"password": new_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let code = Some(app.code("alice"));
    let r = sign_in(&app, &from(&app, 1), "alice", new_pw, code, Some(&fresh)).await;
    assert_throttled(r, "a device cookie from before the reset").await;
}

#[tokio::test]
async fn a_device_cookies_own_failures_lock_that_device_only() {
    let app = spawn_app().await;
    let limit = app.settings.login.lock_after_failures as u64;
    let laptop = device_of(&app, "alice").await;
    let phone = device_of(&app, "alice").await;
    // Thirty wrong passwords at once with the laptop's cookie: at most the lock
    // threshold are evaluated, the rest are refused before argon2.
    let c = from(&app, 1);
    let before = app.app.vault.password_verifications();
    let guesses = (0..30).map(|i| {
        let (app, c, laptop) = (&app, &c, &laptop);
        async move {
            sign_in(app, c, "alice", &format!("wrong-{i}"), None, Some(laptop))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let evaluated = app.app.vault.password_verifications() - before;
    assert!(evaluated <= limit, "{evaluated} evaluated: {statuses:?}");
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(refused as u64, evaluated, "{statuses:?}");
    // Paced on to the lock, whatever the burst left.
    for _ in evaluated..limit {
        fail(&app, &c, "alice", Some(&laptop)).await;
    }
    // The laptop is locked, even with the right password and code, without argon2.
    let before = app.app.vault.password_verifications();
    let r = right(&app, &c, "alice", Some(&laptop)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) > 10 * 60, "the device is soft-locked");
    assert_eq!(app.app.vault.password_verifications(), before, "argon2 ran");
    // The phone, another device of the account, is not.
    let r = right(&app, &c, "alice", Some(&phone)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Nor is the account or the address: the laptop's failures counted on the laptop.
    let r = right(&app, &c, "alice", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = right(&app, &c, "bob", None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_sign_in_page_sets_a_device_cookie_that_signs_in_during_a_flood() {
    let app = spawn_app().await;
    // Signs in through the form, carrying cookies by hand; answers the response.
    let page_sign_in = |device: Option<String>| {
        let app = &app;
        async move {
            let c = from(app, 1);
            let r = c.get(url(app, "/login")).send().await.unwrap();
            let csrf_cookie = r
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("__Host-casevault_login="))
                .and_then(|v| v.split(';').next())
                .unwrap()
                .to_string();
            let html = r.text().await.unwrap();
            let token = hidden(&html, "login_csrf").unwrap();
            let mut cookie = format!("__Host-casevault_login={csrf_cookie}");
            if let Some(d) = device {
                cookie.push_str(&format!("; __Host-casevault_device={d}"));
            }
            let pw = app.creds.users["alice"].password.clone();
            c.post(url(app, "/login"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("login_csrf", token.as_str()),
                        ("username", "alice"),
                        ("password", &pw),
                        ("totp", &app.code("alice")),
                    ])
                    .unwrap(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    let r = page_sign_in(None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (device, line) = set_device_cookie(&r).expect("the page sets a device cookie");
    for flag in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=7776000",
    ] {
        assert!(
            line.split("; ").any(|p| p == flag),
            "{flag} missing: {line}"
        );
    }
    flood(&app, "alice", &[2, 3, 4, 5], 10).await;
    lock(&app, "alice").await;
    let r = page_sign_in(None).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "untrusted page sign-in"
    );
    let r = page_sign_in(Some(device)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "trusted page sign-in");
    assert_eq!(r.headers()["location"], "/cases");
}

#[tokio::test]
async fn a_signed_in_user_steps_up_while_a_flood_locks_their_account() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Flooded Step Up", None)
        .await;
    flood(&app, "alice", &[2, 3, 4, 5], 10).await;
    lock(&app, "alice").await;
    let r = right(&app, &from(&app, 9), "alice", None).await;
    assert_throttled(r, "the account is locked").await;
    // Past the step-up window: the share needs a code, and the lock does not stop it.
    app.clock.advance(11 * 60);
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read",
                      "expires_at": in_secs(&app, 86400), "totp": app.code("alice")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = right(&app, &from(&app, 9), "alice", None).await;
    assert_throttled(r, "still locked for sign-in").await;
}
