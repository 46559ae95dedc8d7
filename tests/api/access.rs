//! The authorization matrix (issue 3): ONE table, derived from the intent of
//! `policy/casevault.cedar`, giving for every route × role × relation the answer the
//! real server must give. Every combination is enumerated programmatically; a cell the
//! table does not cover (or covers twice, or covers for a relation the route does not
//! take) fails the test before a single request is made. Then every cell runs against a
//! real server, every "not found" must be byte-identical to a case that does not
//! exist, and every request must leave exactly one decision (allow or deny) by its
//! actor in the audit log.
use std::collections::BTreeMap;

use age::secrecy::SecretString;
use casevault::store::{AuditRow, StoreError};
use casevault::vault::NewUser;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::authkit::*;
use crate::helpers::*;

#[path = "access_casework.rs"]
mod casework;
#[path = "access_custody.rs"]
mod custody;
#[path = "access_links.rs"]
mod links;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    ListCases,
    GetCase,
    ListDocuments,
    Download,
    Upload,
    Share,
    RevokeShare,
    Assign,
    CreateCase,
    Seal,
    Unseal,
    CreateUser,
    DisableUser,
    EnableUser,
    ResetPassword,
    ResetTotp,
    SealAll,
    ListUsers,
    ListOffices,
    CreateOffice,
    // Casework (issue 11): the table's rows for these are in `access_casework.rs`.
    EditCase,
    Versions,
    AddNote,
    ListNotes,
    AddEvent,
    ListEvents,
    RenameDocument,
    PurgeDocument,
    Upcoming,
    // Key custody (issue 23): the rows are in `access_custody.rs`.
    ListHolders,
    InviteHolder,
    SetUpHolderKey,
    RemoveHolder,
    RotateKey,
    MakeRecovery,
    HolderPasskeyStart,
    HolderPasskeyFinish,
    UnsealPasskeyStart,
    UnsealPasskeyFinish,
    SetTimeZone,
    // Client upload links (issue 25): the rows are in `access_links.rs`.
    MakeLink,
    ListLinks,
    RevokeLink,
}

const ROUTES: [Route; 43] = [
    Route::ListCases,
    Route::GetCase,
    Route::ListDocuments,
    Route::Download,
    Route::Upload,
    Route::Share,
    Route::RevokeShare,
    Route::Assign,
    Route::CreateCase,
    Route::Seal,
    Route::Unseal,
    Route::CreateUser,
    Route::DisableUser,
    Route::EnableUser,
    Route::ResetPassword,
    Route::ResetTotp,
    Route::SealAll,
    Route::ListUsers,
    Route::ListOffices,
    Route::CreateOffice,
    Route::EditCase,
    Route::Versions,
    Route::AddNote,
    Route::ListNotes,
    Route::AddEvent,
    Route::ListEvents,
    Route::RenameDocument,
    Route::PurgeDocument,
    Route::Upcoming,
    Route::ListHolders,
    Route::InviteHolder,
    Route::SetUpHolderKey,
    Route::RemoveHolder,
    Route::RotateKey,
    Route::MakeRecovery,
    Route::HolderPasskeyStart,
    Route::HolderPasskeyFinish,
    Route::UnsealPasskeyStart,
    Route::UnsealPasskeyFinish,
    Route::SetTimeZone,
    Route::MakeLink,
    Route::ListLinks,
    Route::RevokeLink,
];

/// What the request is aimed at, seen from the office `bronx` (the home of admin,
/// alice and carol; for roles without an office, "own office" means bronx too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rel {
    /// A bronx case carol (non-supervising caseworker) created.
    OwnCase,
    /// A bronx case alice created and the admin assigned to carol.
    AssignedCase,
    /// A bronx case alice created; nobody assigned, no share.
    UnassignedCase,
    /// A queens case bob created.
    OtherOfficeCase,
    /// A bronx case with a live read share to pat.
    SharedRead,
    /// A bronx case with a live upload share to pat.
    SharedUpload,
    /// A bronx case whose upload share to pat has expired.
    ExpiredShare,
    /// A bronx case whose upload share to pat was revoked.
    RevokedShare,
    /// A bronx case shared (upload) with another partner, quinn, not with pat.
    NoShare,
    /// A case id that does not exist.
    MissingCase,
    /// A bronx case with a live read share to pat that includes notes (taken only by
    /// the notes, events and "Coming up" routes: the older routes treat it as
    /// `SharedRead`).
    SharedNotes,
    /// Office bronx.
    OwnOffice,
    /// Office queens.
    OtherOffice,
    /// A caseworker account of bronx.
    OwnOfficeCaseworker,
    /// A caseworker account of queens.
    OtherOfficeCaseworker,
    /// An administrator account of bronx.
    OwnOfficeAdmin,
    /// A partner account.
    PartnerAccount,
    /// The vault as a whole.
    System,
}

const CASE_RELS: &[Rel] = &[
    Rel::OwnCase,
    Rel::AssignedCase,
    Rel::UnassignedCase,
    Rel::OtherOfficeCase,
    Rel::SharedRead,
    Rel::SharedUpload,
    Rel::ExpiredShare,
    Rel::RevokedShare,
    Rel::NoShare,
    Rel::MissingCase,
];
/// The case relations and a share with notes: the routes that read or add notes and
/// events, and "Coming up" (policy rule 21 tells the two kinds of share apart).
const NOTES_RELS: &[Rel] = &[
    Rel::OwnCase,
    Rel::AssignedCase,
    Rel::UnassignedCase,
    Rel::OtherOfficeCase,
    Rel::SharedRead,
    Rel::SharedUpload,
    Rel::ExpiredShare,
    Rel::RevokedShare,
    Rel::NoShare,
    Rel::MissingCase,
    Rel::SharedNotes,
];
const OFFICE_RELS: &[Rel] = &[Rel::OwnOffice, Rel::OtherOffice];
const USER_RELS: &[Rel] = &[
    Rel::OwnOfficeCaseworker,
    Rel::OtherOfficeCaseworker,
    Rel::OwnOfficeAdmin,
    Rel::PartnerAccount,
];
const SYSTEM_RELS: &[Rel] = &[Rel::System];

impl Route {
    fn relations(self) -> &'static [Rel] {
        use Route::*;
        match self {
            ListCases | GetCase | ListDocuments | Download | Upload | Share | RevokeShare
            | Assign => CASE_RELS,
            CreateCase | Seal | Unseal => OFFICE_RELS,
            ListHolders | SetUpHolderKey | InviteHolder | RemoveHolder | RotateKey
            | MakeRecovery | HolderPasskeyStart | HolderPasskeyFinish | UnsealPasskeyStart
            | UnsealPasskeyFinish | SetTimeZone => OFFICE_RELS,
            CreateUser | DisableUser | EnableUser | ResetPassword | ResetTotp => USER_RELS,
            SealAll | ListUsers | ListOffices | CreateOffice => SYSTEM_RELS,
            EditCase | Versions | RenameDocument | PurgeDocument => CASE_RELS,
            MakeLink | ListLinks | RevokeLink => CASE_RELS,
            AddNote | ListNotes | AddEvent | ListEvents | Upcoming => NOTES_RELS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Superadmin,
    Admin,
    Supervisor,
    Caseworker,
    Partner,
    Auditor,
}

/// Column order of the table, and who plays each role.
const ROLES: [(Role, &str); 6] = [
    (Role::Superadmin, "root"),
    (Role::Admin, "admin"),
    (Role::Supervisor, "alice"),
    (Role::Caseworker, "carol"),
    (Role::Partner, "pat"),
    (Role::Auditor, "audrey"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// `GET /cases` answers 200 and lists the case.
    Listed,
    /// `GET /cases` answers 200 and does not list the case.
    NotListed,
    /// The policy allows it (one `allow` decision), and the vault then answers this
    /// status for a reason of the request's own (the caller has no passkey yet).
    Allowed(u16),
}

const OK: Expect = Expect::Status(200);
const CR: Expect = Expect::Status(201);
const DN: Expect = Expect::Status(204);
const NF: Expect = Expect::Status(404);
const FB: Expect = Expect::Status(403);
const IN: Expect = Expect::Listed;
const NO: Expect = Expect::NotListed;

/// THE TABLE. Columns: root (superadmin), admin (bronx), alice (bronx supervisor),
/// carol (bronx caseworker), pat (partner), audrey (auditor). Rule numbers refer to
/// policy/casevault.cedar. Cases the caller may not see answer 404 (never 403);
/// offices, users and the vault are not secret and answer 403.
#[rustfmt::skip]
const MATRIX: &[(Route, Rel, [Expect; 6])] = &[
    // GET /cases: rule 2 lets everyone list; rules 3-6 decide which cases appear.
    // Admins, auditors and the superadmin never see a case (rules 7, 10, 11).
    (Route::ListCases, Rel::OwnCase,         [NO, NO, IN, IN, NO, NO]),
    (Route::ListCases, Rel::AssignedCase,    [NO, NO, IN, IN, NO, NO]),
    (Route::ListCases, Rel::UnassignedCase,  [NO, NO, IN, NO, NO, NO]),
    (Route::ListCases, Rel::OtherOfficeCase, [NO, NO, NO, NO, NO, NO]),
    (Route::ListCases, Rel::SharedRead,      [NO, NO, IN, NO, IN, NO]),
    (Route::ListCases, Rel::SharedUpload,    [NO, NO, IN, NO, IN, NO]),
    (Route::ListCases, Rel::ExpiredShare,    [NO, NO, IN, NO, NO, NO]),
    (Route::ListCases, Rel::RevokedShare,    [NO, NO, IN, NO, NO, NO]),
    (Route::ListCases, Rel::NoShare,         [NO, NO, IN, NO, NO, NO]),
    (Route::ListCases, Rel::MissingCase,     [NO, NO, NO, NO, NO, NO]),
    // GET /cases/{case}: read_case, rules 3 (supervisor), 4 (own/assigned), 5 (live share).
    (Route::GetCase, Rel::OwnCase,           [NF, NF, OK, OK, NF, NF]),
    (Route::GetCase, Rel::AssignedCase,      [NF, NF, OK, OK, NF, NF]),
    (Route::GetCase, Rel::UnassignedCase,    [NF, NF, OK, NF, NF, NF]),
    (Route::GetCase, Rel::OtherOfficeCase,   [NF, NF, NF, NF, NF, NF]),
    (Route::GetCase, Rel::SharedRead,        [NF, NF, OK, NF, OK, NF]),
    (Route::GetCase, Rel::SharedUpload,      [NF, NF, OK, NF, OK, NF]),
    (Route::GetCase, Rel::ExpiredShare,      [NF, NF, OK, NF, NF, NF]),
    (Route::GetCase, Rel::RevokedShare,      [NF, NF, OK, NF, NF, NF]),
    (Route::GetCase, Rel::NoShare,           [NF, NF, OK, NF, NF, NF]),
    (Route::GetCase, Rel::MissingCase,       [NF, NF, NF, NF, NF, NF]),
    // GET /cases/{case}/documents: read_case, as above.
    (Route::ListDocuments, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::ListDocuments, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::ListDocuments, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::ListDocuments, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::ListDocuments, Rel::SharedRead,      [NF, NF, OK, NF, OK, NF]),
    (Route::ListDocuments, Rel::SharedUpload,    [NF, NF, OK, NF, OK, NF]),
    (Route::ListDocuments, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListDocuments, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::ListDocuments, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::ListDocuments, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // GET /cases/{case}/documents/{doc}: read_case, as above.
    (Route::Download, Rel::OwnCase,         [NF, NF, OK, OK, NF, NF]),
    (Route::Download, Rel::AssignedCase,    [NF, NF, OK, OK, NF, NF]),
    (Route::Download, Rel::UnassignedCase,  [NF, NF, OK, NF, NF, NF]),
    (Route::Download, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::Download, Rel::SharedRead,      [NF, NF, OK, NF, OK, NF]),
    (Route::Download, Rel::SharedUpload,    [NF, NF, OK, NF, OK, NF]),
    (Route::Download, Rel::ExpiredShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::Download, Rel::RevokedShare,    [NF, NF, OK, NF, NF, NF]),
    (Route::Download, Rel::NoShare,         [NF, NF, OK, NF, NF, NF]),
    (Route::Download, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // POST /cases/{case}/documents: upload_document, rules 3, 4, 6 (upload share only).
    (Route::Upload, Rel::OwnCase,           [NF, NF, CR, CR, NF, NF]),
    (Route::Upload, Rel::AssignedCase,      [NF, NF, CR, CR, NF, NF]),
    (Route::Upload, Rel::UnassignedCase,    [NF, NF, CR, NF, NF, NF]),
    (Route::Upload, Rel::OtherOfficeCase,   [NF, NF, NF, NF, NF, NF]),
    (Route::Upload, Rel::SharedRead,        [NF, NF, CR, NF, NF, NF]),
    (Route::Upload, Rel::SharedUpload,      [NF, NF, CR, NF, CR, NF]),
    (Route::Upload, Rel::ExpiredShare,      [NF, NF, CR, NF, NF, NF]),
    (Route::Upload, Rel::RevokedShare,      [NF, NF, CR, NF, NF, NF]),
    (Route::Upload, Rel::NoShare,           [NF, NF, CR, NF, NF, NF]),
    (Route::Upload, Rel::MissingCase,       [NF, NF, NF, NF, NF, NF]),
    // POST /cases/{case}/shares: share_case, rules 3 and 4; partners never share.
    (Route::Share, Rel::OwnCase,            [NF, NF, CR, CR, NF, NF]),
    (Route::Share, Rel::AssignedCase,       [NF, NF, CR, CR, NF, NF]),
    (Route::Share, Rel::UnassignedCase,     [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::OtherOfficeCase,    [NF, NF, NF, NF, NF, NF]),
    (Route::Share, Rel::SharedRead,         [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::SharedUpload,       [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::ExpiredShare,       [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::RevokedShare,       [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::NoShare,            [NF, NF, CR, NF, NF, NF]),
    (Route::Share, Rel::MissingCase,        [NF, NF, NF, NF, NF, NF]),
    // DELETE /cases/{case}/shares/{share}: share_case, as above.
    (Route::RevokeShare, Rel::OwnCase,         [NF, NF, DN, DN, NF, NF]),
    (Route::RevokeShare, Rel::AssignedCase,    [NF, NF, DN, DN, NF, NF]),
    (Route::RevokeShare, Rel::UnassignedCase,  [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::RevokeShare, Rel::SharedRead,      [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::SharedUpload,    [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::ExpiredShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::RevokedShare,    [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::NoShare,         [NF, NF, DN, NF, NF, NF]),
    (Route::RevokeShare, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // POST /cases/{case}/assignments (assign dave, a bronx caseworker): rule 8, the
    // office admin only; assigning reads nothing of the case.
    (Route::Assign, Rel::OwnCase,         [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::AssignedCase,    [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::UnassignedCase,  [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::OtherOfficeCase, [NF, NF, NF, NF, NF, NF]),
    (Route::Assign, Rel::SharedRead,      [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::SharedUpload,    [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::ExpiredShare,    [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::RevokedShare,    [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::NoShare,         [NF, DN, NF, NF, NF, NF]),
    (Route::Assign, Rel::MissingCase,     [NF, NF, NF, NF, NF, NF]),
    // POST /cases: create_case, rule 1 (caseworkers, own office only).
    (Route::CreateCase, Rel::OwnOffice,     [FB, FB, CR, CR, FB, FB]),
    (Route::CreateCase, Rel::OtherOffice,   [FB, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/seal: rule 7 (own office admin), rule 10 (superadmin, any).
    (Route::Seal, Rel::OwnOffice,           [DN, DN, FB, FB, FB, FB]),
    (Route::Seal, Rel::OtherOffice,         [DN, FB, FB, FB, FB, FB]),
    // POST /offices/{office}/unseal: rule 7 only (the superadmin may seal, not unseal).
    (Route::Unseal, Rel::OwnOffice,         [FB, DN, FB, FB, FB, FB]),
    (Route::Unseal, Rel::OtherOffice,       [FB, FB, FB, FB, FB, FB]),
    // POST /users: manage_users, rule 7b (admin: caseworkers of own office), rule 10.
    (Route::CreateUser, Rel::OwnOfficeCaseworker,   [CR, CR, FB, FB, FB, FB]),
    (Route::CreateUser, Rel::OtherOfficeCaseworker, [CR, FB, FB, FB, FB, FB]),
    (Route::CreateUser, Rel::OwnOfficeAdmin,        [CR, FB, FB, FB, FB, FB]),
    (Route::CreateUser, Rel::PartnerAccount,        [CR, FB, FB, FB, FB, FB]),
    // POST /users/{user}/disable: manage_users, as above.
    (Route::DisableUser, Rel::OwnOfficeCaseworker,   [DN, DN, FB, FB, FB, FB]),
    (Route::DisableUser, Rel::OtherOfficeCaseworker, [DN, FB, FB, FB, FB, FB]),
    (Route::DisableUser, Rel::OwnOfficeAdmin,        [DN, FB, FB, FB, FB, FB]),
    (Route::DisableUser, Rel::PartnerAccount,        [DN, FB, FB, FB, FB, FB]),
    // POST /users/{user}/enable, reset-password, reset-totp: manage_users, as above.
    (Route::EnableUser, Rel::OwnOfficeCaseworker,   [DN, DN, FB, FB, FB, FB]),
    (Route::EnableUser, Rel::OtherOfficeCaseworker, [DN, FB, FB, FB, FB, FB]),
    (Route::EnableUser, Rel::OwnOfficeAdmin,        [DN, FB, FB, FB, FB, FB]),
    (Route::EnableUser, Rel::PartnerAccount,        [DN, FB, FB, FB, FB, FB]),
    (Route::ResetPassword, Rel::OwnOfficeCaseworker,   [DN, DN, FB, FB, FB, FB]),
    (Route::ResetPassword, Rel::OtherOfficeCaseworker, [DN, FB, FB, FB, FB, FB]),
    (Route::ResetPassword, Rel::OwnOfficeAdmin,        [DN, FB, FB, FB, FB, FB]),
    (Route::ResetPassword, Rel::PartnerAccount,        [DN, FB, FB, FB, FB, FB]),
    (Route::ResetTotp, Rel::OwnOfficeCaseworker,   [DN, DN, FB, FB, FB, FB]),
    (Route::ResetTotp, Rel::OtherOfficeCaseworker, [DN, FB, FB, FB, FB, FB]),
    (Route::ResetTotp, Rel::OwnOfficeAdmin,        [DN, FB, FB, FB, FB, FB]),
    (Route::ResetTotp, Rel::PartnerAccount,        [DN, FB, FB, FB, FB, FB]),
    // POST /seal-all: rule 9.
    (Route::SealAll, Rel::System,           [OK, OK, FB, FB, FB, FB]),
    // GET /users: manage_users (admin: own office; superadmin: all).
    (Route::ListUsers, Rel::System,         [OK, OK, FB, FB, FB, FB]),
    // GET /offices: rule 2.
    (Route::ListOffices, Rel::System,       [OK, OK, OK, OK, OK, OK]),
    // POST /offices: create_office, rule 10.
    (Route::CreateOffice, Rel::System,      [CR, FB, FB, FB, FB, FB]),
];

type Cell = (Route, Rel, Role);

/// The table as a map, after checking it covers every combination exactly once.
fn expectations() -> BTreeMap<Cell, Expect> {
    let mut map = BTreeMap::new();
    let mut problems = Vec::new();
    let tables = MATRIX.iter().chain(casework::MATRIX).chain(custody::MATRIX);
    for (route, rel, row) in tables.chain(links::MATRIX) {
        if !route.relations().contains(rel) {
            problems.push(format!("{route:?} does not take relation {rel:?}"));
        }
        for ((role, _), e) in ROLES.iter().zip(row) {
            if map.insert((*route, *rel, *role), *e).is_some() {
                problems.push(format!("duplicate cell {route:?} × {role:?} × {rel:?}"));
            }
        }
    }
    for route in ROUTES {
        for rel in route.relations() {
            for (role, _) in ROLES {
                if !map.contains_key(&(route, *rel, role)) {
                    problems.push(format!("no expectation for {route:?} × {role:?} × {rel:?}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the authorization matrix does not cover the policy:\n{}",
        problems.join("\n")
    );
    map
}

#[test]
fn matrix_covers_every_route_role_and_relation() {
    let m = expectations();
    let enumerated: usize = ROUTES.iter().map(|r| r.relations().len()).sum::<usize>() * ROLES.len();
    assert_eq!(m.len(), enumerated);
}

/// A case of the fixture world, with one document in it.
struct Target {
    case: String,
    doc: String,
}

struct World {
    cases: BTreeMap<Rel, Target>,
    /// A bronx caseworker who never acts: the one assigned by the Assign cells.
    dave: String,
    clients: BTreeMap<Role, Client>,
    ids: BTreeMap<Role, String>,
    counter: std::cell::Cell<u32>,
}

impl World {
    fn unique(&self, prefix: &str) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("{prefix}{n}")
    }
}

async fn share(app: &TestApp, c: &Client, case: &str, who: &str, perm: &str, secs: i64) -> String {
    let r = c
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": who, "permission": perm, "expires_at": in_secs(app, secs)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn build_world(app: &TestApp) -> World {
    let admin = app.login("admin").await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let root = app.login("root").await;
    // carol: a bronx caseworker who does not supervise, made and enrolled via the API.
    let carol = create_and_enrol(
        app,
        &admin,
        json!({"username": "carol", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    // An admin-made caseworker reads once a supervisor has confirmed it (rule 16).
    crate::authkit::confirm_access(app, &alice, &carol.id).await;
    // quinn: a second partner, so that "a share exists, but not to pat" is a relation.
    let r = root
        .post(app.url("/users"))
        .json(&json!({"username": "quinn", "role": "partner", "org": "other-org", "password": STRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let mut cases = BTreeMap::new();
    let mut add = |rel: Rel, case: String, doc: String| {
        cases.insert(rel, Target { case, doc });
    };
    let new_case = |c: &Client, office: &'static str| {
        let c = c.clone();
        async move { app.create_case(&c, office, "Matrix Client", None).await }
    };
    let with_doc = |c: &Client, case: String| {
        let c = c.clone();
        async move {
            let doc = app.upload_ok(&c, &case, "m.pdf", bytes(100, 7)).await;
            (case, doc)
        }
    };
    let (c, d) = with_doc(&carol.client, new_case(&carol.client, "bronx").await).await;
    add(Rel::OwnCase, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    let r = admin
        .post(app.url(&format!("/cases/{c}/assignments")))
        .json(&json!({"user_id": carol.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    add(Rel::AssignedCase, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    add(Rel::UnassignedCase, c, d);
    let (c, d) = with_doc(&bob, new_case(&bob, "queens").await).await;
    add(Rel::OtherOfficeCase, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    share(app, &alice, &c, "pat", "read", 30 * 86400).await;
    add(Rel::SharedRead, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    share(app, &alice, &c, "pat", "upload", 30 * 86400).await;
    add(Rel::SharedUpload, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    share(app, &alice, &c, "pat", "upload", 60).await;
    add(Rel::ExpiredShare, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    let s = share(app, &alice, &c, "pat", "upload", 30 * 86400).await;
    let r = alice
        .delete(app.url(&format!("/cases/{c}/shares/{s}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    add(Rel::RevokedShare, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    share(app, &alice, &c, "quinn", "upload", 30 * 86400).await;
    add(Rel::NoShare, c, d);
    let (c, d) = with_doc(&alice, new_case(&alice, "bronx").await).await;
    casework::share_with_notes(app, &alice, &c).await;
    add(Rel::SharedNotes, c, d);
    add(
        Rel::MissingCase,
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );

    // Every case has a hearing in the next days, for "Coming up".
    for (rel, t) in &cases {
        if *rel != Rel::MissingCase {
            casework::plant_event(app, &t.case).await;
        }
    }

    // The 60-second share runs out.
    app.clock.advance(120);

    // Fresh sessions for the actors (a code proved within the step-up window).
    let mut clients = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for (role, name) in ROLES {
        let (c, id) = if name == "carol" {
            (login_account(app, &carol).await, carol.id.clone())
        } else {
            (app.login(name).await, app.user_id(name))
        };
        clients.insert(role, c);
        ids.insert(role, id);
    }
    let dave = app
        .app
        .vault
        .create_user(
            &casevault::vault::operator::actor(),
            NewUser {
                username: "dave".into(),
                role: "caseworker".into(),
                office: Some("bronx".into()),
                org: None,
                supervisor: false,
                password: Zeroizing::new(STRONG.to_string()),
            },
            casevault::vault::StepUp::none(),
        )
        .await
        .unwrap()
        .id;
    World {
        cases,
        dave,
        clients,
        ids,
        counter: std::cell::Cell::new(0),
    }
}

fn office_of(rel: Rel) -> &'static str {
    match rel {
        Rel::OtherOffice => "queens",
        _ => "bronx",
    }
}

/// Puts the offices back the way the world expects them (unsealed).
async fn unseal_all(app: &TestApp) {
    for slug in ["bronx", "queens"] {
        let pass = app.creds.offices[slug].passphrase.clone();
        casevault::vault::operator::unseal(&app.app.vault, slug, SecretString::from(pass))
            .await
            .expect("operator unseal");
    }
}

/// A fresh account for a user-management cell, made by the operator.
async fn target_user(app: &TestApp, w: &World, rel: Rel) -> String {
    let (role, office, org) = match rel {
        Rel::OwnOfficeCaseworker => ("caseworker", Some("bronx"), None),
        Rel::OtherOfficeCaseworker => ("caseworker", Some("queens"), None),
        Rel::OwnOfficeAdmin => ("admin", Some("bronx"), None),
        Rel::PartnerAccount => ("partner", None, Some("org")),
        other => panic!("not a user relation: {other:?}"),
    };
    app.app
        .vault
        .create_user(
            &casevault::vault::operator::actor(),
            NewUser {
                username: w.unique("target"),
                role: role.into(),
                office: office.map(str::to_string),
                org: org.map(str::to_string),
                supervisor: false,
                password: Zeroizing::new(STRONG.to_string()),
            },
            casevault::vault::StepUp::none(),
        )
        .await
        .expect("operator creates user")
        .id
}

/// Runs one cell; returns what happened and the body (for the 404 comparison).
async fn run_cell(
    app: &TestApp,
    w: &World,
    route: Route,
    rel: Rel,
    role: Role,
) -> (Expect, String) {
    let c = &w.clients[&role];
    let target = w.cases.get(&rel);
    let case = target.map(|t| t.case.as_str()).unwrap_or("");
    let doc = target.map(|t| t.doc.as_str()).unwrap_or("");
    if let Some(out) = casework::run_cell(app, w, route, rel, role).await {
        return out;
    }
    if let Some(out) = custody::run_cell(app, w, route, rel, role).await {
        return out;
    }
    if let Some(out) = links::run_cell(app, w, route, rel, role).await {
        return out;
    }
    let r = match route {
        Route::ListCases => {
            let r = c.get(app.url("/cases")).send().await.unwrap();
            if r.status() != StatusCode::OK {
                let s = r.status().as_u16();
                return (Expect::Status(s), r.text().await.unwrap());
            }
            let v: Value = r.json().await.unwrap();
            let listed = v["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == case);
            return (if listed { IN } else { NO }, String::new());
        }
        Route::GetCase => c.get(app.url(&format!("/cases/{case}"))).send().await,
        Route::ListDocuments => c.get(app.url(&format!("/cases/{case}/documents"))).send().await,
        Route::Download => c.get(app.url(&format!("/cases/{case}/documents/{doc}"))).send().await,
        Route::Upload => {
            c.post(app.url(&format!("/cases/{case}/documents")))
                .query(&[("filename", "matrix.pdf")])
                .header("content-type", "application/pdf")
                .body(bytes(10, 3))
                .send()
                .await
        }
        Route::Share => {
            c.post(app.url(&format!("/cases/{case}/shares")))
                .json(&json!({"username": "quinn", "permission": "read", "expires_at": in_secs(app, 86400)}))
                .send()
                .await
        }
        Route::RevokeShare => {
            // A live share made for this cell alone, so cells stay independent.
            let share = if rel == Rel::MissingCase {
                uuid::Uuid::new_v4().to_string()
            } else {
                app.app
                    .vault
                    .share_case(
                        &casevault::vault::operator::actor(),
                        case,
                        &casevault::vault::ShareInput {
                            username: "quinn".into(),
                            permission: "read".into(),
                            expires_at: in_secs(app, 86400),
                            notes: false,
                        },
                        casevault::vault::StepUp::none(),
                    )
                    .await
                    .expect("operator share")
                    .id
            };
            c.delete(app.url(&format!("/cases/{case}/shares/{share}"))).send().await
        }
        Route::Assign => {
            c.post(app.url(&format!("/cases/{case}/assignments")))
                .json(&json!({"user_id": w.dave}))
                .send()
                .await
        }
        Route::CreateCase => {
            c.post(app.url("/cases"))
                .json(&json!({"office": office_of(rel), "client_name": "Matrix New"}))
                .send()
                .await
        }
        Route::Seal => {
            let r = c
                .post(app.url(&format!("/offices/{}/seal", office_of(rel))))
                .send()
                .await;
            unseal_all(app).await;
            r
        }
        Route::Unseal => {
            let o = office_of(rel);
            c.post(app.url(&format!("/offices/{o}/unseal")))
                .json(&json!({"passphrase": app.creds.offices[o].passphrase}))
                .send()
                .await
        }
        Route::CreateUser => {
            let mut body = json!({"username": w.unique("made"), "password": STRONG});
            match rel {
                Rel::OwnOfficeCaseworker => {
                    body["role"] = json!("caseworker");
                    body["office"] = json!("bronx");
                }
                Rel::OtherOfficeCaseworker => {
                    body["role"] = json!("caseworker");
                    body["office"] = json!("queens");
                }
                Rel::OwnOfficeAdmin => {
                    body["role"] = json!("admin");
                    body["office"] = json!("bronx");
                }
                _ => {
                    body["role"] = json!("partner");
                    body["org"] = json!("org");
                }
            }
            c.post(app.url("/users")).json(&body).send().await
        }
        Route::DisableUser | Route::EnableUser | Route::ResetTotp => {
            let id = target_user(app, w, rel).await;
            let what = match route {
                Route::DisableUser => "disable",
                Route::EnableUser => "enable",
                _ => "reset-totp",
            };
            c.post(app.url(&format!("/users/{id}/{what}"))).send().await
        }
        Route::ResetPassword => {
            let id = target_user(app, w, rel).await;
            c.post(app.url(&format!("/users/{id}/reset-password")))
                .json(&json!({"password": "another-long-password-9"}))
                .send()
                .await
        }
        Route::SealAll => {
            let r = c.post(app.url("/seal-all")).send().await;
            unseal_all(app).await;
            r
        }
        Route::ListUsers => c.get(app.url("/users")).send().await,
        Route::ListOffices => c.get(app.url("/offices")).send().await,
        Route::CreateOffice => {
            c.post(app.url("/offices"))
                .json(&json!({"slug": w.unique("office-")}))
                .send()
                .await
        }
        other => unreachable!("{other:?} runs in access_casework.rs"),
    }
    .unwrap();
    let status = match (route, r.status().as_u16()) {
        // Cells share their cases: sharing one again with the same partner changes
        // that live share (200) instead of adding one (201). Either is "shared".
        (Route::Share, 200) => 201,
        (_, s) => s,
    };
    (Expect::Status(status), r.text().await.unwrap())
}

fn audit_head(app: &TestApp) -> i64 {
    app.app
        .vault
        .db()
        .read::<_, StoreError>(|tx| tx.audit_head())
        .unwrap()
        .map(|(seq, _)| seq)
        .unwrap_or(0)
}

fn audit_since(app: &TestApp, after: i64) -> Vec<AuditRow> {
    let mut rows = Vec::new();
    app.app
        .vault
        .db()
        .read::<_, StoreError>(|tx| {
            tx.audit_scan(after, |r| {
                rows.push(r);
                true
            })
        })
        .unwrap();
    rows
}

#[tokio::test]
async fn authorization_matrix_holds_on_a_real_server() {
    let expected = expectations();
    println!(
        "authorization matrix: {} cells ({} routes × {} roles × their relations)",
        expected.len(),
        ROUTES.len(),
        ROLES.len()
    );
    let app = spawn_app().await;
    let w = build_world(&app).await;

    // What a case that does not exist answers: every hidden case must answer the same.
    let missing = w.clients[&Role::Supervisor]
        .get(app.url(&format!("/cases/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing_body = missing.text().await.unwrap();

    let mut failures = Vec::new();
    for (&(route, rel, role), &want) in &expected {
        let before = audit_head(&app);
        let (got, body) = run_cell(&app, &w, route, rel, role).await;
        let got = match (got, want) {
            (Expect::Status(s), Expect::Allowed(w)) if s == w => want,
            _ => got,
        };
        // Exactly one decision by this actor reached the audit log, allow or deny.
        let decisions: Vec<String> = audit_since(&app, before)
            .into_iter()
            .filter(|e| e.actor == w.ids[&role])
            .map(|e| e.decision)
            .collect();
        let allowed = match got {
            Expect::Status(s) => (200..300).contains(&s),
            _ => true,
        };
        let want_decision = if allowed { "allow" } else { "deny" };
        if decisions != [want_decision] {
            failures.push(format!(
                "{route:?} × {role:?} × {rel:?}: audit decisions {decisions:?}, expected one {want_decision}"
            ));
        }
        if got != want {
            failures.push(format!(
                "{route:?} × {role:?} × {rel:?}: expected {want:?}, got {got:?} {}",
                body.chars().take(120).collect::<String>()
            ));
        } else if got == NF && body != missing_body {
            failures.push(format!(
                "{route:?} × {role:?} × {rel:?}: 404 differs from a missing case: {body}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cells failed:\n{}",
        failures.len(),
        expected.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn allowed_decisions_that_end_in_an_error_are_still_audited() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Audited", None).await;
    let id = app.user_id("alice");
    let last_by_alice = |after: i64| {
        audit_since(&app, after)
            .into_iter()
            .filter(|e| e.actor == id)
            .map(|e| (e.action, e.decision, e.outcome))
            .collect::<Vec<_>>()
    };
    let attempts = [
        json!({"username": "pat", "permission": "admin", "expires_at": in_secs(&app, 60)}),
        json!({"username": "pat", "permission": "read", "expires_at": "yesterday"}),
        json!({"username": "nobody-here", "permission": "read", "expires_at": in_secs(&app, 60)}),
    ];
    for body in attempts {
        let before = audit_head(&app);
        let r = alice
            .post(app.url(&format!("/cases/{case}/shares")))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            last_by_alice(before),
            [("share_case".into(), "allow".into(), "invalid_input".into())]
        );
    }
    let before = audit_head(&app);
    let r = alice
        .delete(app.url(&format!("/cases/{case}/shares/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        last_by_alice(before),
        [("share_case".into(), "allow".into(), "not_found".into())]
    );
}
