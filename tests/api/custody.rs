//! Office key custody (issue 23): key holders with their own passphrases, removal and
//! rotation of the office key, old backups after a removal, the office passphrase of
//! an office from before holders.
use age::secrecy::SecretString;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::*;
use crate::backupkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

const STRONG: &str = "a-long-admin-password-42";

/// A second administrator of bronx, made by the superadmin and enrolled.
async fn second_admin(app: &TestApp, name: &str) -> Account {
    let root = app.login("root").await;
    create_and_enrol(
        app,
        &root,
        json!({"username": name, "role": "admin", "office": "bronx", "password": STRONG}),
    )
    .await
}

async fn invite(app: &TestApp, by: &Client, username: &str, proof: &str) -> reqwest::Response {
    by.post(app.url("/offices/bronx/holders"))
        .json(&json!({"username": username, "passphrase": proof}))
        .send()
        .await
        .unwrap()
}

/// Sets up the caller's holder key; its id and passphrase.
async fn set_up_key(app: &TestApp, c: &Client) -> (String, String, String) {
    let r = c
        .post(app.url("/me/holder-key"))
        .json(&json!({"office": "bronx"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["id"].as_str().unwrap().to_string(),
        v["passphrase"].as_str().unwrap().to_string(),
        v["state"].as_str().unwrap().to_string(),
    )
}

async fn unseal(app: &TestApp, c: &Client, passphrase: &str) -> reqwest::Response {
    c.post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": passphrase}))
        .send()
        .await
        .unwrap()
}

async fn seal(app: &TestApp, c: &Client) {
    let r = c.post(app.url("/offices/bronx/seal")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

async fn holders(app: &TestApp, c: &Client) -> Vec<Value> {
    let r = c
        .get(app.url("/offices/bronx/holders"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["holders"].as_array().unwrap().clone()
}

/// `casevault export` of a case from a data directory with a passphrase; whether it
/// opened the office.
fn export_opens(
    data: &std::path::Path,
    case: &str,
    passphrase: &str,
    scratch: &std::path::Path,
) -> bool {
    let ident = casevault::crypto::BackupIdentity::generate();
    let pf = scratch.join(format!("pass-{}", uuid::Uuid::new_v4()));
    std::fs::write(&pf, passphrase).unwrap();
    let out = scratch.join(format!("export-{}", uuid::Uuid::new_v4()));
    let o = cli(
        &[
            "export",
            "--data",
            s(data),
            "--case",
            case,
            "--to",
            &ident.recipient(),
            "--out",
            s(&out),
            "--passphrase-file",
            s(&pf),
        ],
        &[],
    );
    if !o.status.success() {
        eprintln!("export: {}", String::from_utf8_lossy(&o.stderr));
    }
    o.status.success()
}

#[tokio::test]
async fn two_holders_unseal_with_their_own_passphrases_and_a_removed_one_opens_nothing() {
    let app = spawn_app().await;
    let office_pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Holder Test", Some("A246813579"))
        .await;
    let second = second_admin(&app, "admin2").await;

    // The office passphrase proves a holder secret: admin invites admin2 and themself.
    let r = invite(&app, &admin, "admin2", &office_pass).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id_b = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = invite(&app, &admin, "admin", &office_pass).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = invite(&app, &admin, "admin2", &office_pass).await;
    assert_error(r, StatusCode::CONFLICT, "already_holder").await;
    let (id_a, pass_a, state_a) = set_up_key(&app, &admin).await;
    assert_eq!(state_a, "active", "the office was unsealed: joined at once");
    let (id_b2, pass_b, _) = set_up_key(&app, &second.client).await;
    assert_eq!(id_b, id_b2);
    assert_ne!(pass_a, pass_b);
    // Set up once only.
    let r = second
        .client
        .post(app.url("/me/holder-key"))
        .json(&json!({"office": "bronx"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "not_invited").await;
    let list = holders(&app, &admin).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert!(list.iter().all(|h| h["state"] == "active"), "{list:?}");
    assert!(
        !serde_json::to_string(&list).unwrap().contains("age1"),
        "no recipient in the list"
    );

    // Each unseals with their own passphrase; neither with the other's.
    for (c, own, other, id) in [
        (&admin, &pass_a, &pass_b, &id_a),
        (&second.client, &pass_b, &pass_a, &id_b),
    ] {
        seal(&app, &admin).await;
        let r = unseal(&app, c, other).await;
        assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
        assert!(!app.app.vault.is_unsealed("bronx"));
        let r = unseal(&app, c, own).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let last = audit_rows(&app)
            .into_iter()
            .rev()
            .find(|e| e.action == "unseal_office")
            .unwrap();
        assert_eq!(last.outcome, format!("ok holder={id}"));
    }
    // The office passphrase still unseals, for anyone of the office's admins.
    seal(&app, &admin).await;
    assert_eq!(
        unseal(&app, &second.client, &office_pass).await.status(),
        StatusCode::NO_CONTENT
    );

    // Remove admin2: the office key rotates.
    let r = admin
        .delete(app.url(&format!("/offices/bronx/holders/{id_b}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rotated"], true);
    assert!(v["cases"].as_u64().unwrap() >= 1);
    assert_eq!(holders(&app, &admin).await.len(), 2);
    // The case still reads and is still found by its A-number.
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = alice
        .get(app.url("/cases?a_number=246813579"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["cases"][0]["id"], case.as_str());

    seal(&app, &admin).await;
    let r = unseal(&app, &second.client, &pass_b).await;
    assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    assert_eq!(
        unseal(&app, &admin, &pass_a).await.status(),
        StatusCode::NO_CONTENT
    );

    // A copy of the data directory taken now opens with the removed holder's
    // passphrase nothing; with a current one, the case.
    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("copy");
    copy_tree(app.data(), &copy);
    assert!(!export_opens(&copy, &case, &pass_b, scratch.path()));
    assert!(export_opens(&copy, &case, &pass_a, scratch.path()));
    assert!(export_opens(&copy, &case, &office_pass, scratch.path()));

    // No passphrase rests anywhere in the data directory.
    let found = scan_for(
        app.data(),
        &[pass_a.as_bytes(), pass_b.as_bytes(), office_pass.as_bytes()],
    );
    assert!(found.is_empty(), "a passphrase on disk: {found:?}");
    // The office's administrators see the custody entries in their audit view.
    let v: Value = admin
        .get(app.url("/audit?action=manage_holders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !v["entries"].as_array().unwrap().is_empty(),
        "custody entries hidden from the office's view: {v}"
    );
    let rows = audit_rows(&app);
    for action in ["manage_holders", "hold_office_key"] {
        assert!(
            rows.iter()
                .any(|e| e.action == action && e.outcome.starts_with("ok")),
            "{action} audited"
        );
    }
}

#[tokio::test]
async fn an_admin_without_a_holder_secret_makes_nobody_a_holder() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let second = second_admin(&app, "admin3").await;
    let before = holders(&app, &admin).await;
    // admin3 knows no holder secret: neither a guess, nor their own password, nor
    // another office's passphrase proves one; they cannot invite themselves.
    for proof in [
        "guessed-office-passphrase-1234",
        STRONG,
        app.creds.offices["queens"].passphrase.as_str(),
    ] {
        let r = invite(&app, &second.client, "admin3", proof).await;
        assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    }
    let r = second
        .client
        .post(app.url("/me/holder-key"))
        .json(&json!({"office": "bronx"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "not_invited").await;
    assert_eq!(holders(&app, &admin).await, before);
    // Only an administrator of the office can be invited.
    let pass = app.creds.offices["bronx"].passphrase.clone();
    for who in ["alice", "bob", "root", "nobody-here"] {
        let r = invite(&app, &admin, who, &pass).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_holder").await;
    }
    // The office passphrase is the only way in: it cannot be removed.
    let only = before[0]["id"].as_str().unwrap().to_string();
    let r = admin
        .delete(app.url(&format!("/offices/bronx/holders/{only}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "last_holder").await;
    // Rotation needs the office unsealed.
    seal(&app, &admin).await;
    let r = admin
        .post(app.url("/offices/bronx/rotate"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::LOCKED);
    // Another office's holders are not this admin's to see.
    let r = admin
        .get(app.url("/offices/queens/holders"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn after_a_rotation_every_case_reads_and_is_found_and_the_old_key_opens_nothing() {
    let app = spawn_app().await;
    let office_pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let mut cases = Vec::new();
    for i in 0..12u64 {
        let a = format!("A{:09}", 100_000_000 + i);
        let case = app
            .create_case(&alice, "bronx", &format!("Rotate Person{i}"), Some(&a))
            .await;
        let doc = app
            .upload_ok(&alice, &case, "r.pdf", bytes(20_000, i))
            .await;
        cases.push((case, a, doc, bytes(20_000, i)));
    }
    // An office-wide hold with a reason (sealed to the office key).
    let r = admin
        .put(app.url("/offices/bronx/hold"))
        .json(&json!({"reason": "rotation-hold-reason"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "hold: {}", r.status());
    // The test keeps the old office identity and the old wrapped case identities.
    let old = office_key_from_db(app.data(), "bronx", &office_pass);
    let old_wrapped: Vec<Vec<u8>> = {
        let db = raw_db(app.data());
        let mut st = db
            .prepare("SELECT wrapped_identity FROM cases WHERE office = 'bronx'")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(old.unwrap_case(&old_wrapped[0]).is_ok());

    let r = admin
        .post(app.url("/offices/bronx/rotate"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cases"].as_u64().unwrap(), old_wrapped.len() as u64);

    for (case, a, doc, body) in &cases {
        let r = alice
            .get(app.url(&format!("/cases/{case}/documents/{doc}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(&r.bytes().await.unwrap()[..], &body[..]);
        let digits = &a[1..];
        let v: Value = alice
            .get(app.url(&format!("/cases?a_number={digits}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["cases"][0]["id"], case.as_str(), "search for {a}");
    }
    // After a restart (keys from the holders' file again) too.
    let new = office_key_from_db(app.data(), "bronx", &office_pass);
    assert_ne!(new.recipient(), old.recipient());
    let db = raw_db(app.data());
    let mut st = db
        .prepare("SELECT wrapped_identity FROM cases WHERE office = 'bronx'")
        .unwrap();
    let now: Vec<Vec<u8>> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(now.len(), old_wrapped.len());
    for w in &now {
        assert!(old.unwrap_case(w).is_err(), "the old key opens a case key");
        assert!(new.unwrap_case(w).is_ok());
    }
    let reason: Vec<u8> = db
        .query_row(
            "SELECT reason FROM hold_events WHERE office = 'bronx' AND case_id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(old.open(&reason).is_err());
    assert_eq!(&new.open(&reason).unwrap()[..], b"rotation-hold-reason");
    // The old wrapped copies are nowhere in the files (overwritten, WAL truncated).
    let markers: Vec<&[u8]> = old_wrapped.iter().map(|w| &w[w.len() - 48..]).collect();
    let found = scan_for(app.data(), &markers);
    assert!(
        found.is_empty(),
        "an old wrapped case key remains: {found:?}"
    );
    // An audit entry says how many cases.
    assert!(audit_rows(&app).iter().any(|e| e.action == "manage_holders"
        && e.target.ends_with("rotate")
        && e.outcome == format!("ok cases={}", old_wrapped.len())));
}

#[tokio::test]
async fn an_old_backup_opens_for_a_current_holder_and_not_for_a_removed_one() {
    let app = spawn_app().await;
    let office_pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Backup Holder", None)
        .await;
    app.upload_ok(&alice, &case, "b.pdf", bytes(10_000, 7))
        .await;
    let second = second_admin(&app, "admin4").await;
    assert_eq!(
        invite(&app, &admin, "admin", &office_pass).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        invite(&app, &admin, "admin4", &office_pass).await.status(),
        StatusCode::CREATED
    );
    let (_, pass_a, _) = set_up_key(&app, &admin).await;
    let (id_b, pass_b, _) = set_up_key(&app, &second.client).await;

    let scratch = tempfile::tempdir().unwrap();
    let (ident, idf) = identity_file(scratch.path(), "k");
    let target = scratch.path().join("t");
    let op = casevault::vault::operator::actor();
    let made = app
        .app
        .vault
        .backup_create(
            &op,
            request(target.clone(), ident.recipient()),
            casevault::backup::progress::Progress::silent(),
        )
        .await
        .unwrap();
    // Before the removal, the backup opens for both.
    let before = scratch.path().join("before");
    assert!(
        restore(&target, &idf, Some(&made.id), &before)
            .status
            .success()
    );
    assert!(export_opens(&before, &case, &pass_b, scratch.path()));

    let r = admin
        .delete(app.url(&format!("/offices/bronx/holders/{id_b}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The same backup, restored after the removal rewrote the ledger.
    let after = scratch.path().join("after");
    let o = restore(&target, &idf, Some(&made.id), &after);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(export_opens(&after, &case, &pass_a, scratch.path()));
    assert!(
        !export_opens(&after, &case, &pass_b, scratch.path()),
        "a removed holder opens an earlier backup"
    );
    assert_eq!(
        count(
            &after,
            "office_holders",
            "user_id IS NOT NULL AND kind = 'passphrase'"
        ),
        1
    );
}

#[tokio::test]
async fn an_office_from_before_holders_becomes_its_first_holder_at_unseal() {
    let app = spawn_app().await;
    let office_pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Legacy Person", Some("A135792468"))
        .await;
    // Put bronx back the way an older version stored it: the office identity wrapped
    // under the office passphrase, no holders.
    let key = office_key_from_db(app.data(), "bronx", &office_pass);
    let wrapped = key
        .wrap_with_passphrase(&SecretString::from(office_pass.clone()), 10)
        .unwrap();
    seal(&app, &admin).await;
    {
        let db = raw_db(app.data());
        db.execute("DELETE FROM office_holders WHERE office = 'bronx'", [])
            .unwrap();
        db.execute(
            "UPDATE offices SET wrapped_identity = ?1, custody = 'passphrase' WHERE slug = 'bronx'",
            [wrapped],
        )
        .unwrap();
    }
    assert!(holders(&app, &admin).await.is_empty());
    let r = unseal(&app, &admin, "not-the-office-passphrase-at-all").await;
    assert_error(r, StatusCode::BAD_REQUEST, "unseal_failed").await;
    assert_eq!(
        unseal(&app, &admin, &office_pass).await.status(),
        StatusCode::NO_CONTENT
    );
    let list = holders(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "office");
    assert_eq!(list[0]["state"], "active");
    assert_eq!(
        count(
            app.data(),
            "offices",
            "slug = 'bronx' AND custody = 'holders'"
        ),
        1
    );
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    seal(&app, &admin).await;
    assert_eq!(
        unseal(&app, &admin, &office_pass).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn edits_racing_a_rotation_leave_every_case_found_by_what_it_says() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let mut cases = Vec::new();
    for i in 0..40u64 {
        let a = format!("A{:09}", 300_000_000 + i);
        cases.push(
            app.create_case(&alice, "bronx", &format!("Race Person{i}"), Some(&a))
                .await,
        );
    }
    // Edits of ten cases' A-numbers run while two rotations do.
    let editor = {
        let (alice, cases, url) = (alice.clone(), cases.clone(), app.url(""));
        tokio::spawn(async move {
            let mut refused = 0;
            for round in 0..6u64 {
                for (i, c) in cases.iter().take(10).enumerate() {
                    let a = format!("A{:09}", 400_000_000 + round * 100 + i as u64);
                    let r = alice
                        .patch(format!("{url}/cases/{c}"))
                        .json(&json!({"a_number": a}))
                        .send()
                        .await
                        .unwrap();
                    match r.status().as_u16() {
                        200 | 204 => {}
                        409 => refused += 1,
                        s => panic!("edit answered {s}"),
                    }
                }
            }
            refused
        })
    };
    for _ in 0..2 {
        let r = admin
            .post(app.url("/offices/bronx/rotate"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let refused = editor.await.unwrap();
    eprintln!("edits refused during the rotations: {refused}");
    for c in &cases {
        let v: Value = alice
            .get(app.url(&format!("/cases/{c}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let a = v["metadata"]["a_number"].as_str().unwrap().to_string();
        let digits: String = a.chars().filter(char::is_ascii_digit).collect();
        let found: Value = alice
            .get(app.url(&format!("/cases?a_number={digits}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = found["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![c.as_str()], "search for {a}");
    }
}

#[tokio::test]
async fn a_disabled_holder_is_no_way_in_and_guessing_holder_secrets_is_throttled() {
    let app = spawn_app().await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let admin = app.login("admin").await;
    let second = second_admin(&app, "admin7").await;
    assert_eq!(
        invite(&app, &admin, "admin7", &pass).await.status(),
        StatusCode::CREATED
    );
    set_up_key(&app, &second.client).await;
    let list = holders(&app, &admin).await;
    let office_holder = list.iter().find(|h| h["kind"] == "office").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // admin7's account is disabled: removing the office passphrase would leave no
    // one able to unseal.
    let root = app.login("root").await;
    let r = root
        .post(app.url(&format!("/users/{}/disable", second.id)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = admin
        .delete(app.url(&format!("/offices/bronx/holders/{office_holder}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "last_holder").await;
    // Wrong holder secrets, over and over: after a few, the account waits (429).
    seal(&app, &admin).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = unseal(&app, &admin, &format!("a-wrong-holder-passphrase-{i}")).await;
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 400 || *s == 429),
        "{statuses:?}"
    );
}
