//! The audit log (issue 4): the read API and who sees what, one decision entry per
//! request, tamper detection by `casevault audit verify`, fail-closed writes, no PII.
use casevault::audit;
use casevault::store::Db;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle_helpers::*;

async fn audit_page(app: &TestApp, c: &Client, query: &str) -> Value {
    let r = c
        .get(format!("{}?{query}", app.url("/audit")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn admins_read_their_office_auditors_read_all_paginated_oldest_first() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let bronx = app.create_case(&alice, "bronx", "B Client", None).await;
    let queens = app.create_case(&bob, "queens", "Q Client", None).await;

    let admin = app.login("admin").await;
    let v = audit_page(&app, &admin, "limit=1000").await;
    let entries = v["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let t = e["target"].as_str().unwrap();
        assert!(t.split(' ').any(|tok| tok == "office:bronx"), "{t}");
        assert!(!t.contains("queens"), "{t}");
        assert_eq!(e["hash"].as_str().unwrap().len(), 64);
        for k in [
            "seq", "time", "actor", "role", "action", "decision", "outcome",
        ] {
            assert!(!e[k].is_null(), "{k}");
        }
    }
    assert!(entries.iter().any(|e| {
        e["target"]
            .as_str()
            .unwrap()
            .contains(&format!("case:{bronx}"))
    }));
    // Asking for another office's entries by filter still yields only their own.
    let v = audit_page(&app, &admin, &format!("target=case:{queens}")).await;
    assert!(v["entries"].as_array().unwrap().is_empty());

    // The auditor reads everything, page by page, oldest first, without gaps.
    let audrey = app.login("audrey").await;
    let mut after = 0;
    let mut seqs = Vec::new();
    loop {
        let v = audit_page(&app, &audrey, &format!("after={after}&limit=7")).await;
        let page = v["entries"].as_array().unwrap();
        assert!(page.len() <= 7);
        seqs.extend(page.iter().map(|e| e["seq"].as_i64().unwrap()));
        match v["next_after"].as_i64() {
            Some(n) => {
                assert_eq!(page.len(), 7);
                after = n;
            }
            None => break,
        }
    }
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected);
    assert!(seqs.len() > 20);

    // Filters.
    let v = audit_page(&app, &audrey, "action=create_case").await;
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|e| e["action"] == "create_case"));
    let v = audit_page(&app, &audrey, &format!("actor={}", app.user_id("bob"))).await;
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == app.user_id("bob").as_str())
    );
    let v = audit_page(&app, &audrey, &format!("target=case:{queens}")).await;
    assert_eq!(v["entries"].as_array().unwrap().len(), 1);
    let v = audit_page(&app, &audrey, "since=2099-01-01T00:00:00Z").await;
    assert!(v["entries"].as_array().unwrap().is_empty());
    let v = audit_page(&app, &audrey, "until=2000-01-01T00:00:00Z").await;
    assert!(v["entries"].as_array().unwrap().is_empty());
    let v = audit_page(&app, &audrey, "limit=100000").await;
    assert!(v["entries"].as_array().unwrap().len() <= 1000);

    // Bad queries are 400, never 500.
    for q in ["since=yesterday", "after=-1", "limit=abc", "colour=red"] {
        let r = audrey
            .get(format!("{}?{q}", app.url("/audit")))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_query").await;
    }

    // Caseworkers and partners read no audit log; the attempt is itself audited.
    for (who, c) in [("alice", &alice), ("pat", &app.login("pat").await)] {
        let before = head_seq(&app);
        let r = c.get(app.url("/audit")).send().await.unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
        let new = rows_after(&app, before);
        assert_eq!(new.len(), 1, "{who}");
        assert_eq!(
            (new[0].action.as_str(), new[0].decision.as_str()),
            ("read_all_audit", "deny")
        );
    }
}

struct Step {
    who: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: StatusCode,
    action: &'static str,
    decision: &'static str,
}

fn step(
    who: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    action: &'static str,
    decision: &'static str,
) -> Step {
    Step {
        who,
        method,
        path,
        body,
        status: StatusCode::from_u16(status).unwrap(),
        action,
        decision,
    }
}

#[tokio::test]
async fn every_deciding_route_writes_exactly_one_entry_and_denials_are_deny() {
    let app = spawn_app().await;
    let mut clients = std::collections::HashMap::new();
    for n in ["alice", "bob", "admin", "pat", "audrey", "root"] {
        clients.insert(n, app.login(n).await);
    }
    let alice = &clients["alice"];
    let case = app.create_case(alice, "bronx", "Route Client", None).await;
    let doc = app.upload_ok(alice, &case, "r.pdf", bytes(2000, 1)).await;
    let other = app.create_case(alice, "bronx", "Other", None).await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let share_until = "2027-06-01T00:00:00Z";
    use Method as M;
    let c = |p: &str| format!("/cases/{case}{p}");
    let mut steps = vec![
        step(
            "alice",
            M::GET,
            "/cases".into(),
            None,
            200,
            "list_cases",
            "allow",
        ),
        step(
            "alice",
            M::POST,
            "/cases".into(),
            Some(json!({"office": "bronx", "client_name": "N"})),
            201,
            "create_case",
            "allow",
        ),
        step(
            "bob",
            M::POST,
            "/cases".into(),
            Some(json!({"office": "bronx", "client_name": "N"})),
            403,
            "create_case",
            "deny",
        ),
        step("alice", M::GET, c(""), None, 200, "read_case", "allow"),
        step("bob", M::GET, c(""), None, 404, "read_case", "deny"),
        step(
            "alice",
            M::GET,
            c("/documents"),
            None,
            200,
            "read_case",
            "allow",
        ),
        step(
            "alice",
            M::GET,
            c(&format!("/documents/{doc}")),
            None,
            200,
            "read_case",
            "allow",
        ),
        step(
            "bob",
            M::GET,
            c(&format!("/documents/{doc}")),
            None,
            404,
            "read_case",
            "deny",
        ),
        step(
            "alice",
            M::POST,
            c("/shares"),
            Some(json!({"username": "pat", "permission": "read", "expires_at": share_until})),
            201,
            "share_case",
            "allow",
        ),
        step("pat", M::GET, c(""), None, 200, "read_case", "allow"),
        step(
            "pat",
            M::GET,
            format!("/cases/{other}"),
            None,
            404,
            "read_case",
            "deny",
        ),
        step("admin", M::GET, c(""), None, 404, "read_case", "deny"),
        step(
            "admin",
            M::POST,
            c("/assignments"),
            Some(json!({"user_id": app.user_id("alice")})),
            204,
            "assign_case",
            "allow",
        ),
        step("bob", M::POST, c("/close"), None, 404, "close_case", "deny"),
        step(
            "alice",
            M::POST,
            c("/close"),
            None,
            204,
            "close_case",
            "allow",
        ),
        step("alice", M::PUT, c("/hold"), None, 404, "hold_case", "deny"),
        step(
            "admin",
            M::PUT,
            c("/hold"),
            Some(json!({"reason": "r"})),
            204,
            "hold_case",
            "allow",
        ),
        step(
            "admin",
            M::POST,
            c("/purge"),
            None,
            409,
            "purge_case",
            "allow",
        ),
        step(
            "admin",
            M::DELETE,
            c("/hold"),
            None,
            204,
            "hold_case",
            "allow",
        ),
        step(
            "admin",
            M::POST,
            c(&format!("/documents/{doc}/purge")),
            None,
            200,
            "purge_document",
            "allow",
        ),
        step(
            "alice",
            M::POST,
            format!("/cases/{other}/purge"),
            None,
            404,
            "purge_case",
            "deny",
        ),
        step(
            "admin",
            M::POST,
            c("/purge"),
            None,
            200,
            "purge_case",
            "allow",
        ),
        step(
            "admin",
            M::POST,
            c("/purge"),
            None,
            404,
            "purge_case",
            "deny",
        ),
        step(
            "admin",
            M::GET,
            "/audit".into(),
            None,
            200,
            "read_office_audit",
            "allow",
        ),
        step(
            "audrey",
            M::GET,
            "/audit".into(),
            None,
            200,
            "read_all_audit",
            "allow",
        ),
        step(
            "alice",
            M::GET,
            "/audit".into(),
            None,
            403,
            "read_all_audit",
            "deny",
        ),
        step(
            "admin",
            M::PUT,
            "/offices/bronx/hold".into(),
            None,
            204,
            "hold_office",
            "allow",
        ),
        step(
            "admin",
            M::DELETE,
            "/offices/bronx/hold".into(),
            None,
            204,
            "hold_office",
            "allow",
        ),
        step(
            "admin",
            M::PUT,
            "/offices/queens/hold".into(),
            None,
            403,
            "hold_office",
            "deny",
        ),
        step(
            "admin",
            M::POST,
            "/offices/queens/purge".into(),
            None,
            403,
            "purge_office",
            "deny",
        ),
        step(
            "alice",
            M::POST,
            "/offices/bronx/seal".into(),
            None,
            403,
            "seal_office",
            "deny",
        ),
        step(
            "admin",
            M::POST,
            "/offices/bronx/seal".into(),
            None,
            204,
            "seal_office",
            "allow",
        ),
        step(
            "admin",
            M::POST,
            "/offices/bronx/unseal".into(),
            Some(json!({"passphrase": pass})),
            204,
            "unseal_office",
            "allow",
        ),
        step(
            "alice",
            M::POST,
            "/seal-all".into(),
            None,
            403,
            "seal_all",
            "deny",
        ),
        step(
            "admin",
            M::POST,
            "/seal-all".into(),
            None,
            200,
            "seal_all",
            "allow",
        ),
        step(
            "root",
            M::POST,
            "/offices".into(),
            Some(json!({"slug": "kings"})),
            201,
            "create_office",
            "allow",
        ),
        step(
            "alice",
            M::POST,
            "/offices".into(),
            Some(json!({"slug": "richmond"})),
            403,
            "create_office",
            "deny",
        ),
        step(
            "admin",
            M::GET,
            "/users".into(),
            None,
            200,
            "manage_users",
            "allow",
        ),
        step(
            "pat",
            M::GET,
            "/users".into(),
            None,
            403,
            "manage_users",
            "deny",
        ),
    ];
    for s in steps.drain(..) {
        let before = head_seq(&app);
        let mut req = clients[s.who].request(s.method.clone(), app.url(&s.path));
        if let Some(b) = &s.body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let label = format!("{} {} {}", s.who, s.method, s.path);
        assert_eq!(r.status(), s.status, "{label}: {}", r.text().await.unwrap());
        let new = rows_after(&app, before);
        assert_eq!(new.len(), 1, "{label}: {new:?}");
        assert_eq!(new[0].action, s.action, "{label}");
        assert_eq!(new[0].decision, s.decision, "{label}");
        assert_eq!(new[0].actor, app.user_id(s.who), "{label}");
    }
}

/// A fresh database with `n` chained entries; returns its directory.
fn chain(n: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.write(|tx| {
        for i in 0..n {
            audit::append(
                tx,
                &format!("2026-01-01T00:00:{:02}Z", i % 60),
                &audit::Entry {
                    actor: &format!("user-{i}"),
                    role: "caseworker",
                    action: "read_case",
                    target: &format!("office:bronx case:{i}"),
                    decision: "allow",
                    outcome: "ok",
                },
            )?;
        }
        Ok::<_, casevault::store::StoreError>(())
    })
    .unwrap();
    dir
}

fn verify(dir: &std::path::Path, expect: Option<&str>) -> (bool, String) {
    let data = dir.to_str().unwrap();
    let mut args = vec!["audit", "verify", "--data", data];
    if let Some(e) = expect {
        args.extend(["--expect", e]);
    }
    let o = cli(&args, &[]);
    (o.status.success(), stdout(&o).trim().to_string())
}

fn head(dir: &std::path::Path) -> String {
    let o = cli(&["audit", "head", "--data", dir.to_str().unwrap()], &[]);
    assert!(o.status.success());
    stdout(&o).trim().to_string()
}

#[test]
fn audit_verify_names_the_first_tampered_entry() {
    let n = 20;
    // Untouched: holds, and head matches.
    let d = chain(n);
    let h = head(d.path());
    assert!(h.starts_with("20:"), "{h}");
    let (ok, out) = verify(d.path(), Some(&h));
    assert!(ok, "{out}");

    // Any column of a row modified.
    for col in [
        "time", "actor", "role", "action", "target", "decision", "outcome",
    ] {
        let d = chain(n);
        raw_db(d.path())
            .execute(
                &format!("UPDATE audit SET {col} = {col} || 'x' WHERE seq = 7"),
                [],
            )
            .unwrap();
        assert_eq!(verify(d.path(), None), (false, "7".into()), "{col}");
    }
    let d = chain(n);
    raw_db(d.path())
        .execute("UPDATE audit SET hash = zeroblob(32) WHERE seq = 7", [])
        .unwrap();
    assert_eq!(verify(d.path(), None), (false, "7".into()), "hash");

    // A row deleted.
    let d = chain(n);
    raw_db(d.path())
        .execute("DELETE FROM audit WHERE seq = 9", [])
        .unwrap();
    assert_eq!(verify(d.path(), None), (false, "9".into()));

    // A row inserted at the end, and one inserted in the middle (rows renumbered).
    let d = chain(n);
    raw_db(d.path())
        .execute(
            "INSERT INTO audit SELECT 21, time, actor, role, action, target, decision, outcome, hash FROM audit WHERE seq = 20",
            [],
        )
        .unwrap();
    assert_eq!(verify(d.path(), None), (false, "21".into()));
    let d = chain(n);
    {
        let c = raw_db(d.path());
        c.execute("UPDATE audit SET seq = -seq WHERE seq >= 10", [])
            .unwrap();
        c.execute("UPDATE audit SET seq = 1 - seq WHERE seq < 0", [])
            .unwrap();
        c.execute(
            "INSERT INTO audit SELECT 10, time, 'forged', role, action, target, decision, outcome, hash FROM audit WHERE seq = 9",
            [],
        )
        .unwrap();
    }
    assert_eq!(verify(d.path(), None), (false, "10".into()));

    // Two rows swapped (contents exchanged, sequence numbers kept).
    let d = chain(n);
    {
        let c = raw_db(d.path());
        c.execute("UPDATE audit SET seq = -1 WHERE seq = 5", [])
            .unwrap();
        c.execute("UPDATE audit SET seq = 5 WHERE seq = 6", [])
            .unwrap();
        c.execute("UPDATE audit SET seq = 6 WHERE seq = -1", [])
            .unwrap();
    }
    assert_eq!(verify(d.path(), None), (false, "5".into()));

    // The tail truncated: the rest of the chain still holds, so only a head kept
    // elsewhere (--expect) shows it, naming the first missing entry.
    let d = chain(n);
    let h = head(d.path());
    raw_db(d.path())
        .execute("DELETE FROM audit WHERE seq > 17", [])
        .unwrap();
    assert!(
        verify(d.path(), None).0,
        "a truncated chain is self-consistent"
    );
    assert_eq!(verify(d.path(), Some(&h)), (false, "18".into()));

    // A rewrite that recomputes every later hash is caught by --expect too.
    let d = chain(n);
    let h = head(d.path());
    {
        let db = Db::open(d.path()).unwrap();
        raw_db(d.path())
            .execute("DELETE FROM audit WHERE seq >= 12", [])
            .unwrap();
        db.write(|tx| {
            for i in 12..=n {
                let actor = if i == 12 {
                    "forged".to_string()
                } else {
                    format!("user-{}", i - 1)
                };
                audit::append(
                    tx,
                    "2026-01-01T00:00:00Z",
                    &audit::Entry {
                        actor: &actor,
                        role: "caseworker",
                        action: "read_case",
                        target: "office:bronx",
                        decision: "allow",
                        outcome: "ok",
                    },
                )?;
            }
            Ok::<_, casevault::store::StoreError>(())
        })
        .unwrap();
    }
    assert!(verify(d.path(), None).0);
    assert_eq!(verify(d.path(), Some(&h)), (false, "20".into()));
}

#[tokio::test]
async fn an_action_whose_audit_entry_cannot_be_written_does_not_happen() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let admin = app.login("admin").await;
    let bob = app.login("bob").await;
    let case = app.create_case(&alice, "bronx", "Fail Closed", None).await;
    let body = bytes(3000, 4);
    let doc = app.upload_ok(&alice, &case, "f.pdf", body.clone()).await;
    let (cases, docs, blobs) = (
        count(app.data(), "cases", "1"),
        count(app.data(), "documents", "1"),
        blob_files(app.data()).len(),
    );
    let before = head_seq(&app);

    raw_db(app.data())
        .execute_batch(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END;",
        )
        .unwrap();

    let r = alice
        .post(app.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "Never Stored"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = app.upload(&alice, &case, "g.pdf", bytes(5000, 5)).await;
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = admin
        .post(app.url("/offices/bronx/seal"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    let r = post_json(&app, &alice, &format!("/cases/{case}/close"), json!({})).await;
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    // Even a denial that cannot be recorded is not answered as a plain 404.
    let r = bob
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    // Reading a document is refused too: no read without its record.
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;

    // Nothing changed.
    assert_eq!(count(app.data(), "cases", "1"), cases);
    assert_eq!(count(app.data(), "documents", "1"), docs);
    assert_eq!(blob_files(app.data()).len(), blobs);
    assert_eq!(
        count(app.data(), "cases", "held = 1 OR status = 'closed'"),
        0
    );
    assert!(
        app.app.vault.is_unsealed("bronx"),
        "seal is refused, not half-done"
    );
    assert_eq!(head_seq(&app), before);

    raw_db(app.data())
        .execute_batch("DROP TRIGGER audit_down;")
        .unwrap();
    let got = alice
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &body[..]);
    assert!(matches!(
        audit::verify(app.app.vault.db(), None).unwrap(),
        audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn no_client_data_in_the_audit_table_or_its_export() {
    let app = spawn_app().await;
    let markers: [&str; 7] = [
        "Quillon Marker-Client",
        "246813579",
        "NOTES-marker-ibis-4411",
        "FILE-marker-egret.pdf",
        "BODY-marker-osprey-99",
        "HOLD-marker-reason-sandpiper",
        "127.0.0.1",
    ];
    let alice = app.login("alice").await;
    let r = alice
        .post(app.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": markers[0], "a_number": markers[1], "notes": markers[2]}))
        .send()
        .await
        .unwrap();
    let case = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = bytes(4000, 3);
    body.extend_from_slice(markers[4].as_bytes());
    let doc = app.upload_ok(&alice, &case, markers[3], body).await;
    alice
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    alice
        .get(app.url("/cases"))
        .query(&[("a_number", markers[1])])
        .send()
        .await
        .unwrap();
    post_json(
        &app,
        &alice,
        &format!("/cases/{case}/shares"),
        json!({"username": "pat", "permission": "read", "expires_at": "2027-06-01T00:00:00Z"}),
    )
    .await;
    let admin = app.login("admin").await;
    admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": markers[5]}))
        .send()
        .await
        .unwrap();
    admin
        .delete(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": markers[5]}))
        .send()
        .await
        .unwrap();
    // A failed sign-in with a name as username.
    app.client()
        .post(app.url("/login"))
        .json(&json!({"username": "quillon", "password": markers[0]}))
        .send()
        .await
        .unwrap();
    post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;

    let mut text = String::new();
    for r in audit_rows(&app) {
        text.push_str(&format!(
            "{} {} {} {} {} {} {} {}\n",
            r.time,
            r.actor,
            r.role,
            r.action,
            r.target,
            r.decision,
            r.outcome,
            casevault::crypto::hex(&r.hash)
        ));
    }
    let o = cli(
        &["audit", "export", "--data", app.data().to_str().unwrap()],
        &[],
    );
    assert!(o.status.success());
    let export = stdout(&o);
    assert!(export.lines().count() > 20);
    for line in export.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["seq"].is_i64() && v["hash"].is_string());
    }
    let usernames = ["alice", "audrey", "quillon"];
    for m in markers.iter().chain(usernames.iter()) {
        assert!(!text.contains(m), "{m} in the audit table");
        assert!(!export.contains(m), "{m} in the export");
    }
    let lower = markers[0].to_lowercase();
    assert!(!text.to_lowercase().contains(&lower));
}
