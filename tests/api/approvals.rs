//! Two-person approvals (issue 26): an office purge by an administrator waits for a
//! second person; the requester cannot approve it in any session; a deny, an expiry or
//! a withdrawal ends it with nothing done; a hold placed meanwhile refuses it when it
//! runs; a waiting account cannot answer.
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::authkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

const STRONG: &str = "a-long-admin-password-42";

/// A second administrator of bronx, made by the superadmin, enrolled, signed in afresh.
pub async fn second_admin(app: &TestApp, name: &str) -> (Account, Client) {
    let root = app.login("root").await;
    let a = create_and_enrol(
        app,
        &root,
        json!({"username": name, "role": "admin", "office": "bronx", "password": STRONG}),
    )
    .await;
    let c = login_account(app, &a).await;
    (a, c)
}

/// Asks for an office purge as `by`: 202 and the request's id.
pub async fn ask_office_purge(app: &TestApp, by: &Client, office: &str) -> String {
    let r = post_json(app, by, &format!("/offices/{office}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "pending");
    assert!(v["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    v["request_id"].as_str().unwrap().to_string()
}

/// Purges an office through approval: asked by `by`, approved by root. Answers the
/// approved request.
pub async fn purge_office_approved(app: &TestApp, by: &Client, office: &str) -> Value {
    let id = ask_office_purge(app, by, office).await;
    let root = app.login("root").await;
    let r = answer(app, &root, &id, "approve").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn answer(app: &TestApp, by: &Client, id: &str, what: &str) -> reqwest::Response {
    post_json(app, by, &format!("/approvals/{id}/{what}"), json!({})).await
}

async fn list(app: &TestApp, by: &Client) -> Vec<Value> {
    let r = by.get(app.url("/approvals")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["approvals"].as_array().unwrap().clone()
}

fn office_exists(app: &TestApp, slug: &str) -> bool {
    count(app.data(), "offices", &format!("slug = '{slug}'")) == 1
}

fn outcomes(app: &TestApp, action: &str) -> Vec<(String, String)> {
    audit_rows(app)
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| (r.decision, r.outcome))
        .collect()
}

#[tokio::test]
async fn an_office_purge_waits_for_a_second_admin_and_never_for_the_requester() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Waiting Client", None)
        .await;
    app.upload_ok(&alice, &case, "a.pdf", bytes(2000, 1)).await;
    let (admin2, second) = second_admin(&app, "admin2").await;
    let admin = app.login("admin").await;

    let id = ask_office_purge(&app, &admin, "bronx").await;
    // Nothing happened: the office, its case and its people are there.
    assert!(office_exists(&app, "bronx"));
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The requester sees it waiting, in words, and may not approve it.
    let mine = list(&app, &admin).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], id.as_str());
    assert_eq!(mine[0]["mine"], true);
    assert_eq!(mine[0]["may_approve"], false);
    assert_eq!(mine[0]["requester"], "admin");
    assert_eq!(
        mine[0]["words"],
        "Purge office bronx: 1 cases and 1 documents become unreadable forever."
    );
    assert_eq!(
        (mine[0]["approvals"].as_u64(), mine[0]["needed"].as_u64()),
        (Some(0), Some(1))
    );
    let r = answer(&app, &admin, &id, "approve").await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    // Nor in a second session of theirs.
    let admin_again = app.login("admin").await;
    let r = answer(&app, &admin_again, &id, "approve").await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = answer(&app, &admin_again, &id, "deny").await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;

    // People who may neither see nor approve it find nothing there.
    for name in ["alice", "bob", "pat", "audrey"] {
        let c = app.login(name).await;
        assert!(list(&app, &c).await.is_empty(), "{name} sees the request");
        let r = answer(&app, &c, &id, "approve").await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    let r = answer(
        &app,
        &second,
        "00000000-0000-4000-8000-000000000000",
        "approve",
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = answer(&app, &second, "not-an-id", "approve").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(office_exists(&app, "bronx"));

    // The second admin sees what it does, and approving runs it.
    let theirs = list(&app, &second).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (
            theirs[0]["mine"].as_bool(),
            theirs[0]["may_approve"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let r = answer(&app, &second, &id, "approve").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "done");
    assert!(
        v["outcome"]
            .as_str()
            .unwrap()
            .starts_with("ok cases=1 documents=1"),
        "{v}"
    );
    assert!(!office_exists(&app, "bronx"));
    let r = alice.get(app.url("/cases")).send().await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Answering again is a conflict (root may still see it: it may approve purges).
    let root = app.login("root").await;
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "not_pending").await;

    // Every step is in the log, ids only.
    let admin_id = app.user_id("admin");
    let reqs = audit_rows(&app)
        .into_iter()
        .filter(|r| r.action.starts_with("approval_"))
        .map(|r| (r.action, r.actor, r.decision, r.outcome, r.target))
        .collect::<Vec<_>>();
    let target = format!("office:bronx approval:{id}");
    assert!(reqs.contains(&(
        "approval_request".into(),
        admin_id.clone(),
        "allow".into(),
        "pending purge_office".into(),
        target.clone()
    )));
    assert!(reqs.contains(&(
        "approval_approve".into(),
        admin_id.clone(),
        "deny".into(),
        "own_request".into(),
        target.clone()
    )));
    assert!(reqs.contains(&(
        "approval_approve".into(),
        admin2.id.clone(),
        "allow".into(),
        "approved 1/1".into(),
        target.clone()
    )));
    assert!(
        reqs.iter()
            .any(|r| r.0 == "approval_run" && r.2 == "allow" && r.4 == target),
        "{reqs:?}"
    );
    let purges = outcomes(&app, "purge_office");
    assert_eq!(purges.len(), 1, "{purges:?}");
    assert!(purges[0].1.starts_with("ok cases=1"));
}

#[tokio::test]
async fn a_deny_an_expiry_or_a_withdrawal_ends_the_request_and_nothing_happens() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let root = app.login("root").await;

    // Denied.
    let id = ask_office_purge(&app, &admin, "bronx").await;
    let r = answer(&app, &root, &id, "deny").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "denied");
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "not_pending").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/approvals/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_error(r, StatusCode::CONFLICT, "not_pending").await;
    assert!(office_exists(&app, "bronx"));

    // Withdrawn: only by the requester.
    let id = ask_office_purge(&app, &admin, "bronx").await;
    let r = post_json(&app, &root, &format!("/approvals/{id}/withdraw"), json!({})).await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/approvals/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "not_pending").await;
    assert!(office_exists(&app, "bronx"));

    // Expired: 24 hours by default.
    let id = ask_office_purge(&app, &admin, "bronx").await;
    app.clock.advance(24 * 3600 + 1);
    let root = app.login("root").await;
    let v = list(&app, &root).await;
    let it = v.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(
        (it["status"].as_str(), it["may_approve"].as_bool()),
        (Some("expired"), Some(false))
    );
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "not_pending").await;
    assert!(office_exists(&app, "bronx"));
    assert!(
        outcomes(&app, "purge_office")
            .iter()
            .all(|(_, o)| !o.starts_with("ok"))
    );
    assert_eq!(count(app.data(), "approvals", "status = 'expired'"), 1);
    assert_eq!(count(app.data(), "approvals", "status = 'denied'"), 1);
    assert_eq!(count(app.data(), "approvals", "status = 'withdrawn'"), 1);
}

#[tokio::test]
async fn a_hold_placed_after_the_request_refuses_the_purge_when_it_is_approved() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let id = ask_office_purge(&app, &admin, "bronx").await;
    let r = admin
        .put(app.url("/offices/bronx/hold"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let root = app.login("root").await;
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    assert!(office_exists(&app, "bronx"));
    let v = list(&app, &admin).await;
    assert_eq!(
        (v[0]["status"].as_str(), v[0]["outcome"].as_str()),
        (Some("failed"), Some("legal_hold"))
    );
    assert_eq!(
        outcomes(&app, "approval_run"),
        [("deny".to_string(), "legal_hold".to_string())]
    );
    // While the office is held, asking again is refused at once.
    let r = post_json(&app, &admin, "/offices/bronx/purge", json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
}

#[tokio::test]
async fn a_waiting_a_disabled_or_a_stale_account_cannot_answer_and_a_disabled_requester_gets_nothing_done()
 {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let id = ask_office_purge(&app, &admin, "bronx").await;

    // A caseworker account waiting for confirmation.
    let waiting = create_and_enrol(
        &app,
        &admin,
        json!({"username": "newcomer", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    let c = login_account(&app, &waiting).await;
    let r = answer(&app, &c, &id, "approve").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    // A second admin past the step-up window must prove a code.
    let (admin2, second) = second_admin(&app, "admin2").await;
    app.clock.advance(11 * 60);
    let r = answer(&app, &second, &id, "approve").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let r = post_json(
        &app,
        &second,
        &format!("/approvals/{id}/approve"),
        json!({"totp": "000000"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(office_exists(&app, "bronx"));

    // A disabled approver is signed out.
    let root = app.login("root").await;
    let r = post_json(
        &app,
        &root,
        &format!("/users/{}/disable", admin2.id),
        json!({}),
    )
    .await;
    assert!(r.status().is_success());
    let r = answer(&app, &second, &id, "approve").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The requester disabled meanwhile: approving runs nothing.
    let r = post_json(
        &app,
        &root,
        &format!("/users/{}/disable", app.user_id("admin")),
        json!({}),
    )
    .await;
    assert!(r.status().is_success());
    let r = answer(&app, &root, &id, "approve").await;
    assert_error(r, StatusCode::CONFLICT, "no_longer_allowed").await;
    assert!(office_exists(&app, "bronx"));
    assert_eq!(
        count(
            app.data(),
            "approvals",
            "status = 'failed' AND outcome = 'no_longer_allowed'"
        ),
        1
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_casevault");

fn run(args: &[&str], data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("CASEVAULT_POLICY")
        .output()
        .unwrap()
}

#[test]
fn an_approval_count_of_zero_refuses_to_start_and_the_operator_path_says_it_skips_approval() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    assert!(run(&["init"], &data).status.success());
    assert!(
        run(&["office", "add", "--slug", "bronx"], &data)
            .status
            .success()
    );

    // A policy directory whose approvals file asks for 0 approvals: nothing starts.
    let policy = tmp.path().join("policy");
    std::fs::create_dir_all(&policy).unwrap();
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, policy.join(p.file_name().unwrap())).unwrap();
    }
    let zero = casevault::config::DEFAULT_APPROVALS.replacen("approvals = 1", "approvals = 0", 1);
    assert_ne!(zero, casevault::config::DEFAULT_APPROVALS);
    std::fs::write(policy.join("approvals.toml"), zero).unwrap();
    let p = policy.to_str().unwrap();
    let out = run(&["serve", "--policy", p, "--listen", "127.0.0.1:0"], &data);
    assert!(!out.status.success(), "served with approvals = 0");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("approvals.toml") && err.contains("approvals = 0"),
        "{err}"
    );
    let out = run(
        &["--policy", p, "purge", "--office", "bronx", "--yes"],
        &data,
    );
    assert!(!out.status.success(), "purged with approvals = 0");
    assert!(run(&["office", "list"], &data).status.success());

    // The operator's purge runs, warns, and is audited as skipping the approval.
    let out = run(&["purge", "--office", "bronx", "--yes"], &data);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("skips the approvals"), "{said}");
    let log = run(&["audit", "export"], &data);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.lines()
            .any(|l| l.contains("purge_office") && l.contains("ok skipped_approval")),
        "{log}"
    );
}

#[tokio::test]
async fn with_hold_lifts_in_the_policy_a_lift_waits_and_runs_once_approved() {
    let mut settings = test_settings();
    settings.approvals = casevault::config::ApprovalSettings::parse(
        "[actions.purge_office]\napprovals = 1\napprovers = [\"office_admin\", \"superadmin\"]\n\
         [actions.lift_hold]\napprovals = 1\napprovers = [\"office_admin\"]\n",
    )
    .unwrap();
    let app = spawn_app_with(settings).await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Held Client", None).await;
    let admin = app.login("admin").await;
    for path in [
        format!("/cases/{case}/hold"),
        "/offices/bronx/hold".to_string(),
    ] {
        let r = admin
            .put(app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
    }
    let held = |app: &TestApp| {
        (
            count(app.data(), "cases", &format!("id = '{case}' AND held = 1")),
            app.app
                .vault
                .db()
                .read(|tx| tx.office("bronx"))
                .unwrap()
                .unwrap()
                .held as i64,
        )
    };
    let mut ids = Vec::new();
    for path in [
        format!("/cases/{case}/hold"),
        "/offices/bronx/hold".to_string(),
    ] {
        let r = admin
            .delete(app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{path}");
        let v: Value = r.json().await.unwrap();
        ids.push(v["request_id"].as_str().unwrap().to_string());
    }
    assert_eq!(held(&app), (1, 1), "a lift ran before approval");
    // Only another admin of the office approves a lift; root may not here.
    let root = app.login("root").await;
    let r = answer(&app, &root, &ids[0], "approve").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = answer(&app, &admin, &ids[0], "approve").await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let (_, second) = second_admin(&app, "admin2").await;
    let v = list(&app, &second).await;
    assert!(v.iter().any(|r| {
        r["words"]
            .as_str()
            .unwrap()
            .starts_with("Lift the legal hold on office bronx")
    }));
    for id in &ids {
        let r = answer(&app, &second, id, "approve").await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["status"].as_str(), v["outcome"].as_str()),
            (Some("done"), Some("ok lifted"))
        );
    }
    assert_eq!(held(&app), (0, 0));
}

#[tokio::test]
async fn the_office_page_tells_the_requester_it_waits_and_lets_an_approver_answer_with_a_code() {
    use crate::pagekit::{get_page, page_sign_in, post_form};
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let id = ask_office_purge(&app, &admin, "bronx").await;
    let b = &app.base;
    let approve = format!("/admin/approvals/{id}/approve");

    let admin_page = page_sign_in(&app, "admin").await;
    let (s, _, page) = get_page(&admin_page, &format!("{b}/admin")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Waiting for a second administrator"),
        "{page}"
    );
    assert!(
        page.contains("Purge office bronx: 0 cases and 0 documents become unreadable forever.")
    );
    assert!(
        !page.contains(&approve),
        "the requester is offered approval"
    );
    // Forged anyway: refused, and nothing happens.
    let code = app.code("admin");
    let (s, _, _) = post_form(
        &admin_page,
        &page,
        &format!("{b}{approve}"),
        &[("totp", &code)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(office_exists(&app, "bronx"));

    let root = page_sign_in(&app, "root").await;
    let (_, _, page) = get_page(&root, &format!("{b}/admin")).await;
    assert!(
        page.contains("Purge office bronx: 0 cases and 0 documents become unreadable forever.")
    );
    assert!(page.contains(&format!("action=\"{approve}\"")), "{page}");
    // A code every time, even in a fresh session.
    let (s, _, _) = post_form(&root, &page, &format!("{b}{approve}"), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(office_exists(&app, "bronx"));
    let code = app.code("root");
    let (s, to, _) = post_form(&root, &page, &format!("{b}{approve}"), &[("totp", &code)]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin?done=approval_approved")
    );
    assert!(!office_exists(&app, "bronx"));
}

/// The approval routes by role, against a request of a second bronx admin: only the
/// requester and those who may approve see it; everyone else finds nothing (404),
/// and every refused answer leaves exactly one `deny` entry by its actor.
#[tokio::test]
async fn approval_routes_answer_by_role() {
    let app = spawn_app().await;
    let (_, requester) = second_admin(&app, "admin2").await;
    let id = ask_office_purge(&app, &requester, "bronx").await;
    let entries_by = |app: &TestApp, who: &str| {
        audit_rows(app)
            .into_iter()
            .filter(|r| r.actor == who && r.action.starts_with("approval_"))
            .map(|r| (r.action, r.decision))
            .collect::<Vec<_>>()
    };
    let post = |c: Client, what: &'static str| {
        let url = app.url(&format!("/approvals/{id}/{what}"));
        async move { c.post(url).json(&json!({})).send().await.unwrap().status() }
    };
    // (user, sees it, approve, deny, withdraw); approve and deny by those who may are
    // run below, where they change the request.
    let expect: [(&str, bool, u16, u16, u16); 4] = [
        ("alice", false, 404, 404, 404),
        ("bob", false, 404, 404, 404),
        ("pat", false, 404, 404, 404),
        ("audrey", false, 404, 404, 404),
    ];
    for (name, sees, approve, deny, withdraw) in expect {
        let c = app.login(name).await;
        assert_eq!(!list(&app, &c).await.is_empty(), sees, "{name} list");
        let who = app.user_id(name);
        let before = entries_by(&app, &who).len();
        assert_eq!(
            post(c.clone(), "approve").await.as_u16(),
            approve,
            "{name} approve"
        );
        assert_eq!(post(c.clone(), "deny").await.as_u16(), deny, "{name} deny");
        assert_eq!(
            post(c.clone(), "withdraw").await.as_u16(),
            withdraw,
            "{name} withdraw"
        );
        let after = entries_by(&app, &who);
        assert_eq!(after.len(), before + 3, "{name}: {after:?}");
        assert!(
            after[before..].iter().all(|(_, d)| d == "deny"),
            "{name}: {after:?}"
        );
    }
    // Approvers see it, may not withdraw it; the office admin denies it.
    let root = app.login("root").await;
    let admin = app.login("admin").await;
    for (name, c) in [("root", &root), ("admin", &admin)] {
        let v = list(&app, c).await;
        assert_eq!(v.len(), 1, "{name}");
        assert_eq!(v[0]["may_approve"], true, "{name}");
        assert_eq!(
            post(c.clone(), "withdraw").await,
            StatusCode::FORBIDDEN,
            "{name}"
        );
    }
    assert_eq!(post(admin.clone(), "deny").await, StatusCode::OK);
    assert_eq!(post(root.clone(), "approve").await, StatusCode::CONFLICT);
    // The superadmin approves a new one, and it runs.
    let id = ask_office_purge(&app, &requester, "bronx").await;
    let r = answer(&app, &root, &id, "approve").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!office_exists(&app, "bronx"));
}
