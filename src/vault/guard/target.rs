//! Audit targets: what an audit entry is about, as space-separated tokens. This is the
//! one place that builds them, and the one place that reads them back (an office's
//! view of the log).
//!
//! Invariant: a target holds only validated ids (UUIDs), slugs of offices that exist,
//! fixed words and fixed placeholders. Whatever a client typed where an id or a slug
//! belongs — text with spaces, newlines or escape codes, 57 KB of it, a client's name
//! and A-number in the wrong field, a well-formed slug of no office — is recorded as
//! `KIND:invalid`, never as itself. An office's view matches a whole `office:SLUG`
//! token of a target that parses in full, never a substring.
use crate::vault::office::offices::valid_slug;
use crate::vault::{Vault, VaultError, parse_id};

/// The placeholder for a value that is not a valid id or known slug.
const INVALID: &str = "invalid";

/// The fixed words a target may carry after its ids (what part of the thing was acted
/// on, or a whole-target word such as `audit`). The parser knows exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// The audit log.
    Audit,
    /// An office's case list, or the caller's.
    Cases,
    /// A case's document list.
    Documents,
    /// A case export (command line).
    Export,
    /// The office list; also a denied office creation, whose slug is not yet one.
    Offices,
    /// A retention run or preview.
    Retention,
    /// The account list.
    Users,
    /// Disabling an account.
    Disable,
    /// Enabling an account.
    Enable,
    /// Resetting a password.
    ResetPassword,
    /// Resetting an authenticator.
    ResetTotp,
    /// A case's notes.
    Notes,
    /// A case's events.
    Events,
    /// The earlier versions of a case's details.
    Versions,
    /// A rotation of the office key.
    Rotate,
    /// Recovery shares of an office key.
    Recovery,
    /// The caller's "Coming up" list (or its calendar download: `upcoming ics`).
    Upcoming,
    /// The calendar download of "Coming up".
    Ics,
    /// ... with client names and descriptions.
    Full,
    /// A backup (made by the operator or the server's schedule).
    Backup,
    /// A case's client upload links.
    UploadLinks,
    /// Revoking (an upload link).
    Revoke,
}

impl Word {
    const ALL: [Word; 22] = [
        Word::Audit,
        Word::Cases,
        Word::Documents,
        Word::Export,
        Word::Offices,
        Word::Retention,
        Word::Users,
        Word::Disable,
        Word::Enable,
        Word::ResetPassword,
        Word::ResetTotp,
        Word::Notes,
        Word::Events,
        Word::Versions,
        Word::Upcoming,
        Word::Ics,
        Word::Full,
        Word::Backup,
        Word::Rotate,
        Word::Recovery,
        Word::UploadLinks,
        Word::Revoke,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Word::Audit => "audit",
            Word::Cases => "cases",
            Word::Documents => "documents",
            Word::Export => "export",
            Word::Offices => "offices",
            Word::Retention => "retention",
            Word::Users => "users",
            Word::Disable => "disable",
            Word::Enable => "enable",
            Word::ResetPassword => "reset_password",
            Word::ResetTotp => "reset_totp",
            Word::Notes => "notes",
            Word::Events => "events",
            Word::Versions => "versions",
            Word::Upcoming => "upcoming",
            Word::Ics => "ics",
            Word::Full => "full",
            Word::Backup => "backup",
            Word::Rotate => "rotate",
            Word::Recovery => "recovery",
            Word::UploadLinks => "upload_links",
            Word::Revoke => "revoke",
        }
    }
}

/// An audit entry's target, built only from validated pieces (see the module
/// invariant). The field is private: there is no way to wrap a raw string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target(String);

impl Target {
    fn token(kind: &str, value: &str) -> Target {
        Target(format!("{kind}:{value}"))
    }

    fn id(kind: &str, raw: &str) -> Target {
        match parse_id(raw) {
            Some(id) => Target::token(kind, &id),
            None => Target::token(kind, INVALID),
        }
    }

    /// `case:ID`, or `case:invalid` for anything that is not a UUID.
    pub(crate) fn case(raw: &str) -> Target {
        Target::id("case", raw)
    }

    /// `doc:ID`, or `doc:invalid`.
    pub(crate) fn doc(raw: &str) -> Target {
        Target::id("doc", raw)
    }

    /// `share:ID`, or `share:invalid`.
    pub(crate) fn share(raw: &str) -> Target {
        Target::id("share", raw)
    }

    /// `note:ID`, or `note:invalid`.
    pub(crate) fn note(raw: &str) -> Target {
        Target::id("note", raw)
    }

    /// `event:ID`, or `event:invalid`.
    pub(crate) fn event(raw: &str) -> Target {
        Target::id("event", raw)
    }

    /// `holder:ID`, or `holder:invalid`: an office key holder.
    pub(crate) fn holder(raw: &str) -> Target {
        Target::id("holder", raw)
    }

    /// `link:ID`, or `link:invalid`: a client upload link.
    pub(crate) fn link(raw: &str) -> Target {
        Target::id("link", raw)
    }

    /// `link:unknown`: a link token that names no link.
    pub(crate) fn unknown_link() -> Target {
        Target::token("link", "unknown")
    }

    /// `approval:ID`, or `approval:invalid`: a two-person approval request.
    pub(crate) fn approval(raw: &str) -> Target {
        Target::id("approval", raw)
    }

    /// `passkey:ID`, or `passkey:invalid`.
    pub(crate) fn passkey(raw: &str) -> Target {
        Target::id("passkey", raw)
    }

    /// `user:ID`, or `user:invalid`.
    pub(crate) fn user(raw: &str) -> Target {
        Target::id("user", raw)
    }

    /// `user:-`: a sign-in attempt that named no account we know.
    pub(crate) fn no_user() -> Target {
        Target::token("user", "-")
    }

    /// `user:unknown`: an account id that names no account.
    pub(crate) fn unknown_user() -> Target {
        Target::token("user", "unknown")
    }

    /// `office:SLUG` for a slug read from a stored row (a case's office, the actor's
    /// own), which was validated when the office was created; `office:invalid` should
    /// the row ever hold anything else. A slug from a client goes through
    /// [`Vault::office_target`] instead, which also checks that the office exists.
    pub(crate) fn stored_office(slug: &str) -> Target {
        if valid_slug(slug) {
            Target::token("office", slug)
        } else {
            Target::invalid_office()
        }
    }

    /// `office:invalid`.
    pub(crate) fn invalid_office() -> Target {
        Target::token("office", INVALID)
    }

    /// `office:*`: every office the actor administers (panic seal).
    pub(crate) fn every_office() -> Target {
        Target::token("office", "*")
    }

    /// `form:NAME` for a form's fixed name (code, never a request).
    pub(crate) fn form(name: &'static str) -> Target {
        if is_word(name) {
            Target::token("form", name)
        } else {
            Target::token("form", INVALID)
        }
    }

    /// A fixed word alone.
    pub(crate) fn word(w: Word) -> Target {
        Target(w.as_str().to_string())
    }

    /// This target followed by another's tokens.
    pub(crate) fn and(mut self, more: Target) -> Target {
        self.0.push(' ');
        self.0.push_str(&more.0);
        self
    }

    /// This target followed by a fixed word.
    pub(crate) fn with(self, w: Word) -> Target {
        self.and(Target::word(w))
    }

    /// The text written to the log.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Vault {
    /// `office:SLUG` when a client names an office that exists; `office:invalid` for
    /// anything else (a storage failure is an error, not "invalid").
    pub(crate) fn office_target(&self, raw: &str) -> Result<Target, VaultError> {
        if !valid_slug(raw) {
            return Ok(Target::invalid_office());
        }
        Ok(match self.db.read(|tx| tx.office(raw))? {
            Some(row) => Target::stored_office(&row.slug),
            None => Target::invalid_office(),
        })
    }
}

fn is_word(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Whether one token is something [`Target`] builds.
fn token_ok(tok: &str) -> bool {
    let Some((kind, value)) = tok.split_once(':') else {
        return Word::ALL.iter().any(|w| w.as_str() == tok);
    };
    let id_or = |extra: &[&str]| {
        parse_id(value).as_deref() == Some(value) || value == INVALID || extra.contains(&value)
    };
    match kind {
        "office" => valid_slug(value) || value == "*" || value == INVALID,
        "case" | "doc" | "share" | "note" | "event" | "passkey" | "holder" | "approval" => {
            id_or(&[])
        }
        "user" => id_or(&["-", "unknown"]),
        "link" => id_or(&["unknown"]),
        "form" => is_word(value),
        _ => false,
    }
}

/// Whether `target` names `office` with a whole `office:SLUG` token. A target that
/// does not parse in full (an entry written before targets were validated, with text
/// after the office or control characters in it) names no office: only auditors, who
/// read every entry, see it.
pub(crate) fn names_office(target: &str, office: &str) -> bool {
    let mut named = false;
    for tok in target.split(' ') {
        if !token_ok(tok) {
            return false;
        }
        named |= tok.strip_prefix("office:") == Some(office);
    }
    named && valid_slug(office)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b5f3a52-8a8f-4c1e-9d4e-1f2a3b4c5d6e";

    #[test]
    fn client_text_becomes_a_placeholder() {
        for raw in [
            "bronx x",
            "x\ny",
            "\u{1b}[31m",
            "Maria Lopez A-123-456-789",
            "",
        ] {
            assert_eq!(Target::case(raw).as_str(), "case:invalid");
            assert_eq!(Target::user(raw).as_str(), "user:invalid");
            assert_eq!(Target::stored_office(raw).as_str(), "office:invalid");
        }
        assert_eq!(
            Target::case(&ID.to_uppercase()).as_str(),
            format!("case:{ID}")
        );
        assert_eq!(Target::stored_office("invalid").as_str(), "office:invalid");
    }

    #[test]
    fn built_targets_parse_and_name_their_office() {
        let t = Target::stored_office("bronx")
            .and(Target::case(ID))
            .and(Target::doc("nope"))
            .with(Word::Documents);
        assert_eq!(
            t.as_str(),
            format!("office:bronx case:{ID} doc:invalid documents")
        );
        assert!(names_office(t.as_str(), "bronx"));
        assert!(!names_office(t.as_str(), "queens"));
        assert!(names_office("office:bronx audit", "bronx"));
        assert!(!names_office(
            Target::form("login").and(Target::no_user()).as_str(),
            "-"
        ));
    }

    #[test]
    fn an_office_view_matches_whole_tokens_of_whole_targets() {
        for t in [
            "office:bronx-old",
            "office:bronxville",
            "office:bronx x",
            "office:bronx Maria",
            "office:bronx\nx",
            "office:bronx\u{1b}",
            "office:bronx  case:invalid",
            "xoffice:bronx",
            "office:queens office:bronx\u{0}",
            "office:bronx case:not-an-id",
            "office:bronx form:Login",
            "",
        ] {
            assert!(!names_office(t, "bronx"), "{t:?}");
        }
        assert!(!names_office("office:invalid", "invalid"));
        assert!(!names_office("office:*", "*"));
    }
}
