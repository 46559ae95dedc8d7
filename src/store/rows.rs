//! Typed rows and the SQL that reads and writes them. Lookups return
//! `Result<Option<T>>`: a storage failure is never turned into "not found".
use rusqlite::{OptionalExtension, Row, params};

use super::{StoreError, Tx};

type R<T> = Result<T, StoreError>;

/// An office.
#[derive(Debug, Clone)]
pub struct OfficeRow {
    /// Short slug (`bronx`).
    pub slug: String,
    /// Office age recipient.
    pub recipient: String,
    /// Passphrase-wrapped identity; `None` in office-held mode.
    pub wrapped_identity: Option<Vec<u8>>,
    /// Whether a legal hold covers the whole office.
    pub held: bool,
}

/// A user account.
#[derive(Clone)]
pub struct UserRow {
    /// Opaque id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role name.
    pub role: String,
    /// Office slug (admin, caseworker).
    pub office: Option<String>,
    /// Partner organisation.
    pub org: Option<String>,
    /// Caseworker supervisor flag.
    pub supervisor: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    /// TOTP seed sealed under the auth key.
    pub totp_sealed: Option<Vec<u8>>,
    /// Whether enrolment was confirmed by a first valid code.
    pub totp_confirmed: bool,
    /// Last accepted TOTP time step.
    pub totp_last_step: Option<i64>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A session joined with its user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// Unix time created.
    pub created_at: i64,
    /// Unix time of the last request.
    pub last_seen: i64,
    /// Unix time a second factor was last proved in this session.
    pub totp_at: Option<i64>,
    /// The session's CSRF token.
    pub csrf: String,
}

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
}

/// A document row.
#[derive(Debug, Clone)]
pub struct DocRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// age header.
    pub header: Vec<u8>,
    /// Blob name.
    pub blob: String,
    /// Encrypted metadata.
    pub meta: Vec<u8>,
    /// Padded size.
    pub stored_size: i64,
    /// RFC 3339.
    pub created_at: String,
}

/// A share of a case with a partner.
#[derive(Debug, Clone)]
pub struct ShareRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// Partner user id.
    pub user_id: String,
    /// `read` / `upload`.
    pub permission: String,
    /// Unix time it expires.
    pub expires_at: i64,
    /// Unix time revoked.
    pub revoked_at: Option<i64>,
}

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Sequence number.
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    /// Actor id.
    pub actor: String,
    /// Actor role.
    pub role: String,
    /// Action name.
    pub action: String,
    /// Target ids.
    pub target: String,
    /// allow / deny.
    pub decision: String,
    /// Outcome.
    pub outcome: String,
    /// Chain hash.
    pub hash: Vec<u8>,
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries after this sequence number.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
    /// Only this actor id.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries whose target contains this id.
    pub target: Option<String>,
    /// Only entries whose target names this office (office admins).
    pub office: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only entries before this time (RFC 3339).
    pub until: Option<String>,
}

const USER_COLS: &str = "u.id, u.username, u.role, u.office, u.org, u.supervisor, u.password_hash, \
     u.totp_sealed, u.totp_confirmed, u.totp_last_step, u.disabled";

fn user_from(r: &Row<'_>, o: usize) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(o)?,
        username: r.get(o + 1)?,
        role: r.get(o + 2)?,
        office: r.get(o + 3)?,
        org: r.get(o + 4)?,
        supervisor: r.get(o + 5)?,
        password_hash: r.get(o + 6)?,
        totp_sealed: r.get(o + 7)?,
        totp_confirmed: r.get(o + 8)?,
        totp_last_step: r.get(o + 9)?,
        disabled: r.get(o + 10)?,
    })
}

const CASE_COLS: &str = "c.id, c.office, c.created_by, c.recipient, c.wrapped_identity, c.metadata, \
     c.status, c.held, c.created_at, c.a_number_pending, c.closed_at";

fn case_from(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        office: r.get(1)?,
        created_by: r.get(2)?,
        recipient: r.get(3)?,
        wrapped_identity: r.get(4)?,
        metadata: r.get(5)?,
        status: r.get(6)?,
        held: r.get(7)?,
        created_at: r.get(8)?,
        a_number_pending: r.get(9)?,
        closed_at: r.get(10)?,
    })
}

fn doc_from(r: &Row<'_>) -> rusqlite::Result<DocRow> {
    Ok(DocRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        header: r.get(2)?,
        blob: r.get(3)?,
        meta: r.get(4)?,
        stored_size: r.get(5)?,
        created_at: r.get(6)?,
    })
}

fn share_from(r: &Row<'_>) -> rusqlite::Result<ShareRow> {
    Ok(ShareRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        user_id: r.get(2)?,
        permission: r.get(3)?,
        expires_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        decision: r.get(6)?,
        outcome: r.get(7)?,
        hash: r.get(8)?,
    })
}

fn exec(tx: &Tx<'_>, sql: &str, p: impl rusqlite::Params) -> R<usize> {
    tx.0.execute(sql, p).map_err(StoreError::from_sqlite)
}

impl Tx<'_> {
    // ---- offices ----

    /// Inserts an office.
    pub fn insert_office(
        &self,
        slug: &str,
        recipient: &str,
        wrapped: Option<&[u8]>,
        log_n: Option<u8>,
        now: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO offices (slug, recipient, wrapped_identity, kdf_log_n, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![slug, recipient, wrapped, log_n, now],
        )?;
        Ok(())
    }

    /// One office.
    pub fn office(&self, slug: &str) -> R<Option<OfficeRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT o.slug, o.recipient, o.wrapped_identity, EXISTS(SELECT 1 FROM office_holds h WHERE h.office = o.slug)
                 FROM offices o WHERE o.slug = ?1",
                [slug],
                |r| {
                    Ok(OfficeRow {
                        slug: r.get(0)?,
                        recipient: r.get(1)?,
                        wrapped_identity: r.get(2)?,
                        held: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// All office slugs.
    pub fn office_slugs(&self) -> R<Vec<String>> {
        let mut st = self.0.prepare("SELECT slug FROM offices ORDER BY slug")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Places (true) or lifts (false) an office-wide hold.
    pub fn set_office_hold(&self, slug: &str, held: bool, now: &str) -> R<()> {
        if held {
            exec(
                self,
                "INSERT OR IGNORE INTO office_holds (office, placed_at) VALUES (?1, ?2)",
                params![slug, now],
            )?;
        } else {
            exec(self, "DELETE FROM office_holds WHERE office = ?1", [slug])?;
        }
        Ok(())
    }

    // ---- users ----

    /// Inserts a user.
    // One parameter per column of the row; a struct would only restate the table.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_user(
        &self,
        id: &str,
        username: &str,
        role: &str,
        office: Option<&str>,
        org: Option<&str>,
        supervisor: bool,
        password_hash: &str,
        now: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO users (id, username, role, office, org, supervisor, password_hash, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![id, username, role, office, org, supervisor, password_hash, now],
        )?;
        Ok(())
    }

    /// A user by login name.
    pub fn user_by_name(&self, username: &str) -> R<Option<UserRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.username = ?1"),
                [username],
                |r| user_from(r, 0),
            )
            .optional()?)
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> R<Option<UserRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
                [id],
                |r| user_from(r, 0),
            )
            .optional()?)
    }

    /// Users, optionally only of one office.
    pub fn users(&self, office: Option<&str>) -> R<Vec<UserRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {USER_COLS} FROM users u WHERE (?1 IS NULL OR u.office = ?1) ORDER BY u.username"
        ))?;
        let rows = st.query_map([office], |r| user_from(r, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces a password hash.
    pub fn set_password(&self, id: &str, hash: &str) -> R<()> {
        exec(
            self,
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    /// Enables or disables an account.
    pub fn set_disabled(&self, id: &str, disabled: bool) -> R<()> {
        exec(
            self,
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id, disabled],
        )?;
        Ok(())
    }

    /// Stores a (new) TOTP seed, sealed; `confirmed` says whether it counts yet.
    pub fn set_totp(&self, id: &str, sealed: Option<&[u8]>, confirmed: bool) -> R<()> {
        exec(
            self,
            "UPDATE users SET totp_sealed = ?2, totp_confirmed = ?3, totp_last_step = NULL WHERE id = ?1",
            params![id, sealed, confirmed],
        )?;
        Ok(())
    }

    /// Records the accepted time step, only if it is newer than the stored one.
    /// Returns false when the step was already used (a replay).
    pub fn use_totp_step(&self, id: &str, step: i64) -> R<bool> {
        let n = exec(
            self,
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
            params![id, step],
        )?;
        Ok(n == 1)
    }

    /// Marks TOTP enrolment confirmed.
    pub fn confirm_totp(&self, id: &str) -> R<()> {
        exec(
            self,
            "UPDATE users SET totp_confirmed = 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Replaces a user's recovery codes.
    pub fn set_recovery_codes(&self, id: &str, hashes: &[Vec<u8>]) -> R<()> {
        exec(self, "DELETE FROM recovery_codes WHERE user_id = ?1", [id])?;
        for h in hashes {
            exec(
                self,
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                params![id, h],
            )?;
        }
        Ok(())
    }

    /// Consumes a recovery code; true if it existed.
    pub fn use_recovery_code(&self, id: &str, hash: &[u8]) -> R<bool> {
        Ok(exec(
            self,
            "DELETE FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2",
            params![id, hash],
        )? == 1)
    }

    // ---- sessions ----

    /// Inserts a session.
    pub fn insert_session(
        &self,
        hash: &[u8],
        user: &str,
        now: i64,
        totp_at: Option<i64>,
        csrf: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, totp_at, csrf) VALUES (?1,?2,?3,?3,?4,?5)",
            params![hash, user, now, totp_at, csrf],
        )?;
        Ok(())
    }

    /// A session and its user.
    pub fn session(&self, hash: &[u8]) -> R<Option<SessionRow>> {
        Ok(self
            .0
            .query_row(
                &format!(
                    "SELECT s.created_at, s.last_seen, s.totp_at, s.csrf, {USER_COLS}
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
                ),
                [hash],
                |r| {
                    Ok(SessionRow {
                        created_at: r.get(0)?,
                        last_seen: r.get(1)?,
                        totp_at: r.get(2)?,
                        csrf: r.get(3)?,
                        user: user_from(r, 4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Updates a session's last-seen time (and, when given, its second-factor time).
    pub fn touch_session(&self, hash: &[u8], now: i64, totp_at: Option<i64>) -> R<()> {
        exec(
            self,
            "UPDATE sessions SET last_seen = ?2, totp_at = COALESCE(?3, totp_at) WHERE token_hash = ?1",
            params![hash, now, totp_at],
        )?;
        Ok(())
    }

    /// Ends one session.
    pub fn delete_session(&self, hash: &[u8]) -> R<()> {
        exec(self, "DELETE FROM sessions WHERE token_hash = ?1", [hash])?;
        Ok(())
    }

    /// Ends every session of a user.
    pub fn delete_user_sessions(&self, user: &str) -> R<()> {
        exec(self, "DELETE FROM sessions WHERE user_id = ?1", [user])?;
        Ok(())
    }

    // ---- cases ----

    /// Inserts a case.
    // One parameter per column of the row; a struct would only restate the table.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_case(
        &self,
        id: &str,
        office: &str,
        created_by: &str,
        recipient: &str,
        wrapped: &[u8],
        metadata: &[u8],
        a_number_index: Option<&[u8]>,
        a_number_pending: bool,
        now: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO cases (id, office, created_by, recipient, wrapped_identity, metadata, a_number_index, a_number_pending, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![id, office, created_by, recipient, wrapped, metadata, a_number_index, a_number_pending, now],
        )?;
        Ok(())
    }

    /// One case.
    pub fn case(&self, id: &str) -> R<Option<CaseRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {CASE_COLS} FROM cases c WHERE c.id = ?1"),
                [id],
                case_from,
            )
            .optional()?)
    }

    /// Every case of an office, newest first.
    pub fn office_cases(&self, office: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 ORDER BY c.created_at DESC, c.id"
        ))?;
        let rows = st.query_map([office], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases with a share (of any state) for a user; the policy decides which count.
    pub fn shared_cases(&self, user: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT DISTINCT {CASE_COLS} FROM cases c JOIN shares s ON s.case_id = c.id
             WHERE s.user_id = ?1 ORDER BY c.created_at DESC, c.id"
        ))?;
        let rows = st.query_map([user], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of an office whose blind index matches.
    pub fn cases_by_a_number(&self, office: &str, index: &[u8]) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.a_number_index = ?2 ORDER BY c.created_at DESC"
        ))?;
        let rows = st.query_map(params![office, index], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of an office created while it was sealed, whose index is still missing.
    pub fn cases_pending_index(&self, office: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.a_number_pending = 1"
        ))?;
        let rows = st.query_map([office], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a case's computed blind indexes and clears its pending flag.
    pub fn set_case_indexes(
        &self,
        id: &str,
        a_number: Option<&[u8]>,
        client_name: Option<&[u8]>,
    ) -> R<()> {
        exec(
            self,
            "UPDATE cases SET a_number_index = ?2, client_name_index = ?3, a_number_pending = 0 WHERE id = ?1",
            params![id, a_number, client_name],
        )?;
        Ok(())
    }

    /// Cases of an office whose client-name blind index matches.
    pub fn cases_by_client_name(&self, office: &str, index: &[u8]) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.client_name_index = ?2 ORDER BY c.created_at DESC"
        ))?;
        let rows = st.query_map(params![office, index], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    /// User ids assigned to a case.
    pub fn assignees(&self, case: &str) -> R<Vec<String>> {
        let mut st = self
            .0
            .prepare("SELECT user_id FROM case_assignments WHERE case_id = ?1")?;
        let rows = st.query_map([case], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
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

    // ---- documents ----

    /// Inserts a document.
    // One parameter per column of the row; a struct would only restate the table.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_document(
        &self,
        id: &str,
        case: &str,
        header: &[u8],
        blob: &str,
        meta: &[u8],
        stored_size: i64,
        created_by: &str,
        now: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO documents (id, case_id, header, blob, meta, stored_size, created_by, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![id, case, header, blob, meta, stored_size, created_by, now],
        )?;
        Ok(())
    }

    /// Documents of a case, oldest first.
    pub fn documents(&self, case: &str) -> R<Vec<DocRow>> {
        let mut st = self.0.prepare(
            "SELECT id, case_id, header, blob, meta, stored_size, created_at FROM documents
             WHERE case_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([case], doc_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One document of a case.
    pub fn document(&self, case: &str, id: &str) -> R<Option<DocRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT id, case_id, header, blob, meta, stored_size, created_at FROM documents
                 WHERE case_id = ?1 AND id = ?2",
                [case, id],
                doc_from,
            )
            .optional()?)
    }

    /// Whether any document row names this blob.
    pub fn blob_referenced(&self, blob: &str) -> R<bool> {
        Ok(self.0.query_row(
            "SELECT EXISTS(SELECT 1 FROM documents WHERE blob = ?1)",
            [blob],
            |r| r.get(0),
        )?)
    }

    /// Every blob name in use.
    pub fn blob_names(&self) -> R<Vec<String>> {
        let mut st = self.0.prepare("SELECT blob FROM documents")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- shares ----

    /// Inserts a share.
    // One parameter per column of the row; a struct would only restate the table.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_share(
        &self,
        id: &str,
        case: &str,
        user: &str,
        permission: &str,
        expires_at: i64,
        created_by: &str,
        now: &str,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO shares (id, case_id, user_id, permission, expires_at, created_by, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![id, case, user, permission, expires_at, created_by, now],
        )?;
        Ok(())
    }

    /// Shares of a case (all states).
    pub fn shares(&self, case: &str) -> R<Vec<ShareRow>> {
        let mut st = self.0.prepare(
            "SELECT id, case_id, user_id, permission, expires_at, revoked_at FROM shares WHERE case_id = ?1 ORDER BY created_at",
        )?;
        let rows = st.query_map([case], share_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a share of a case; true if it existed and was live.
    pub fn revoke_share(&self, case: &str, id: &str, now: i64) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE shares SET revoked_at = ?3 WHERE case_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![case, id, now],
        )? == 1)
    }

    // ---- audit ----

    /// The newest entry's sequence number and hash.
    pub fn audit_head(&self) -> R<Option<(i64, Vec<u8>)>> {
        Ok(self
            .0
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Appends an audit entry (the caller computed its hash).
    pub fn audit_insert(&self, e: &AuditRow) -> R<()> {
        exec(
            self,
            "INSERT INTO audit (seq, time, actor, role, action, target, decision, outcome, hash)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                e.seq, e.time, e.actor, e.role, e.action, e.target, e.decision, e.outcome, e.hash
            ],
        )?;
        Ok(())
    }

    /// Streams every audit entry in `seq` order to `f` (flat memory).
    pub fn audit_scan(&self, after: i64, mut f: impl FnMut(AuditRow) -> bool) -> R<()> {
        let mut st = self.0.prepare(
            "SELECT seq, time, actor, role, action, target, decision, outcome, hash FROM audit WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = st.query([after])?;
        while let Some(r) = rows.next()? {
            if !f(audit_from(r)?) {
                break;
            }
        }
        Ok(())
    }

    /// A filtered page of audit entries.
    pub fn audit_page(&self, q: &AuditFilter) -> R<Vec<AuditRow>> {
        let mut st = self.0.prepare(
            "SELECT seq, time, actor, role, action, target, decision, outcome, hash FROM audit
             WHERE seq > ?1
               AND (?3 IS NULL OR actor = ?3)
               AND (?4 IS NULL OR action = ?4)
               AND (?5 IS NULL OR instr(target, ?5) > 0)
               AND (?6 IS NULL OR instr(' ' || target || ' ', ' office:' || ?6 || ' ') > 0)
               AND (?7 IS NULL OR time >= ?7)
               AND (?8 IS NULL OR time < ?8)
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = st.query_map(
            params![
                q.after, q.limit, q.actor, q.action, q.target, q.office, q.since, q.until
            ],
            audit_from,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
