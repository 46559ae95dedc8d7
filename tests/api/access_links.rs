//! The authorization matrix's client-upload-link rows (issue 25; policy rules 3, 4, 6
//! and 16 for `make_upload_link`): making, listing and revoking a case's links. A
//! child of `access.rs`, whose one table these rows join.
//!
//! Invariant: as the table's: every cell runs against a real server, a hidden case
//! answers byte-for-byte like a missing one, and each request leaves exactly one
//! decision by its actor in the audit log.
use casevault::vault::LinkInput;
use serde_json::json;

use super::*;

/// Rows: root (superadmin), admin (bronx), alice (bronx supervisor), carol (bronx
/// caseworker), pat (partner), audrey (auditor), as in `access.rs`. Whoever may add
/// documents to a case may make its links (rules 3, 4, 6): administrators, auditors
/// and the superadmin never; a partner only while an upload share is live.
#[rustfmt::skip]
pub(super) const MATRIX: &[(Route, Rel, [Expect; 6])] = &[
    // POST /cases/{case}/upload-links.
    (Route::MakeLink, Rel::OwnCase,         [NF, NF, CR, CR, NF, NF]),
    (Route::MakeLink, Rel::AssignedCase,    [NF, NF, CR, CR, NF, NF]),
    (Route::MakeLink, Rel::UnassignedCase,  [NF, NF, CR, NF, NF, NF]),
    (Route::MakeLink, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::MakeLink, Rel::SharedRead,      [NF, NF, CR, NF, NF, NF]),
    (Route::MakeLink, Rel::SharedUpload,    [NF, NF, CR, NF, CR, NF]),
    (Route::MakeLink, Rel::ExpiredShare,    [NF, NF, CR, NF, NF, NF]),
    (Route::MakeLink, Rel::RevokedShare,    [NF, NF, CR, NF, NF, NF]),
    (Route::MakeLink, Rel::NoShare,         [NF, NF, CR, NF, NF, NF]),
    (Route::MakeLink, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // GET /cases/{case}/upload-links: the same rules.
    (Route::ListLinks, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::ListLinks, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::ListLinks, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::ListLinks, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::ListLinks, Rel::SharedRead,      [NF, NF, OK, NF, NF, NF]),
    (Route::ListLinks, Rel::SharedUpload,    [NF, NF, OK, NF, OK, NF]),
    (Route::ListLinks, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListLinks, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListLinks, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::ListLinks, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // DELETE /cases/{case}/upload-links/{link} (a live link made for the cell).
    (Route::RevokeLink, Rel::OwnCase,         [NF, NF, DN, DN, NF, NF]),
    (Route::RevokeLink, Rel::AssignedCase,    [NF, NF, DN, DN, NF, NF]),
    (Route::RevokeLink, Rel::UnassignedCase,  [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeLink, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::RevokeLink, Rel::SharedRead,      [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeLink, Rel::SharedUpload,    [NF, NF, DN, NF, DN, NF]),
    (Route::RevokeLink, Rel::ExpiredShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeLink, Rel::RevokedShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeLink, Rel::NoShare,         [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeLink, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
];

/// Runs a link cell, or `None` for a route of another table.
pub(super) async fn run_cell(
    app: &TestApp,
    w: &World,
    route: Route,
    rel: Rel,
    role: Role,
) -> Option<(Expect, String)> {
    let c = &w.clients[&role];
    let case = w.cases.get(&rel).map(|t| t.case.as_str()).unwrap_or("");
    let r = match route {
        Route::MakeLink => {
            c.post(app.url(&format!("/cases/{case}/upload-links")))
                .json(&json!({"expires_in_days": 2, "max_files": 3, "language": "es"}))
                .send()
                .await
        }
        Route::ListLinks => {
            c.get(app.url(&format!("/cases/{case}/upload-links")))
                .send()
                .await
        }
        Route::RevokeLink => {
            // A live link made for this cell alone (by the operator, whose decisions
            // are not the cell's), so cells stay independent.
            let link = if rel == Rel::MissingCase {
                uuid::Uuid::new_v4().to_string()
            } else {
                app.app
                    .vault
                    .make_upload_link(
                        &casevault::vault::operator::actor(),
                        case,
                        LinkInput::default(),
                    )
                    .await
                    .expect("operator makes a link")
                    .id
            };
            c.delete(app.url(&format!("/cases/{case}/upload-links/{link}")))
                .json(&json!({}))
                .send()
                .await
        }
        _ => return None,
    };
    let r = r.unwrap();
    let s = r.status().as_u16();
    Some((Expect::Status(s), r.text().await.unwrap()))
}
