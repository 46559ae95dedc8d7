//! Office key custody, recovery (issue 23): k of n shares unseal, k−1 do not, a typo
//! is caught, a seal or 15 minutes cancel a collection, shares made again replace the
//! old set, and an office unsealed by shares can take new holders without anyone's
//! passphrase. The operator's commands on a copy of the data directory.
use casevault::crypto::Share;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::*;
use crate::backupkit::s;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

async fn make_shares(app: &TestApp, c: &Client, k: u8, n: u8, pass: &str) -> Vec<String> {
    let r = c
        .post(app.url("/offices/bronx/recovery"))
        .json(&json!({"threshold": k, "shares": n, "passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

async fn give(app: &TestApp, c: &Client, share: &str, totp: Option<String>) -> reqwest::Response {
    c.post(app.url("/offices/bronx/unseal"))
        .json(&json!({"share": share, "totp": totp}))
        .send()
        .await
        .unwrap()
}

async fn progress(r: reqwest::Response) -> (u64, u64) {
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    (v["have"].as_u64().unwrap(), v["need"].as_u64().unwrap())
}

async fn seal(app: &TestApp, c: &Client) {
    let r = c.post(app.url("/offices/bronx/seal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn k_of_n_shares_unseal_and_k_minus_one_do_not() {
    let app = spawn_app().await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let root = app.login("root").await;
    let b = create_and_enrol(
        &app,
        &root,
        json!({"username": "admin5", "role": "admin", "office": "bronx", "password": "a-long-admin-password-42"}),
    )
    .await;
    let c = create_and_enrol(
        &app,
        &root,
        json!({"username": "admin6", "role": "admin", "office": "bronx", "password": "a-long-admin-password-42"}),
    )
    .await;
    // A wrong proof makes nothing.
    let r = admin
        .post(app.url("/offices/bronx/recovery"))
        .json(&json!({"threshold": 2, "shares": 3, "passphrase": "not-a-holder-secret-at-all"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    for (k, n) in [(1, 3), (4, 3), (2, 17)] {
        let r = admin
            .post(app.url("/offices/bronx/recovery"))
            .json(&json!({"threshold": k, "shares": n, "passphrase": pass}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_recovery").await;
    }
    let shares = make_shares(&app, &admin, 2, 3, &pass).await;
    assert_eq!(shares.len(), 3);
    let sets: Vec<String> = shares
        .iter()
        .map(|l| Share::parse(l).unwrap().set)
        .collect();
    assert!(sets.iter().all(|s| *s == sets[0]));
    let r = admin
        .get(app.url("/offices/bronx/holders"))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["holders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "recovery" && h["state"] == "active"),
        "{v}"
    );
    // No share rests on disk.
    let found = scan_for(
        app.data(),
        &shares.iter().map(|l| l.as_bytes()).collect::<Vec<_>>(),
    );
    assert!(found.is_empty(), "{found:?}");

    seal(&app, &admin).await;
    // A share made up with the set's name and a fitting checksum is refused by name,
    // and does not count (nor take a share number).
    let set = Share::parse(&shares[0]).unwrap().set;
    let forged = casevault::crypto::RecoverySecret::generate()
        .split(2, 3, &set)
        .unwrap();
    assert!(
        Share::parse(&forged[1]).is_ok(),
        "the forgery reads as a share"
    );
    let r = give(&app, &b.client, &forged[1], None).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_share").await;
    // A typo is caught by the checksum and counts for nothing.
    let mut typo = shares[0].clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'a' { 'b' } else { 'a' });
    let r = give(&app, &admin, &typo, None).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_share").await;
    // One share (k−1) leaves the office sealed.
    assert_eq!(
        progress(give(&app, &admin, &shares[0], None).await).await,
        (1, 2)
    );
    assert!(!app.app.vault.is_unsealed("bronx"));
    // The same administrator, or the same share again, counts once.
    let r = give(&app, &admin, &shares[1], None).await;
    assert_error(r, StatusCode::CONFLICT, "share_already_given").await;
    let r = give(&app, &b.client, &shares[0], None).await;
    assert_error(r, StatusCode::CONFLICT, "share_already_given").await;
    assert!(!app.app.vault.is_unsealed("bronx"));
    // A seal cancels the collection: the next share starts again at one.
    seal(&app, &admin).await;
    assert_eq!(
        progress(give(&app, &b.client, &shares[1], None).await).await,
        (1, 2)
    );
    // Fifteen minutes cancel it too (everyone signs in again: sessions went idle).
    app.clock.advance(16 * 60);
    let (admin, b_client, c_client) = (
        app.login("admin").await,
        login_account(&app, &b).await,
        login_account(&app, &c).await,
    );
    assert_eq!(
        progress(give(&app, &c_client, &shares[2], None).await).await,
        (1, 2)
    );
    // The k-th share from another administrator unseals.
    let r = give(&app, &b_client, &shares[0], None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(app.app.vault.is_unsealed("bronx"));
    let last = audit_rows(&app)
        .into_iter()
        .rev()
        .find(|e| e.action == "unseal_office")
        .unwrap();
    assert!(last.outcome.starts_with("ok holder=") && last.outcome.ends_with("shares=2"));
    assert!(audit_rows(&app).iter().all(|e| {
        shares
            .iter()
            .all(|l| !e.outcome.contains(&l[10..20]) && !e.target.contains(&l[10..20]))
    }));

    // Unsealed by shares: an administrator who gave none may not invite without a
    // passphrase; one who gave a share may (the way back when every holder is gone).
    let r = admin
        .post(app.url("/offices/bronx/holders"))
        .json(&json!({"username": "admin"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "passphrase_required").await;
    let r = c_client
        .post(app.url("/offices/bronx/holders"))
        .json(&json!({"username": "admin6"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Unsealed by a passphrase, it takes one again.
    seal(&app, &admin).await;
    let r = admin
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = admin
        .post(app.url("/offices/bronx/holders"))
        .json(&json!({"username": "admin5"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "passphrase_required").await;

    // Shares made again replace the old set (and rotate the office key).
    let r = admin
        .post(app.url("/offices/bronx/recovery"))
        .json(&json!({"threshold": 2, "shares": 2, "passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let fresh: Vec<String> = r.json::<Value>().await.unwrap()["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    seal(&app, &admin).await;
    let r = give(&app, &admin, &shares[0], None).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_share").await;
    assert_eq!(
        progress(give(&app, &admin, &fresh[0], None).await).await,
        (1, 2)
    );
    let r = give(&app, &b_client, &fresh[1], None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(count(app.data(), "office_holders", "kind = 'recovery'"), 1);
}

#[tokio::test]
async fn the_operator_lists_holders_rotates_and_makes_shares_on_the_command_line() {
    let app = spawn_app().await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Cli Holder", Some("A975318642"))
        .await;
    // Not beside a running server (it would keep the old key in memory): the test
    // holds the lock `casevault serve` holds.
    let serving = casevault::store::ServeLock::acquire(app.data()).unwrap();
    let o = cli(
        &[
            "office",
            "rotate",
            "--data",
            s(app.data()),
            "--office",
            "bronx",
        ],
        &[("CASEVAULT_PASSPHRASE", pass.as_str())],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already being served"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    drop(serving);
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("copy");
    copy_tree(app.data(), &copy);
    drop(app);

    let o = cli(
        &["office", "holders", "--data", s(&copy), "--office", "bronx"],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("(office passphrase)"), "{}", stdout(&o));
    let before = office_key_from_db(&copy, "bronx", &pass);
    let o = cli(
        &["office", "rotate", "--data", s(&copy), "--office", "bronx"],
        &[("CASEVAULT_PASSPHRASE", pass.as_str())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("1 case(s) re-wrapped"),
        "{}",
        stdout(&o)
    );
    let after = office_key_from_db(&copy, "bronx", &pass);
    assert_ne!(before.recipient(), after.recipient());
    let o = cli(
        &["office", "rotate", "--data", s(&copy), "--office", "bronx"],
        &[("CASEVAULT_PASSPHRASE", "a-wrong-passphrase-for-this")],
    );
    assert!(!o.status.success());
    let o = cli(
        &[
            "office",
            "recovery",
            "--data",
            s(&copy),
            "--office",
            "bronx",
            "--threshold",
            "2",
            "--shares",
            "3",
        ],
        &[("CASEVAULT_PASSPHRASE", pass.as_str())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<Share> = stdout(&o)
        .lines()
        .filter_map(|l| Share::parse(l).ok())
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    // The case still opens after the rotation.
    let db = raw_db(&copy);
    let wrapped: Vec<u8> = db
        .query_row(
            "SELECT wrapped_identity FROM cases WHERE id = ?1",
            [&case],
            |r| r.get(0),
        )
        .unwrap();
    assert!(after.unwrap_case(&wrapped).is_ok());
    assert!(before.unwrap_case(&wrapped).is_err());
}

#[tokio::test]
async fn the_office_page_shows_the_holders_and_walks_through_custody() {
    use crate::pagekit::*;
    let app = spawn_app().await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = page_sign_in(&app, "admin").await;
    let office = format!("{}/admin", app.base);
    let (status, _, html) = get_page(&admin, &office).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Who holds the office key"), "{html}");
    assert!(html.contains("Office passphrase"));
    assert!(!html.contains("age1"), "no recipient on the page");
    // Invite themself with the office passphrase (a wrong one is refused, in words).
    let (s1, _, body) = post_form(
        &admin,
        &html,
        &format!("{office}/offices/bronx/holders"),
        &[
            ("username", "admin"),
            ("passphrase", "wrong-passphrase-here-123"),
            ("totp", &app.code("admin")),
        ],
    )
    .await;
    assert_eq!(s1, StatusCode::BAD_REQUEST);
    assert!(body.contains("does not open this office"), "{body}");
    let (s2, to, _) = post_form(
        &admin,
        &html,
        &format!("{office}/offices/bronx/holders"),
        &[
            ("username", "admin"),
            ("passphrase", &pass),
            ("totp", &app.code("admin")),
        ],
    )
    .await;
    assert_eq!(
        (s2, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=holder_invited")
    );
    let (_, _, html) = get_page(&admin, &office).await;
    assert!(html.contains("Set up my key"), "{html}");
    let (s3, _, page) = post_form(
        &admin,
        &html,
        &format!("{}/admin/holder-key", app.base),
        &[("office", "bronx"), ("totp", &app.code("admin"))],
    )
    .await;
    assert_eq!(s3, StatusCode::OK);
    assert!(page.contains("shown only this once"), "{page}");
    // Recovery shares, shown once on the answer.
    let (_, _, html) = get_page(&admin, &office).await;
    let (s4, _, page) = post_form(
        &admin,
        &html,
        &format!("{office}/offices/bronx/recovery"),
        &[
            ("threshold", "2"),
            ("shares", "3"),
            ("passphrase", &pass),
            ("totp", &app.code("admin")),
        ],
    )
    .await;
    assert_eq!(s4, StatusCode::OK);
    let lines: Vec<String> = page
        .split("<code>")
        .skip(1)
        .filter_map(|p| p.split("</code>").next())
        .filter(|l| Share::parse(l).is_ok())
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 3, "{page}");
    // Sealed: one share in, the page says how many are still needed.
    let (_, _, html) = get_page(&admin, &office).await;
    let (s5, _, _) = post_form(&admin, &html, &format!("{office}/offices/bronx/seal"), &[]).await;
    assert_eq!(s5, StatusCode::SEE_OTHER);
    let (_, _, html) = get_page(&admin, &office).await;
    assert!(html.contains("Unseal with a recovery share"), "{html}");
    let (s6, _, page) = post_form(
        &admin,
        &html,
        &format!("{office}/offices/bronx/unseal-share"),
        &[("share", &lines[0]), ("totp", &app.code("admin"))],
    )
    .await;
    assert_eq!(s6, StatusCode::OK);
    assert!(page.contains("1 of 2"), "{page}");
    assert!(!app.app.vault.is_unsealed("bronx"));
    // And the holder list, unsealed again with the admin's own passphrase, rotates.
    let (s7, _, _) = post_form(
        &admin,
        &page,
        &format!("{office}/offices/bronx/unseal"),
        &[("passphrase", &pass), ("totp", &app.code("admin"))],
    )
    .await;
    assert_eq!(s7, StatusCode::SEE_OTHER);
    let (_, _, html) = get_page(&admin, &office).await;
    let (s8, to, _) = post_form(
        &admin,
        &html,
        &format!("{office}/offices/bronx/rotate"),
        &[("totp", &app.code("admin"))],
    )
    .await;
    assert_eq!(
        (s8, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=rotated")
    );
}
