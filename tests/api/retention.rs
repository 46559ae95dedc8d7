//! Retention with a manual clock, and the panic seal from the command line (issue 4).
use casevault::remote::Target;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::lifecycle_helpers::*;

const DAY: i64 = 24 * 3600;

#[tokio::test]
async fn retention_purges_only_closed_unheld_cases_past_their_window() {
    let app = spawn_app().await;
    assert_eq!(app.settings.retention.closed_case_days, 365);
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let old = app.create_case(&alice, "bronx", "Old Closed", None).await;
    app.upload_ok(&alice, &old, "o.pdf", bytes(2000, 1)).await;
    let held = app.create_case(&alice, "bronx", "Old Held", None).await;
    let open = app.create_case(&alice, "bronx", "Still Open", None).await;
    let office_held = app.create_case(&bob, "queens", "Office Held", None).await;
    for c in [&old, &held] {
        let r = post_json(&app, &alice, &format!("/cases/{c}/close"), json!({})).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let r = post_json(&app, &bob, &format!("/cases/{old}/close"), json!({})).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = post_json(
        &app,
        &bob,
        &format!("/cases/{office_held}/close"),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Closing twice is harmless and keeps the first closing time.
    let r = post_json(&app, &alice, &format!("/cases/{old}/close"), json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let v = &app.app.vault;
    let op = casevault::vault::operator::actor();
    v.set_case_hold(
        &op,
        &held,
        true,
        Some("litigation"),
        casevault::vault::StepUp::none(),
    )
    .await
    .unwrap();
    v.set_office_hold(&op, "queens", true, None, casevault::vault::StepUp::none())
        .await
        .unwrap();

    app.clock.advance(200 * DAY);
    let alice = app.login("alice").await;
    let recent = app
        .create_case(&alice, "bronx", "Recently Closed", None)
        .await;
    let r = post_json(&app, &alice, &format!("/cases/{recent}/close"), json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Not yet: nothing is due at 200 days.
    let r = v.run_retention(false).await.unwrap();
    assert!(r.purged.is_empty() && r.held.is_empty(), "{r:?}");

    app.clock.advance(170 * DAY);
    let dry = v.run_retention(true).await.unwrap();
    assert!(dry.dry_run);
    let ids: Vec<_> = dry.purged.iter().map(|i| i.case_id.clone()).collect();
    assert_eq!(ids, std::slice::from_ref(&old));
    assert_eq!(dry.purged[0].documents, 1);
    let mut kept = dry.held.clone();
    kept.sort();
    let mut expect = vec![held.clone(), office_held.clone()];
    expect.sort();
    assert_eq!(kept, expect);
    assert_eq!(
        count(app.data(), "cases", &format!("id = '{old}'")),
        1,
        "dry run"
    );

    let run = v.run_retention(false).await.unwrap();
    assert_eq!(run.purged.len(), 1);
    assert_eq!(run.purged[0].case_id, old);
    for (c, n) in [
        (&old, 0),
        (&held, 1),
        (&open, 1),
        (&recent, 1),
        (&office_held, 1),
    ] {
        assert_eq!(count(app.data(), "cases", &format!("id = '{c}'")), n, "{c}");
    }
    let rows = audit_rows(&app);
    let p: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "purge_case" && r.decision == "allow")
        .collect();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].actor, "retention");
    assert!(p[0].target.contains(&format!("case:{old}")));
    assert!(p[0].outcome.starts_with("ok cases=1 documents=1"));
    let runs: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "run_retention")
        .map(|r| r.outcome.clone())
        .collect();
    assert_eq!(
        runs,
        [
            "ok purged=0 held=0 failed=0",
            "dry_run due=1 held=2 failed=0",
            "ok purged=1 held=2 failed=0"
        ]
    );

    // Lifting the holds lets the next run take them.
    v.set_case_hold(&op, &held, false, None, casevault::vault::StepUp::none())
        .await
        .unwrap();
    v.set_office_hold(&op, "queens", false, None, casevault::vault::StepUp::none())
        .await
        .unwrap();
    let run = v.run_retention(false).await.unwrap();
    assert_eq!(run.purged.len(), 2, "{run:?}");
    assert!(run.held.is_empty());
    assert_eq!(
        count(app.data(), "cases", "1"),
        2,
        "the open and the recent case"
    );

    // The command line runs the same job (with the real clock: nothing is due).
    let o = cli(
        &[
            "retention",
            "run",
            "--data",
            app.data().to_str().unwrap(),
            "--dry-run",
        ],
        &[],
    );
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains("0 would purge, 0 held"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test]
async fn seal_all_from_the_command_line_wipes_the_keys_of_a_running_server() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Panic", None).await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The library client: an office admin seals their own office only.
    let target = Target::new(&app.base, Some(&app.cert)).unwrap();
    let admin = &app.creds.users["admin"];
    let s = target
        .login("admin", &admin.password, &app.code("admin"))
        .await
        .unwrap();
    let sealed = target.seal_all(&s).await.unwrap();
    target.logout(s).await;
    assert_eq!(sealed, ["bronx"]);
    assert!(!app.app.vault.is_unsealed("bronx"));
    assert!(app.app.vault.is_unsealed("queens"));
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::LOCKED, "office_sealed").await;

    // A wrong code signs nobody in and seals nothing.
    let e = target
        .login("root", &app.creds.users["root"].password, "000000")
        .await
        .err()
        .unwrap();
    assert!(e.contains("invalid_credentials"), "{e}");
    assert!(!e.contains(&app.creds.users["root"].password));
    assert!(app.app.vault.is_unsealed("queens"));

    // The binary, credentials from the environment: the superadmin seals the rest.
    let root = &app.creds.users["root"];
    let code = app.code("root");
    // The test's runtime serves the requests, so the process runs off it.
    let (base, cert, password) = (
        app.base.clone(),
        app.cert.to_str().unwrap().to_string(),
        root.password.clone(),
    );
    let o = tokio::task::spawn_blocking(move || {
        cli(
            &[
                "seal-all",
                "--url",
                &base,
                "--username",
                "root",
                "--ca-cert",
                &cert,
            ],
            &[("CASEVAULT_PASSWORD", &password), ("CASEVAULT_TOTP", &code)],
        )
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o).trim(), "Sealed: queens");
    assert!(!app.app.vault.is_unsealed("queens"));

    // An untrusted certificate is refused before any credential is sent.
    let other = tempfile::tempdir().unwrap();
    let (other_cert, _) = casevault::app::self_signed(other.path()).unwrap();
    let t = Target::new(&app.base, Some(&other_cert)).unwrap();
    let e = t
        .login("root", &root.password, "123456")
        .await
        .err()
        .unwrap();
    assert!(e.starts_with("TLS"), "{e}");
}
