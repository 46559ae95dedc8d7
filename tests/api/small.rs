//! Issue 9, items 6, 7, 10 and 12, probed from outside as the attack did: a recovery
//! code is no fresh second factor; only real key use holds off the idle auto-seal;
//! no time a client writes makes the server panic; no filename carries an invisible
//! formatting character, through the API or the page.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;
use crate::pagekit::{hidden, page_sign_in as sign_in_page};

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

// ---------------------------------------------------------------------------------
// Item 7: only a use of the keys holds off the idle auto-seal.

#[tokio::test]
async fn polling_the_office_list_does_not_hold_off_the_idle_seal() {
    let app = spawn_app().await;
    let idle = i64::from(app.settings.seal.idle_minutes) * 60;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Polled Client", None)
        .await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // From now on nobody uses a key: a dashboard polls the office list and the admin
    // page (each poll also keeps its session alive) for a whole idle period.
    let admin = app.login("admin").await;
    let mut polled = 0;
    while polled < idle {
        app.clock.advance(600);
        polled += 600;
        let r = admin.get(app.url("/offices")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert!(v.to_string().contains("bronx"), "{v}");
        let r = admin
            .get(format!("{}/admin", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(app.app.vault.is_unsealed("bronx"));
    }

    let mut sealed = app.app.vault.seal_idle().await.unwrap();
    sealed.sort();
    assert_eq!(sealed, vec!["bronx".to_string(), "queens".to_string()]);
    assert!(!app.app.vault.is_unsealed("bronx"));
    assert_eq!(
        count(app.data(), "audit", "action = 'auto_seal'"),
        2,
        "each auto-seal is audited"
    );
    let alice = app.login("alice").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;
}

// ---------------------------------------------------------------------------------
// Item 10: every time a client writes parses, or answers 400; never a panic.

/// Times RFC 3339 cannot write back in UTC, or not RFC 3339 at all.
const BAD_TIMES: &[&str] = &[
    // The probe: 23:59:59 at -23:59 on the last day RFC 3339 writes is year 10000.
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59-00:01",
    "9999-12-31T23:59:60-23:59",
    // Year 0 east of Greenwich is year -1.
    "0000-01-01T00:00:00+00:01",
    "0000-01-01T00:00:00+23:59",
    // Offsets no clock has.
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00+99:99",
    "2026-01-01T00:00:00-23:60",
    "2026-01-01T00:00:00+9999999999:00",
    // A leap second that was none, and a day that is none.
    "2026-06-15T12:00:60Z",
    "2026-02-30T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "9999999999-01-01T00:00:00Z",
    "2026-01-01T00:00:00",
    "",
];

/// Times at the edges that are valid: each is read as the UTC instant it names.
const GOOD_TIMES: &[&str] = &[
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59+23:59",
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00-23:59",
    "2026-01-01T00:00:00-00:00",
    "2016-12-31T23:59:60Z",
    "2016-12-31T18:59:60-05:00",
];

#[tokio::test]
async fn audit_time_filters_answer_400_never_500() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let audit = |k: &'static str, v: String| {
        admin
            .get(app.url("/audit"))
            .query(&[(k, v.as_str())])
            .send()
    };
    let long = format!("2026-01-01T00:00:00.{}Z", "9".repeat(5000));
    for param in ["since", "until"] {
        for t in BAD_TIMES
            .iter()
            .map(|t| t.to_string())
            .chain([long.clone()])
        {
            let r = audit(param, t.clone()).await.unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{param}={t:.60}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "invalid_query", "{param}={t:.60}");
            // The refusal does not repeat what was sent.
            let m = v["error"]["message"].as_str().unwrap();
            assert!(!m.contains("9999") && !m.contains("0000"), "{m}");
        }
        for t in GOOD_TIMES {
            let r = audit(param, t.to_string()).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{param}={t}");
        }
    }
    // The valid edges mean what they say.
    let entries = |r: Value| r["entries"].as_array().unwrap().len();
    let r = audit("since", "0000-01-01T00:00:00-23:59".into())
        .await
        .unwrap();
    assert!(entries(r.json().await.unwrap()) > 0);
    let r = audit("since", "9999-12-31T23:59:59+23:59".into())
        .await
        .unwrap();
    assert_eq!(entries(r.json().await.unwrap()), 0);
    let r = audit("until", "0000-01-01T00:00:00Z".into()).await.unwrap();
    assert_eq!(entries(r.json().await.unwrap()), 0);
    let r = audit("until", "9999-12-31T23:59:59Z".into()).await.unwrap();
    assert!(entries(r.json().await.unwrap()) > 0);
}

#[tokio::test]
async fn share_expiry_times_answer_400_never_500() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Share Times", None).await;
    let share = |expires_at: &str| {
        alice
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&json!({"username": "pat", "permission": "read", "expires_at": expires_at}))
            .send()
    };
    for t in BAD_TIMES {
        let r = share(t).await.unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_time").await;
    }
    // A time in the past is refused as such, and so is one past the year a share may
    // run (policy `[sharing] max_share_days`); a valid one is kept as written, and
    // sharing again changes that one share.
    let r = share("0000-01-01T00:00:00-23:59").await.unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_time").await;
    let r = share("9999-12-31T23:59:59+23:59").await.unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_time").await;
    let r = share("2027-06-30T12:00:00-00:00").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = share("2027-01-31T23:59:59+23:59").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expiries: Vec<String> = v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["expires_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expiries, ["2027-01-31T00:00:59Z"]);
    // No share was made from a refused time.
    assert_eq!(count(app.data(), "shares", "1 = 1"), 1);
}

#[tokio::test]
async fn page_date_fields_answer_without_a_500() {
    let app = spawn_app().await;
    let admin = sign_in_page(&app, "admin").await;
    for day in [
        "9999-12-31",
        "0000-01-01",
        "+999-01-01",
        "-999-01-01",
        "2026-02-30",
        "2026-13-01",
        "99999-01-01",
        "",
    ] {
        for field in ["from", "to"] {
            let r = admin
                .get(format!("{}/audit", app.base))
                .query(&[(field, day)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{field}={day}");
        }
    }
}

// ---------------------------------------------------------------------------------
// Item 12: no invisible formatting character in a filename, by any route.

/// Names that display as something they are not, or hide part of themselves.
fn spoofed_names() -> Vec<String> {
    [
        '\u{202E}', // right-to-left override: "invoice{U+202E}fdp.exe" shows as "invoiceexe.pdf"
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{FEFF}',
        '\u{061C}',
        '\u{180E}',
        '\u{00AD}',
        '\u{2028}',
        '\u{2029}',
        '\u{E0041}',
        '\u{0085}',
        '\u{0007}',
    ]
    .iter()
    .map(|c| format!("invoice{c}fdp.exe"))
    .collect()
}

#[tokio::test]
async fn api_upload_refuses_invisible_format_characters_in_filenames() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Spoofed Names", None)
        .await;
    for name in spoofed_names() {
        let r = app.upload(&alice, &case, &name, bytes(100, 1)).await;
        let v = assert_error(r, StatusCode::BAD_REQUEST, "invalid_filename").await;
        assert!(!v.to_string().contains("invoice"), "{v}");
    }
    // Nothing was stored; a name in any script without such characters still is.
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    app.upload_ok(&alice, &case, "فاتورة.pdf", bytes(100, 2))
        .await;
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

#[tokio::test]
async fn page_upload_refuses_invisible_format_characters_in_filenames() {
    let app = spawn_app().await;
    let alice = sign_in_page(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Spoofed Page", None).await;
    let url = format!("{}/cases/{case}/documents", app.base);
    for name in spoofed_names() {
        let html = alice
            .get(format!("{}/cases/{case}", app.base))
            .send()
            .await
            .unwrap();
        let token = hidden(&html.text().await.unwrap(), "csrf").expect("csrf field");
        let r = alice
            .post(&url)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(&token, &name, b"%PDF-1.4 not really"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name:?}");
        // A raw control byte already breaks the part header (a malformed form); every
        // other name reaches the filename check and is refused by it.
        if !name.contains('\u{7}') {
            let page = r.text().await.unwrap();
            assert!(page.contains("invisible formatting"), "{name:?}");
        }
    }
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    // The same form with a plain name stores the file.
    let html = alice
        .get(format!("{}/cases/{case}", app.base))
        .send()
        .await
        .unwrap();
    let token = hidden(&html.text().await.unwrap(), "csrf").unwrap();
    let r = alice
        .post(&url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(&token, "invoice.pdf", b"%PDF-1.4 not really"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

// ---------------------------------------------------------------------------------
// Page helpers (a browser without JavaScript).

const BOUNDARY: &str = "----casevaultsmallboundary";

/// The no-JavaScript upload form's body: the CSRF field, then the file part with
/// the filename as a browser sends it (UTF-8 in the part header).
fn multipart(token: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}
