//! `casevault backup create|list|verify|prune` and `casevault restore`.
//!
//! Invariant: nothing printed here holds client data: ids, times, sizes and counts.
//! A failure is one line on stderr and exit status 1; a backup that failed is never
//! listed.
use std::path::Path;
use std::process::ExitCode;

use casevault::backup::progress::{Progress, human_bytes};
use casevault::backup::restore::{RestoreRequest, restore as run_restore};
use casevault::backup::target;
use casevault::backup::{self as bk};
use casevault::crypto::BackupIdentity;
use casevault::vault::{BackupRequest, operator};

use super::args::{BackupCmd, Common, S3TargetArgs};
use super::{db_exists, open, say};

/// Runs a `backup` sub-command.
pub(super) async fn run(cmd: BackupCmd) -> Result<ExitCode, String> {
    match cmd {
        BackupCmd::Create {
            data,
            to,
            recipient,
            rotate_recipient,
            quiet,
            s3,
            common,
        } => {
            if !db_exists(&data) {
                return Err(format!("{} holds no vault", data.display()));
            }
            let app = open(&data, &common)?;
            let req = BackupRequest {
                to,
                s3: s3.access(),
                recipient,
                rotate: rotate_recipient,
                scheduled: false,
            };
            let r = app
                .vault
                .backup_create(&operator::actor(), req, Progress::new(!quiet))
                .await
                .map_err(|e| e.to_string())?;
            say!("{}", r.id);
            if !quiet {
                eprintln!(
                    "backup {} complete: {} cases, {} documents, {} in all; {} written now ({} new document files)",
                    r.id,
                    r.cases,
                    r.documents,
                    human_bytes(r.bytes),
                    human_bytes(r.copied),
                    r.blobs_copied
                );
                if r.missing > 0 {
                    eprintln!(
                        "warning: {} document file(s) were missing from the vault's blob store and are not in this backup",
                        r.missing
                    );
                }
                if r.rotated {
                    eprintln!(
                        "the shred ledger is now sealed to the new recipient; once a restore with the new identity has worked, destroy the old identity"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCmd::List { from, backup, s3 } => {
            let target = open_target(&from, &s3)?;
            let all = bk::list(&*target).map_err(|e| e.to_string())?;
            let shown: Vec<_> = all
                .into_iter()
                .filter(|l| backup.as_deref().is_none_or(|b| b == l.id))
                .collect();
            if let Some(b) = &backup
                && shown.is_empty()
            {
                return Err(format!("{} holds no complete backup {b}", from.display()));
            }
            for l in shown {
                match l.manifest {
                    Some(m) => say!(
                        "{}  {}  {}  cases {}  documents {}",
                        l.id,
                        m.created_at,
                        human_bytes(m.total_bytes()),
                        m.cases,
                        m.documents
                    ),
                    None => say!("{}  DAMAGED (run `casevault backup verify`)", l.id),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCmd::Verify {
            from,
            backup,
            quiet,
            s3,
        } => {
            let target = open_target(&from, &s3)?;
            let r = bk::verify(&*target, backup.as_deref(), &mut Progress::new(!quiet))
                .map_err(|e| e.to_string())?;
            for p in &r.problems {
                say!("DAMAGED: {p}");
            }
            if r.problems.is_empty() {
                say!(
                    "ok: {} backup(s), {} files, {} checked",
                    r.backups,
                    r.files,
                    human_bytes(r.bytes)
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("{} problem(s) found", r.problems.len());
                Ok(ExitCode::from(1))
            }
        }
        BackupCmd::Prune { from, keep, s3 } => {
            let target = open_target(&from, &s3)?;
            let r = bk::prune(&*target, keep).map_err(|e| e.to_string())?;
            say!(
                "removed {} backup(s), kept {}; removed {} document file(s), {}",
                r.removed.len(),
                r.kept,
                r.blobs,
                human_bytes(r.bytes)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_target(from: &Path, s3: &S3TargetArgs) -> Result<Box<dyn target::Target>, String> {
    target::open(&from.to_string_lossy(), &s3.access()).map_err(|e| e.to_string())
}

/// `casevault restore`.
pub(super) fn restore(
    from: &Path,
    s3: &S3TargetArgs,
    identity: &Path,
    backup: Option<&str>,
    data: &Path,
    quiet: bool,
    common: &Common,
) -> Result<ExitCode, String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(identity).map_err(|e| format!("{}: {e}", identity.display()))?,
    );
    let identity = BackupIdentity::from_file_text(&text).map_err(|_| {
        format!(
            "{} holds no age identity (AGE-SECRET-KEY-1...)",
            identity.display()
        )
    })?;
    let access = s3.access();
    let req = RestoreRequest {
        from,
        s3: &access,
        identity: &identity,
        backup,
        data,
        auth_key_file: common.auth_key.as_deref(),
        now: casevault::clock::rfc3339(time::OffsetDateTime::now_utc()),
    };
    let r = run_restore(&req, &mut Progress::new(!quiet)).map_err(|e| e.to_string())?;
    say!("{}", r.backup);
    eprintln!(
        "restored backup {} (made {}) into {}: {} offices, {} cases, {} documents; audit log of {} entries verified",
        r.backup,
        r.created_at,
        data.display(),
        r.offices,
        r.cases,
        r.documents,
        r.audit_entries
    );
    if r.dropped_cases + r.dropped_documents + r.dropped_offices > 0 {
        eprintln!(
            "left out, because they were purged after this backup: {} offices, {} cases, {} documents",
            r.dropped_offices, r.dropped_cases, r.dropped_documents
        );
    }
    if r.missing_documents > 0 {
        eprintln!(
            "warning: {} document(s) left out: their files were already missing from the vault when this backup was made",
            r.missing_documents
        );
    }
    if r.second_factors_reset > 0 {
        eprintln!(
            "{} account(s) must enrol their authenticator again at next sign-in (no --auth-key of the old vault was given)",
            r.second_factors_reset
        );
    }
    eprintln!(
        "next: casevault serve --data {}{}  (every office starts sealed; unseal with its passphrase)",
        data.display(),
        common
            .auth_key
            .as_ref()
            .map(|k| format!(" --auth-key {}", k.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
