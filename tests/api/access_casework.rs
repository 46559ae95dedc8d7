//! The authorization matrix's casework rows (issue 11; policy rules 20-22, with 8, 12
//! and 16): editing details, versions, notes, events, renaming and shredding a
//! document, and "Coming up". A child of `access.rs`, whose one table these rows
//! join; kept apart only so that neither file grows past a sitting's reading.
//!
//! Invariant: the same as the table's: every cell runs against a real server, a
//! hidden case answers byte-for-byte like a missing one, and each request leaves
//! exactly one decision by its actor in the audit log.
use casevault::vault::{EventInput, UploadMeta};
use reqwest::Client;
use serde_json::{Value, json};

use super::*;

/// Rows: root (superadmin), admin (bronx), alice (bronx supervisor), carol (bronx
/// caseworker), pat (partner), audrey (auditor), as in `access.rs`.
#[rustfmt::skip]
pub(super) const MATRIX: &[(Route, Rel, [Expect; 6])] = &[
    // PATCH /cases/{case} (no version: applies to the current details): edit_case,
    // rule 20 (a supervisor of the office, the creator, an assignee). Partners,
    // administrators and the superadmin never change a client's details.
    (Route::EditCase, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::EditCase, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::EditCase, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::EditCase, Rel::SharedRead,      [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::SharedUpload,    [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::EditCase, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // GET /cases/{case}/versions: earlier details are for those who may edit them
    // (edit_case, rule 20); a partner with any share reads the current details only.
    (Route::Versions, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::Versions, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::Versions, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::Versions, Rel::SharedRead,      [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::SharedUpload,    [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::Versions, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // POST /cases/{case}/notes: add_note, rule 20; a share (even with notes) lets a
    // partner read notes, never write them.
    (Route::AddNote, Rel::OwnCase,          [NF, NF, CR, CR, NF, NF]),
    (Route::AddNote, Rel::AssignedCase,     [NF, NF, CR, CR, NF, NF]),
    (Route::AddNote, Rel::UnassignedCase,   [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::OtherOfficeCase,  [NF, NF, NF, NF, NF, NF]),
    (Route::AddNote, Rel::SharedRead,       [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::SharedUpload,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::ExpiredShare,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::RevokedShare,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::NoShare,          [NF, NF, CR, NF, NF, NF]),
    (Route::AddNote, Rel::MissingCase,      [NF, NF, NF, NF, NF, NF]),
    (Route::AddNote, Rel::SharedNotes,      [NF, NF, CR, NF, NF, NF]),
    // GET /cases/{case}/notes: read_notes, rule 21: rule 20's caseworkers, and a
    // partner only through a live share with notes (a plain share: 404).
    (Route::ListNotes, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::ListNotes, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::ListNotes, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::ListNotes, Rel::SharedRead,      [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::SharedUpload,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::ListNotes, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    (Route::ListNotes, Rel::SharedNotes,     [NF, NF, OK, NF, OK, NF]),
    // POST /cases/{case}/events: add_event, rule 20, as for notes.
    (Route::AddEvent, Rel::OwnCase,          [NF, NF, CR, CR, NF, NF]),
    (Route::AddEvent, Rel::AssignedCase,     [NF, NF, CR, CR, NF, NF]),
    (Route::AddEvent, Rel::UnassignedCase,   [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::OtherOfficeCase,  [NF, NF, NF, NF, NF, NF]),
    (Route::AddEvent, Rel::SharedRead,       [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::SharedUpload,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::ExpiredShare,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::RevokedShare,     [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::NoShare,          [NF, NF, CR, NF, NF, NF]),
    (Route::AddEvent, Rel::MissingCase,      [NF, NF, NF, NF, NF, NF]),
    (Route::AddEvent, Rel::SharedNotes,      [NF, NF, CR, NF, NF, NF]),
    // GET /cases/{case}/events: read_events, rule 21, as for notes.
    (Route::ListEvents, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::ListEvents, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::ListEvents, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::ListEvents, Rel::SharedRead,      [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::SharedUpload,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::ListEvents, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    (Route::ListEvents, Rel::SharedNotes,     [NF, NF, OK, NF, OK, NF]),
    // PATCH /cases/{case}/documents/{doc}: rename_document, rule 20.
    (Route::RenameDocument, Rel::OwnCase,         [NF, NF, DN, DN, NF, NF]),
    (Route::RenameDocument, Rel::AssignedCase,    [NF, NF, DN, DN, NF, NF]),
    (Route::RenameDocument, Rel::UnassignedCase,  [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::RenameDocument, Rel::SharedRead,      [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::SharedUpload,    [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::ExpiredShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::RevokedShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::NoShare,         [NF, NF, DN, NF, NF, NF]),
    (Route::RenameDocument, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // POST /cases/{case}/documents/{doc}/purge, on a document the operator uploaded
    // for the cell (so nobody asking is its uploader; the uploader's 24 hours are
    // casework_purge.rs): purge_document, rule 8 (the office admin) and rule 22 (a
    // supervisor of the office), with the fresh code of rule 12.
    (Route::PurgeDocument, Rel::OwnCase,         [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::AssignedCase,    [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::UnassignedCase,  [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::PurgeDocument, Rel::SharedRead,      [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::SharedUpload,    [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::ExpiredShare,    [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::RevokedShare,    [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::NoShare,         [NF, OK, OK, NF, NF, NF]),
    (Route::PurgeDocument, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // GET /upcoming: rule 2 lets everyone ask; rule 21 decides whose hearings appear
    // (every case of the world has one in the next days).
    (Route::Upcoming, Rel::OwnCase,         [NO, NO, IN, IN, NO, NO]),
    (Route::Upcoming, Rel::AssignedCase,    [NO, NO, IN, IN, NO, NO]),
    (Route::Upcoming, Rel::UnassignedCase,  [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::OtherOfficeCase, [NO, NO, NO, NO, NO, NO]),
    (Route::Upcoming, Rel::SharedRead,      [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::SharedUpload,    [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::ExpiredShare,    [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::RevokedShare,    [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::NoShare,         [NO, NO, IN, NO, NO, NO]),
    (Route::Upcoming, Rel::MissingCase,     [NO, NO, NO, NO, NO, NO]),
    (Route::Upcoming, Rel::SharedNotes,     [NO, NO, IN, NO, IN, NO]),
];

/// A live read share to pat that includes notes and events.
pub(super) async fn share_with_notes(app: &TestApp, c: &Client, case: &str) {
    let r = c
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(
            &json!({"username": "pat", "permission": "read", "notes": true,
                      "expires_at": in_secs(app, 30 * 86400)}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// A hearing three days from now, added by the operator.
pub(super) async fn plant_event(app: &TestApp, case: &str) {
    let date = crate::casekit::day(app, 3);
    app.app
        .vault
        .add_event(
            &casevault::vault::operator::actor(),
            case,
            &EventInput {
                kind: "hearing".into(),
                date,
                time: Some("09:00".into()),
                place: None,
                description: None,
                replaces: None,
            },
        )
        .await
        .expect("operator adds an event");
}

/// A document the operator uploads to a cell's case (nobody who asks uploaded it).
async fn operator_upload(app: &TestApp, case: &str) -> String {
    let chunk: Result<bytes::Bytes, std::io::Error> = Ok(bytes::Bytes::from(bytes(64, 5)));
    app.app
        .vault
        .store_document(
            &casevault::vault::operator::actor(),
            case,
            UploadMeta {
                filename: "cell.pdf".into(),
                content_type: Some("application/pdf".into()),
                declared_size: None,
            },
            futures_util::stream::iter([chunk]),
        )
        .await
        .expect("operator upload")
        .0
}

/// Runs a casework cell; `None` for a route of `access.rs`'s own.
pub(super) async fn run_cell(
    app: &TestApp,
    w: &World,
    route: Route,
    rel: Rel,
    role: Role,
) -> Option<(Expect, String)> {
    let c = &w.clients[&role];
    let target = w.cases.get(&rel);
    let case = target.map(|t| t.case.as_str()).unwrap_or("");
    let doc = target.map(|t| t.doc.as_str()).unwrap_or("");
    let r = match route {
        Route::EditCase => {
            c.patch(app.url(&format!("/cases/{case}")))
                .json(&json!({"notes": w.unique("edited by the matrix ")}))
                .send()
                .await
        }
        Route::Versions => {
            c.get(app.url(&format!("/cases/{case}/versions")))
                .send()
                .await
        }
        Route::AddNote => {
            c.post(app.url(&format!("/cases/{case}/notes")))
                .json(&json!({"text": "a matrix note"}))
                .send()
                .await
        }
        Route::ListNotes => c.get(app.url(&format!("/cases/{case}/notes"))).send().await,
        Route::AddEvent => {
            c.post(app.url(&format!("/cases/{case}/events")))
                .json(&json!({"kind": "other", "date": crate::casekit::day(app, 400)}))
                .send()
                .await
        }
        Route::ListEvents => {
            c.get(app.url(&format!("/cases/{case}/events")))
                .send()
                .await
        }
        Route::RenameDocument => {
            c.patch(app.url(&format!("/cases/{case}/documents/{doc}")))
                .json(&json!({"filename": format!("{}.pdf", w.unique("renamed-"))}))
                .send()
                .await
        }
        Route::PurgeDocument => {
            let doc = if rel == Rel::MissingCase {
                uuid::Uuid::new_v4().to_string()
            } else {
                operator_upload(app, case).await
            };
            c.post(app.url(&format!("/cases/{case}/documents/{doc}/purge")))
                .json(&json!({}))
                .send()
                .await
        }
        Route::Upcoming => {
            let r = c.get(app.url("/upcoming")).send().await.unwrap();
            if r.status() != StatusCode::OK {
                let s = r.status().as_u16();
                return Some((Expect::Status(s), r.text().await.unwrap()));
            }
            let v: Value = r.json().await.unwrap();
            let listed = v["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["case_id"] == case);
            return Some((if listed { IN } else { NO }, String::new()));
        }
        _ => return None,
    }
    .unwrap();
    let status = r.status().as_u16();
    Some((Expect::Status(status), r.text().await.unwrap()))
}
