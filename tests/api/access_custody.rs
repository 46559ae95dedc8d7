//! The authorization matrix's key-custody rows (issue 23; policy rules 7a and 12): the
//! holders list, inviting a holder, setting up one's own holder key, removing a
//! holder, rotating the office key and making recovery shares. A child of `access.rs`, whose one table these
//! rows join.
//!
//! Invariant: as the table's: every cell runs against a real server and leaves
//! exactly one decision by its actor in the audit log.
use serde_json::json;

use super::*;

/// Rows: root (superadmin), admin (bronx), alice (bronx supervisor), carol (bronx
/// caseworker), pat (partner), audrey (auditor), as in `access.rs`. Cells run in the
/// order of `Route`: the admin invites themself, sets up their key, then removes it
/// (which rotates the office key) and rotates again.
#[rustfmt::skip]
pub(super) const MATRIX: &[(Route, Rel, [Expect; 6])] = &[
    // GET /offices/{office}/holders: list_holders, rule 7a (the office's admin only).
    (Route::ListHolders, Rel::OwnOffice,     [FB, OK, FB, FB, FB, FB]),
    (Route::ListHolders, Rel::OtherOffice,   [FB, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/holders: manage_holders, rule 7a, with the office
    // passphrase as the proof of a holder secret.
    (Route::InviteHolder, Rel::OwnOffice,    [FB, CR, FB, FB, FB, FB]),
    (Route::InviteHolder, Rel::OtherOffice,  [FB, FB, FB, FB, FB, FB]),
    // POST /me/holder-key: hold_office_key, rule 7a (the admin was just invited).
    (Route::SetUpHolderKey, Rel::OwnOffice,   [FB, CR, FB, FB, FB, FB]),
    (Route::SetUpHolderKey, Rel::OtherOffice, [FB, FB, FB, FB, FB, FB]),
    // DELETE /offices/{office}/holders/{id}: the admin's own holder key.
    (Route::RemoveHolder, Rel::OwnOffice,    [FB, OK, FB, FB, FB, FB]),
    (Route::RemoveHolder, Rel::OtherOffice,  [FB, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/rotate.
    (Route::RotateKey, Rel::OwnOffice,       [FB, OK, FB, FB, FB, FB]),
    (Route::RotateKey, Rel::OtherOffice,     [FB, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/recovery, with the office passphrase as the proof.
    (Route::MakeRecovery, Rel::OwnOffice,    [FB, CR, FB, FB, FB, FB]),
    (Route::MakeRecovery, Rel::OtherOffice,  [FB, FB, FB, FB, FB, FB]),
    // Unseal by passkey (by now the admin's own key was removed above): allowed by
    // the policy, and each says why not (409 not_a_holder / no_passkey_key).
    (Route::HolderPasskeyStart, Rel::OwnOffice,    [FB, A409, FB, FB, FB, FB]),
    (Route::HolderPasskeyStart, Rel::OtherOffice,  [FB, FB, FB, FB, FB, FB]),
    (Route::HolderPasskeyFinish, Rel::OwnOffice,   [FB, A409, FB, FB, FB, FB]),
    (Route::HolderPasskeyFinish, Rel::OtherOffice, [FB, FB, FB, FB, FB, FB]),
    (Route::UnsealPasskeyStart, Rel::OwnOffice,    [FB, A409, FB, FB, FB, FB]),
    (Route::UnsealPasskeyStart, Rel::OtherOffice,  [FB, FB, FB, FB, FB, FB]),
    (Route::UnsealPasskeyFinish, Rel::OwnOffice,   [FB, A409, FB, FB, FB, FB]),
    (Route::UnsealPasskeyFinish, Rel::OtherOffice, [FB, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/time-zone: set_office_time_zone, rule 7a (issue 24).
    (Route::SetTimeZone, Rel::OwnOffice,     [FB, DN, FB, FB, FB, FB]),
    (Route::SetTimeZone, Rel::OtherOffice,   [FB, FB, FB, FB, FB, FB]),
];

const A409: Expect = Expect::Allowed(409);

/// Runs a custody cell, or `None` for a route of another table.
pub(super) async fn run_cell(
    app: &TestApp,
    w: &World,
    route: Route,
    rel: Rel,
    role: Role,
) -> Option<(Expect, String)> {
    let c = &w.clients[&role];
    let office = office_of(rel);
    let r = match route {
        Route::ListHolders => {
            c.get(app.url(&format!("/offices/{office}/holders")))
                .send()
                .await
        }
        Route::SetUpHolderKey => {
            c.post(app.url("/me/holder-key"))
                .json(&json!({"office": office}))
                .send()
                .await
        }
        Route::InviteHolder => c
            .post(app.url(&format!("/offices/{office}/holders")))
            .json(
                &json!({"username": "admin", "passphrase": app.creds.offices["bronx"].passphrase}),
            )
            .send()
            .await,
        Route::RemoveHolder => {
            // The admin's own holder key (looked up by the operator, whose decisions
            // are not the cell's), or an id that names nothing.
            let id = app
                .app
                .vault
                .list_holders(&casevault::vault::operator::actor(), office)
                .await
                .unwrap()
                .into_iter()
                .find(|h| h.username.as_deref() == Some("admin"))
                .map(|h| h.id)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            c.delete(app.url(&format!("/offices/{office}/holders/{id}")))
                .send()
                .await
        }
        Route::RotateKey => {
            c.post(app.url(&format!("/offices/{office}/rotate")))
                .send()
                .await
        }
        Route::MakeRecovery => {
            c.post(app.url(&format!("/offices/{office}/recovery")))
                .json(&json!({"threshold": 2, "shares": 2, "passphrase": app.creds.offices["bronx"].passphrase}))
                .send()
                .await
        }
        Route::HolderPasskeyStart => {
            c.post(app.url("/me/holder-key/passkey/start"))
                .json(&json!({"office": office}))
                .send()
                .await
        }
        Route::HolderPasskeyFinish => {
            c.post(app.url("/me/holder-key/passkey/finish"))
                .json(&json!({"office": office, "challenge_id": "x", "credential": {},
                    "prf": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "passphrase": "x"}))
                .send()
                .await
        }
        Route::UnsealPasskeyStart => {
            c.post(app.url(&format!("/offices/{office}/unseal/passkey/start")))
                .send()
                .await
        }
        Route::UnsealPasskeyFinish => {
            c.post(app.url(&format!("/offices/{office}/unseal/passkey/finish")))
                .json(&json!({"challenge_id": "x", "credential": {},
                    "prf": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))
                .send()
                .await
        }
        Route::SetTimeZone => {
            c.post(app.url(&format!("/offices/{office}/time-zone")))
                .json(&json!({"time_zone": "America/Chicago"}))
                .send()
                .await
        }
        _ => return None,
    };
    let r = r.unwrap();
    let s = r.status().as_u16();
    Some((Expect::Status(s), r.text().await.unwrap()))
}
