//! The audit log in sentences: "alice added a note to case 3f2a1b2c…", "bob was
//! refused opening case 9e8d…: the office was sealed".
//!
//! Invariant: a sentence is built only from the entry's stored fields (ids, words,
//! usernames the vault looked up); nothing in it comes from the visitor.
use std::collections::HashMap;

use crate::vault::AuditEntryView;

/// Actions a person can filter by, with their plain-English names.
pub(super) const ACTIONS: &[(&str, &str)] = &[
    ("read_case", "Opened a case or document"),
    ("create_case", "Opened a new case"),
    ("edit_case", "Changed a case's details"),
    ("add_note", "Added a note"),
    ("add_event", "Added a date"),
    ("upload_document", "Added a document"),
    ("rename_document", "Renamed a document"),
    ("share_case", "Shared or revoked a share"),
    (
        "make_upload_link",
        "Made, listed or revoked a client upload link",
    ),
    ("client_upload", "A client used an upload link"),
    ("assign_case", "Assigned a case"),
    ("list_cases", "Listed cases"),
    ("login", "Signed in"),
    ("logout", "Signed out"),
    ("step_up", "Confirmed a code"),
    ("seal_office", "Sealed an office"),
    ("unseal_office", "Unsealed an office"),
    ("seal_all", "Emergency seal"),
    ("manage_users", "Managed accounts"),
    ("confirm_access", "Confirmed an account"),
    ("hold_case", "Legal hold on a case"),
    ("hold_office", "Legal hold on an office"),
    ("purge_case", "Destroyed a case"),
    ("purge_document", "Destroyed a document"),
    ("purge_office", "Destroyed an office"),
    ("close_case", "Closed a case"),
    ("list_office_cases", "Listed the office’s cases"),
    (
        "run_retention",
        "Retention (scheduled deletion) run or preview",
    ),
    ("read_office_audit", "Read the audit log"),
    ("read_all_audit", "Read the audit log (all offices)"),
    ("manage_holders", "Changed who holds the office key"),
    ("csrf_check", "Refused a forged or expired form"),
    ("totp_enrol", "Set up an authenticator"),
    ("password_change", "Changed their own password"),
    ("recovery_codes", "Made new recovery codes"),
];

/// What the entry names, read from its target tokens.
struct Things<'a> {
    case: Option<&'a str>,
    doc: bool,
    link: bool,
    office: Option<&'a str>,
    user: Option<&'a str>,
    words: Vec<&'a str>,
}

fn things(target: &str) -> Things<'_> {
    let mut t = Things {
        case: None,
        doc: false,
        link: false,
        office: None,
        user: None,
        words: Vec::new(),
    };
    for tok in target.split(' ') {
        match tok.split_once(':') {
            Some(("case", id)) => t.case = Some(id),
            Some(("doc", _)) => t.doc = true,
            Some(("link", _)) => t.link = true,
            Some(("office", o)) => t.office = Some(o),
            Some(("user", u)) => t.user = Some(u),
            Some(_) => {}
            None => t.words.push(tok),
        }
    }
    t
}

fn short(id: &str) -> String {
    match id.get(..8) {
        Some(s) if id.len() > 8 => format!("{s}…"),
        _ => id.to_string(),
    }
}

/// "case 3f2a1b2c…", "the bronx office", "the account of alice".
fn case_words(t: &Things<'_>) -> String {
    t.case
        .map(|c| format!("case {}", short(c)))
        .unwrap_or_else(|| "a case".into())
}

fn office_words(t: &Things<'_>) -> String {
    t.office
        .map(|o| format!("the {o} office"))
        .unwrap_or_else(|| "an office".into())
}

fn user_words(t: &Things<'_>, names: &HashMap<String, String>) -> String {
    match t.user {
        Some(u) => match names.get(u) {
            Some(n) => format!("the account of {n}"),
            None => format!("account {}", short(u)),
        },
        None => "an account".into(),
    }
}

/// The deed in two forms: what was done ("added a note to case 3f2a…") and what was
/// tried ("adding a note to case 3f2a…").
fn deed(e: &AuditEntryView, names: &HashMap<String, String>) -> (String, String) {
    let t = things(&e.target);
    let has = |w: &str| t.words.contains(&w);
    let case = case_words(&t);
    let office = office_words(&t);
    let pair = |done: &str, tried: &str, obj: &str| {
        let sep = if obj.is_empty() { "" } else { " " };
        (format!("{done}{sep}{obj}"), format!("{tried}{sep}{obj}"))
    };
    match e.action.as_str() {
        "read_case" if t.doc => pair("opened a document of", "opening a document of", &case),
        "read_case" if has("documents") => pair(
            "viewed the document list of",
            "viewing the document list of",
            &case,
        ),
        "read_case" if has("export") => pair("exported", "exporting", &case),
        "read_case" => pair("opened", "opening", &case),
        "create_case" => pair(
            "opened a new case,",
            "opening a new case in",
            &if t.case.is_some() { case } else { office },
        ),
        "edit_case" => pair("changed the details of", "changing the details of", &case),
        "read_versions" => pair("read the history of", "reading the history of", &case),
        "add_note" => pair("added a note to", "adding a note to", &case),
        "read_notes" => pair("read the notes of", "reading the notes of", &case),
        "add_event" => pair("added or moved a date on", "adding a date to", &case),
        "read_events" => pair("read the dates of", "reading the dates of", &case),
        "upload_document" => pair("added a document to", "adding a document to", &case),
        "rename_document" => pair("renamed a document of", "renaming a document of", &case),
        "share_case" => pair("shared or changed a share of", "sharing", &case),
        "assign_case" => pair("assigned", "assigning", &case),
        "make_upload_link" if has("upload_links") => pair(
            "listed the client upload links of",
            "listing the client upload links of",
            &case,
        ),
        "make_upload_link" if has("revoke") => pair(
            "revoked a client upload link of",
            "revoking a client upload link of",
            &case,
        ),
        "make_upload_link" => pair(
            "made a client upload link for",
            "making a client upload link for",
            &case,
        ),
        "client_upload" if t.doc => pair("sent a file to", "sending a file to", &case),
        "client_upload" if t.case.is_none() => pair(
            "used an upload link",
            "using an upload link",
            if t.link { "" } else { "(too many tries)" },
        ),
        "client_upload" if e.outcome == "page" => pair(
            "opened the upload page of",
            "opening the upload page of",
            &case,
        ),
        "client_upload" => pair("used the upload link of", "using the upload link of", &case),
        "close_case" => pair("closed", "closing", &case),
        "hold_case" => match e.outcome.as_str() {
            "lifted" => pair(
                "lifted the legal hold on",
                "lifting the legal hold on",
                &case,
            ),
            _ => pair("placed a legal hold on", "placing a legal hold on", &case),
        },
        "purge_case" => pair("permanently deleted", "deleting", &case),
        "purge_document" => pair(
            "permanently deleted a document of",
            "deleting a document of",
            &case,
        ),
        "list_cases" => pair("listed their cases", "listing cases", ""),
        "list_office_cases" => pair("listed the cases of", "listing the cases of", &office),
        "list_upcoming" => pair(
            "looked at the dates coming up",
            "looking at the dates coming up",
            "",
        ),
        "login" => pair("signed in", "signing in", ""),
        "logout" => pair("signed out", "signing out", ""),
        "step_up" => pair("confirmed a code", "confirming a code", ""),
        "seal_office" => pair("sealed", "sealing", &office),
        "unseal_office" => pair("unsealed", "unsealing", &office),
        "auto_seal" => pair(
            "sealed (no one had used it for a while)",
            "sealing",
            &office,
        ),
        "seal_all" => pair(
            "sealed every office (emergency seal)",
            "sealing every office",
            "",
        ),
        "hold_office" => match e.outcome.as_str() {
            "lifted" => pair(
                "lifted the legal hold on",
                "lifting the legal hold on",
                &office,
            ),
            _ => pair("placed a legal hold on", "placing a legal hold on", &office),
        },
        "purge_office" => pair("permanently deleted", "deleting", &office),
        "create_office" => pair("created", "creating", &office),
        "list_offices" => pair("listed the offices", "listing the offices", ""),
        "set_office_time_zone" => pair("set the time zone of", "setting the time zone of", &office),
        "list_holders" => pair(
            "listed who holds the key of",
            "listing who holds the key of",
            &office,
        ),
        "manage_holders" if has("rotate") => pair(
            "replaced the office key of",
            "replacing the office key of",
            &office,
        ),
        "manage_holders" if has("recovery") => pair(
            "made recovery shares for",
            "making recovery shares for",
            &office,
        ),
        "manage_holders" => pair(
            "changed who holds the key of",
            "changing who holds the key of",
            &office,
        ),
        "hold_office_key" => pair(
            "set up their own key for",
            "setting up their key for",
            &office,
        ),
        "manage_users" => {
            let who = user_words(&t, names);
            if has("disable") {
                pair("switched off", "switching off", &who)
            } else if has("enable") {
                pair("switched back on", "switching on", &who)
            } else if has("reset_password") {
                pair("set a new password for", "setting a new password for", &who)
            } else if has("reset_totp") {
                pair(
                    "reset the authenticator of",
                    "resetting the authenticator of",
                    &who,
                )
            } else if t.user.is_some() {
                pair("created", "creating", &who)
            } else {
                pair("listed the accounts", "listing the accounts", "")
            }
        }
        "confirm_access" => pair("confirmed", "confirming", &user_words(&t, names)),
        "run_retention" => pair(
            "ran the retention schedule",
            "running the retention schedule",
            "",
        ),
        "read_office_audit" | "read_all_audit" => {
            pair("read the audit log", "reading the audit log", "")
        }
        "csrf_check" => pair(
            "sent a form without its security code",
            "sending a form",
            "",
        ),
        "totp_enrol" => pair(
            "set up an authenticator app",
            "setting up an authenticator app",
            "",
        ),
        "password_change" => pair("changed their own password", "changing their password", ""),
        "recovery_codes" => pair("made new recovery codes", "making new recovery codes", ""),
        "passkey_add" => pair("added a passkey", "adding a passkey", ""),
        "passkey_remove" => pair("removed a passkey", "removing a passkey", ""),
        "backup" => pair("made a backup", "making a backup", ""),
        other => pair(other, other, &e.target),
    }
}

/// Why something was refused or failed, in words ("" when the refusal is all).
fn reason(outcome: &str) -> &str {
    match outcome {
        "ok" | "denied" | "placed" | "lifted" => "",
        "sealed" => "the office was sealed",
        "step_up_required" => "a fresh code was needed",
        "invalid_credentials" => "wrong username, password or code",
        "invalid_code" => "wrong code",
        "totp_required" => "the code was missing",
        "throttled" => "too many attempts",
        "csrf_invalid" => "the form had no valid security code",
        "must_enrol" => "an authenticator must be set up first",
        "wrong_secret" | "unseal_failed" => "wrong passphrase",
        "wrong_password" => "wrong current password",
        "not_found" => "it was not found",
        "legal_hold" => "a legal hold covers it",
        "already_closed" => "it was already closed",
        "no_longer_allowed" => "it was no longer allowed when it finished",
        "access_pending" => "the account waits for confirmation",
        "failed" => "it failed",
        "page" => "",
        "revoked" => "the link was revoked",
        "expired" => "the link had ended",
        "used_up" => "the link was used up",
        "maker_no_longer_allowed" => {
            "whoever made the link may no longer add documents to the case"
        }
        "empty" | "empty_file" => "the file was empty",
        "no_file" => "no file was chosen",
        "bad_form" => "the form did not arrive whole",
        other => other,
    }
}

/// The whole sentence for an entry, starting with who.
pub(super) fn sentence(e: &AuditEntryView, names: &HashMap<String, String>) -> String {
    let who = match names.get(&e.actor) {
        Some(n) => n.clone(),
        None if e.actor == "-" => "Someone not signed in".to_string(),
        None if e.actor == "operator" => "The server operator".to_string(),
        None if e.actor == "system" => "casevault itself".to_string(),
        None if e.actor.starts_with("link:") => {
            format!(
                "A client (through link {})",
                short(e.actor.get(5..).unwrap_or(""))
            )
        }
        None => format!("Account {}", short(&e.actor)),
    };
    let (done, tried) = deed(e, names);
    let (count, code) = match e.outcome.split_once(" x ") {
        Some((code, rest)) => (rest.split(' ').next(), code),
        None => (None, e.outcome.as_str()),
    };
    // "ok version=2", "ok holder=ID": the first word is the outcome, the rest ids.
    let code = code.split(' ').next().unwrap_or(code);
    let why = reason(code);
    let mut s = if e.decision == "deny" {
        format!("{who} was refused {tried}")
    } else if why.is_empty() || code == "recovery_code" {
        format!("{who} {done}")
    } else {
        format!("{who} tried {tried}, but {why}")
    };
    if e.decision == "deny" && !why.is_empty() {
        s.push_str(": ");
        s.push_str(why);
    }
    if code == "recovery_code" {
        s.push_str(" with a recovery code");
    }
    if let Some(n) = count {
        s.push_str(&format!(" ({n} more like it, counted together)"));
    }
    s.push('.');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        actor: &str,
        action: &str,
        target: &str,
        decision: &str,
        outcome: &str,
    ) -> AuditEntryView {
        AuditEntryView {
            seq: 1,
            time: "2026-12-07T18:15:00Z".into(),
            actor: actor.into(),
            role: crate::policy::Role::Caseworker.as_str().into(),
            action: action.into(),
            target: target.into(),
            decision: decision.into(),
            outcome: outcome.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn entries_read_as_sentences() {
        let names = HashMap::from([("u1".to_string(), "alice".to_string())]);
        let case = "case:3f2a1b2c-0000-4000-8000-000000000000 office:bronx";
        assert_eq!(
            sentence(&entry("u1", "add_note", case, "allow", "ok"), &names),
            "alice added a note to case 3f2a1b2c…."
        );
        assert_eq!(
            sentence(
                &entry("u1", "edit_case", case, "allow", "ok version=2"),
                &names
            ),
            "alice changed the details of case 3f2a1b2c…."
        );
        assert_eq!(
            sentence(&entry("u1", "read_case", case, "allow", "sealed"), &names),
            "alice tried opening case 3f2a1b2c…, but the office was sealed."
        );
        assert_eq!(
            sentence(&entry("u1", "read_case", case, "deny", "denied"), &names),
            "alice was refused opening case 3f2a1b2c…."
        );
        assert_eq!(
            sentence(
                &entry(
                    "-",
                    "login",
                    "user:-",
                    "deny",
                    "throttled x 397 addresses=1"
                ),
                &names
            ),
            "Someone not signed in was refused signing in: too many attempts (397 more like it, counted together)."
        );
    }
}
