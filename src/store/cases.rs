//! Cases, their blind indexes, legal holds on a case and assignments to caseworkers.
//!
//! Invariant: only ciphertext, ids and public facts — metadata is encrypted to the
//! case, the case identity is wrapped to the office, and an A-number or client name
//! is only ever matched through its keyed blind index, never stored in the clear.
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::{R, ReadTx, WriteTx, exec};

/// A case row (everything but the metadata is opaque or public).
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Opaque id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// Creator's user id.
    pub created_by: String,
    /// Case age recipient.
    pub recipient: String,
    /// Case identity wrapped to the office.
    pub wrapped_identity: Vec<u8>,
    /// Encrypted metadata.
    pub metadata: Vec<u8>,
    /// `open` / `closed`.
    pub status: String,
    /// Legal hold on the case itself.
    pub held: bool,
    /// RFC 3339.
    pub created_at: String,
    /// The A-number still needs indexing (created while sealed).
    pub a_number_pending: bool,
    /// RFC 3339 time it was closed (None while open).
    pub closed_at: Option<String>,
    /// The version of its details (1 = as opened; each edit adds one).
    pub version: i64,
    /// Who wrote the current details (None: the creator, never edited).
    pub updated_by: Option<String>,
    /// RFC 3339 time the current details were written (None: never edited).
    pub updated_at: Option<String>,
}

const CASE_COLS: &str = "c.id, c.office, c.created_by, c.recipient, c.wrapped_identity, c.metadata, \
     c.status, c.held, c.created_at, c.a_number_pending, c.closed_at, c.version, c.updated_by, \
     c.updated_at";

fn case_from(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    case_from_at(r, 0)
}

fn case_from_at(r: &Row<'_>, o: usize) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(o)?,
        office: r.get(o + 1)?,
        created_by: r.get(o + 2)?,
        recipient: r.get(o + 3)?,
        wrapped_identity: r.get(o + 4)?,
        metadata: r.get(o + 5)?,
        status: r.get(o + 6)?,
        held: r.get(o + 7)?,
        created_at: r.get(o + 8)?,
        a_number_pending: r.get(o + 9)?,
        closed_at: r.get(o + 10)?,
        version: r.get(o + 11)?,
        updated_by: r.get(o + 12)?,
        updated_at: r.get(o + 13)?,
    })
}

/// The cases a list is drawn from: a narrowing for speed, never a grant. Every case of
/// a page is still decided by the policy; a scope only leaves out cases no rule could
/// let this kind of reader see (see `vault/case_list.rs`).
#[derive(Debug, Clone, Copy)]
pub enum CaseScope<'a> {
    /// Every case of an office.
    Office(&'a str),
    /// The cases of an office a user created or is assigned to.
    OwnInOffice {
        /// Office slug.
        office: &'a str,
        /// User id.
        user: &'a str,
    },
    /// Cases with a live share (unrevoked, unexpired at `now`) to a user.
    SharedWith {
        /// User id.
        user: &'a str,
        /// Unix time the shares must outlive.
        now: i64,
    },
    /// Cases of an office whose A-number blind index matches.
    ANumber {
        /// Office slug.
        office: &'a str,
        /// Blind index.
        index: &'a [u8],
    },
    /// Cases of an office that hold every one of these name-word blind indexes.
    NameTokens {
        /// Office slug.
        office: &'a str,
        /// Blind indexes of the words searched (at least one).
        tags: &'a [Vec<u8>],
    },
}

impl CaseScope<'_> {
    /// The condition on `c` and its parameters, numbered from ?1 (a caller numbers
    /// its own after them).
    fn sql(&self) -> (String, Vec<Value>) {
        let t = |s: &str| Value::Text(s.to_owned());
        match *self {
            CaseScope::Office(o) => ("c.office = ?1".into(), vec![t(o)]),
            CaseScope::OwnInOffice { office, user } => (
                "c.office = ?1 AND (c.created_by = ?2 OR c.id IN
                   (SELECT case_id FROM case_assignments WHERE user_id = ?2))"
                    .into(),
                vec![t(office), t(user)],
            ),
            CaseScope::SharedWith { user, now } => (
                "c.id IN (SELECT case_id FROM shares WHERE user_id = ?1
                   AND revoked_at IS NULL AND expires_at > ?2)"
                    .into(),
                vec![t(user), Value::Integer(now)],
            ),
            CaseScope::ANumber { office, index } => (
                "c.office = ?1 AND c.a_number_index = ?2".into(),
                vec![t(office), Value::Blob(index.to_vec())],
            ),
            CaseScope::NameTokens { office, tags } => super::name_tokens::scope(office, tags),
        }
    }
}

/// The blind indexes of a case's details, computed under its office's index key.
pub struct CaseIndexes<'a> {
    /// The A-number's, when the case has one.
    pub a_number: Option<&'a [u8]>,
    /// The full client name's.
    pub client_name: &'a [u8],
    /// One per distinct word of the client name.
    pub name_tokens: &'a [Vec<u8>],
}

/// A new case, as [`WriteTx::insert_case`] stores it.
pub struct NewCaseRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Office slug.
    pub office: &'a str,
    /// Creator's user id.
    pub created_by: &'a str,
    /// Case age recipient.
    pub recipient: &'a str,
    /// Case identity wrapped to the office.
    pub wrapped_identity: &'a [u8],
    /// Encrypted metadata.
    pub metadata: &'a [u8],
    /// Blind index of the A-number, when the office was unsealed.
    pub a_number_index: Option<&'a [u8]>,
    /// The indexes still need computing (created while sealed).
    pub a_number_pending: bool,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl ReadTx<'_> {
    /// One case.
    pub fn case(&self, id: &str) -> R<Option<CaseRow>> {
        Ok(self
            .q_row(
                &format!("SELECT {CASE_COLS} FROM cases c WHERE c.id = ?1"),
                [id],
                case_from,
            )
            .optional()?)
    }

    /// A page of the cases in `scope`, newest first: at most `limit` of those created
    /// before the case at rowid `before` (all, when `None`), each with its rowid.
    pub fn case_page(
        &self,
        scope: &CaseScope<'_>,
        before: Option<i64>,
        limit: usize,
    ) -> R<Vec<(i64, CaseRow)>> {
        let (cond, mut args) = scope.sql();
        let (b, l) = (args.len() + 1, args.len() + 2);
        let mut st = self.0.prepare_cached(&format!(
            "SELECT c.rowid, {CASE_COLS} FROM cases c WHERE {cond} AND c.rowid < ?{b}
             ORDER BY c.rowid DESC LIMIT ?{l}"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        args.extend([
            Value::Integer(before.unwrap_or(i64::MAX)),
            Value::Integer(limit),
        ]);
        let rows = st.query_map(params_from_iter(args), |r| {
            let rowid: i64 = r.get(0)?;
            // CASE_COLS start at column 1 here.
            Ok((rowid, case_from_at(r, 1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where case `id` sits in `scope` (its rowid), if it is in it: a page cursor is
    /// only ever resolved inside the caller's own scope, so it tells nothing of a case
    /// elsewhere.
    pub fn case_position(&self, scope: &CaseScope<'_>, id: &str) -> R<Option<i64>> {
        let (cond, mut args) = scope.sql();
        let i = args.len() + 1;
        args.push(Value::Text(id.to_owned()));
        Ok(self
            .q_row(
                &format!("SELECT c.rowid FROM cases c WHERE {cond} AND c.id = ?{i}"),
                params_from_iter(args),
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The cases in `scope` that have events, newest first, at most `limit`.
    pub fn cases_with_events(&self, scope: &CaseScope<'_>, limit: usize) -> R<Vec<CaseRow>> {
        let (cond, mut args) = scope.sql();
        let l = args.len() + 1;
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE {cond}
               AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id)
             ORDER BY c.rowid DESC LIMIT ?{l}"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        args.push(Value::Integer(limit));
        let rows = st.query_map(params_from_iter(args), case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases with a share (of any state) for a user; the policy decides which count.
    pub fn shared_cases(&self, user: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT DISTINCT {CASE_COLS} FROM cases c JOIN shares s ON s.case_id = c.id
             WHERE s.user_id = ?1 ORDER BY c.created_at DESC, c.id"
        ))?;
        let rows = st.query_map([user], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of an office created while it was sealed, whose index is still missing.
    pub fn cases_pending_index(&self, office: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.a_number_pending = 1"
        ))?;
        let rows = st.query_map([office], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// User ids assigned to a case.
    pub fn assignees(&self, case: &str) -> R<Vec<String>> {
        let mut st = self
            .0
            .prepare_cached("SELECT user_id FROM case_assignments WHERE case_id = ?1")?;
        let rows = st.query_map([case], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Inserts a case.
    pub fn insert_case(&self, c: &NewCaseRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO cases (id, office, created_by, recipient, wrapped_identity, metadata, a_number_index, a_number_pending, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                c.id,
                c.office,
                c.created_by,
                c.recipient,
                c.wrapped_identity,
                c.metadata,
                c.a_number_index,
                c.a_number_pending,
                c.created_at
            ],
        )?;
        Ok(())
    }

    /// Stores a case's computed blind indexes and clears its pending flag.
    pub fn set_case_indexes(&self, id: &str, ix: &CaseIndexes<'_>) -> R<()> {
        exec(
            self,
            "UPDATE cases SET a_number_index = ?2, client_name_index = ?3, a_number_pending = 0 WHERE id = ?1",
            params![id, ix.a_number, ix.client_name],
        )?;
        self.set_name_tokens(id, ix.name_tokens)
    }

    /// [`WriteTx::set_case_indexes`] for a case created while sealed, only if its details
    /// are still at `version` and still pending (an edit meanwhile set its own).
    pub fn set_pending_indexes(&self, id: &str, version: i64, ix: &CaseIndexes<'_>) -> R<()> {
        let changed = exec(
            self,
            "UPDATE cases SET a_number_index = ?3, client_name_index = ?4, a_number_pending = 0
             WHERE id = ?1 AND version = ?2 AND a_number_pending = 1",
            params![id, version, ix.a_number, ix.client_name],
        )?;
        if changed == 1 {
            self.set_name_tokens(id, ix.name_tokens)?;
        }
        Ok(())
    }

    /// Sets the legal-hold flag of a case.
    pub fn set_case_hold(&self, id: &str, held: bool) -> R<()> {
        exec(
            self,
            "UPDATE cases SET held = ?2 WHERE id = ?1",
            params![id, held],
        )?;
        Ok(())
    }

    /// Assigns a user to a case.
    pub fn assign(&self, case: &str, user: &str) -> R<()> {
        exec(
            self,
            "INSERT OR IGNORE INTO case_assignments (case_id, user_id) VALUES (?1, ?2)",
            params![case, user],
        )?;
        Ok(())
    }
}
