//! The administrators' routes of issue 4 by role: each answer follows the policy
//! (rules 7, 8, 11, 12, 14) and each request leaves exactly one decision by its actor.
use reqwest::Method;

use crate::helpers::*;
use crate::lifecycle_helpers::*;

/// Columns: root (superadmin), admin (bronx), alice (bronx supervisor), bob (queens
/// caseworker), pat (partner, no share), audrey (auditor).
const ROLES: [&str; 6] = ["root", "admin", "alice", "bob", "pat", "audrey"];

#[rustfmt::skip]
fn table() -> Vec<(&'static str, Method, &'static str, [u16; 6])> {
    use Method as M;
    vec![
        // Rule 14: a caseworker on the case, or its office admin, closes it.
        ("close",        M::POST,   "/cases/{case}/close",                [404, 204, 204, 404, 404, 404]),
        // Rule 8 (+12): only the office admin holds and purges; a case they may not
        // act on answers 404 like a missing one.
        ("hold",         M::PUT,    "/cases/{case}/hold",                 [404, 204, 404, 404, 404, 404]),
        ("lift",         M::DELETE, "/cases/{case}/hold",                 [404, 204, 404, 404, 404, 404]),
        // Rule 22: a supervisor of the office shreds a document too (a wrong upload).
        ("purge doc",    M::POST,   "/cases/{case}/documents/{doc}/purge", [404, 200, 200, 404, 404, 404]),
        ("purge case",   M::POST,   "/cases/{case}/purge",                [404, 200, 404, 404, 404, 404]),
        // Rule 7: offices are not secret, so a refusal is 403.
        ("hold office",  M::PUT,    "/offices/bronx/hold",                [403, 204, 403, 403, 403, 403]),
        ("lift office",  M::DELETE, "/offices/bronx/hold",                [403, 204, 403, 403, 403, 403]),
        ("purge queens", M::POST,   "/offices/queens/purge",              [403, 403, 403, 403, 403, 403]),
        // Rules 7 and 11: office admins and auditors read the audit log.
        ("audit",        M::GET,    "/audit",                             [403, 200, 403, 403, 403, 200]),
    ]
}

#[tokio::test]
async fn admin_routes_answer_by_role_and_leave_one_decision_each() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    for (i, role) in ROLES.iter().enumerate() {
        let c = app.login(role).await;
        let case = app
            .create_case(&alice, "bronx", "Matrix Client", None)
            .await;
        let doc = app
            .upload_ok(&alice, &case, "m.pdf", bytes(100, i as u64))
            .await;
        for (label, method, path, expect) in table() {
            let path = path.replace("{case}", &case).replace("{doc}", &doc);
            let before = head_seq(&app);
            let r = c
                .request(method.clone(), app.url(&path))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), expect[i], "{role} {label}");
            let new = rows_after(&app, before);
            assert_eq!(new.len(), 1, "{role} {label}: {new:?}");
            assert_eq!(new[0].actor, app.user_id(role), "{role} {label}");
            let decision = if expect[i] < 400 { "allow" } else { "deny" };
            assert_eq!(new[0].decision, decision, "{role} {label}");
        }
    }
}
