//! `casevault purge`, `hold` and `retention run`: crypto-shredding and what stops it.
//!
//! Invariant: a purge destroys keys for good, so it happens only after the person at
//! the terminal has typed the target again (or a script said `--yes`), and never while
//! a legal hold covers the target; the vault enforces the hold, this module the
//! confirmation. A hold's reason is stored encrypted and never printed.
use std::path::Path;
use std::process::ExitCode;

use zeroize::Zeroizing;

use casevault::vault::{Decided, StepUp, VaultError, operator};

use super::args::{Common, RetentionCmd};
use super::{db_exists, open, say};

/// `casevault purge`: confirms unless `yes`, then purges one case, one document or a
/// whole office. Purging what is already gone succeeds: the end state is the one
/// asked for.
pub(super) async fn purge(
    data: &Path,
    case: Option<String>,
    document: Option<String>,
    office: Option<String>,
    yes: bool,
    common: &Common,
) -> Result<ExitCode, String> {
    if !yes {
        confirm_purge(
            case.as_deref()
                .or(document.as_deref())
                .or(office.as_deref()),
        )?;
    }
    purge_confirmed(data, case, document, office, common).await
}

/// Asks the person at the terminal to type the target again; refuses without a
/// terminal (scripts pass --yes).
fn confirm_purge(target: Option<&str>) -> Result<(), String> {
    use std::io::IsTerminal;
    let Some(target) = target else {
        return Err("give --case, --document or --office".into());
    };
    if !std::io::stdin().is_terminal() {
        return Err(
            "purge destroys keys for good: add --yes to confirm when running without a terminal"
                .into(),
        );
    }
    eprintln!(
        "This destroys the keys of {target} for good: nothing of it can ever be decrypted again."
    );
    eprint!("Type {target} to confirm: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != target {
        return Err("not confirmed; nothing was purged".into());
    }
    Ok(())
}

/// The purge itself, once confirmed; refuses a directory that holds no vault rather
/// than create an empty one.
async fn purge_confirmed(
    data: &Path,
    case: Option<String>,
    document: Option<String>,
    office: Option<String>,
    common: &Common,
) -> Result<ExitCode, String> {
    if !db_exists(data) {
        return Err(format!("{} holds no vault", data.display()));
    }
    let app = open(data, common)?;
    let op = operator::actor();
    let v = &app.vault;
    let none = StepUp::none;
    let (what, result) = match (case, document, office) {
        (Some(c), _, _) => (format!("case {c}"), v.purge_case(&op, &c, none()).await),
        (None, Some(d), _) => {
            let what = format!("document {d}");
            match operator::case_of_document(v, &d).map_err(|e| e.to_string())? {
                Some(c) => (what, v.purge_document(&op, &c, &d, none()).await),
                None => (what, Err(VaultError::NotFound)),
            }
        }
        (None, None, Some(o)) => {
            if v.settings().approvals.rule("purge_office").is_some() {
                say!("{SKIP_WARNING}");
            }
            let r = v.purge_office(&op, &o, none()).await.and_then(done);
            (format!("office {o}"), r)
        }
        (None, None, None) => return Err("give --case, --document or --office".into()),
    };
    match result {
        Ok(r) => {
            say!(
                "Purged {what}: {} cases, {} documents, {} stored bytes are now unreadable.",
                r.cases,
                r.documents,
                r.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        // Purging again is not an error: the end state is the one asked for.
        Err(VaultError::NotFound) => {
            say!("Nothing to purge: no {what} (already purged, or never existed).");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// `casevault hold`: places (or with `lift`, lifts) a legal hold on a case or an
/// office.
pub(super) async fn hold(
    data: &Path,
    case: Option<String>,
    office: Option<String>,
    lift: bool,
    reason: Option<String>,
    common: &Common,
) -> Result<ExitCode, String> {
    let app = open(data, common)?;
    let op = operator::actor();
    let reason = reason.map(Zeroizing::new);
    let reason = reason.as_deref().map(String::as_str);
    if lift && app.vault.settings().approvals.rule("lift_hold").is_some() {
        say!("{SKIP_WARNING}");
    }
    let (what, r) = match (&case, &office) {
        (Some(c), _) => (
            format!("case {c}"),
            app.vault
                .set_case_hold(&op, c, !lift, reason, StepUp::none())
                .await,
        ),
        (None, Some(o)) => (
            format!("office {o}"),
            app.vault
                .set_office_hold(&op, o, !lift, reason, StepUp::none())
                .await,
        ),
        (None, None) => return Err("give --case or --office".into()),
    };
    r.and_then(done).map_err(|e| format!("{what}: {e}"))?;
    say!(
        "Legal hold {} on {what}.",
        if lift { "lifted" } else { "placed" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `casevault retention run`: purges (or with `--dry-run` lists) the closed cases
/// past their retention period; exits 1 when any of them failed.
pub(super) async fn retention(cmd: RetentionCmd) -> Result<ExitCode, String> {
    let RetentionCmd::Run {
        data,
        dry_run,
        common,
    } = cmd;
    let app = open(&data, &common)?;
    let r = app
        .vault
        .run_retention(dry_run)
        .await
        .map_err(|e| e.to_string())?;
    let verb = if dry_run { "would purge" } else { "purged" };
    for i in &r.purged {
        say!(
            "{verb} case {} (office {}): {} documents, {} bytes",
            i.case_id,
            i.office,
            i.documents,
            i.bytes
        );
    }
    for id in &r.held {
        say!("kept case {id}: under legal hold");
    }
    for id in &r.failed {
        say!("FAILED case {id}: see the log");
    }
    say!(
        "retention (closed cases older than {} days): {} {verb}, {} held, {} failed",
        app.vault.settings().retention.closed_case_days,
        r.purged.len(),
        r.held.len(),
        r.failed.len()
    );
    Ok(if r.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Printed before an operator's office purge or hold lift that users would need an
/// approval for.
const SKIP_WARNING: &str = "WARNING: the command line skips the approvals the office's \
policy (policy/approvals.toml) asks of administrators; this is audited as `skipped_approval`.";

/// The operator's actions never wait; a request would be a fault.
fn done<T>(d: Decided<T>) -> Result<T, VaultError> {
    match d {
        Decided::Done(t) => Ok(t),
        Decided::Pending(_) => Err(VaultError::Internal(
            "an operator's action was turned into a request".into(),
        )),
    }
}
