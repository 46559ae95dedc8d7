//! `casevault audit verify`, `head` and `export`: read the audit log straight from the
//! database, without the policy or any office key.
//!
//! Invariant: these commands add no entry and change none. `verify` exits 1 at the
//! first entry that does not hold, so a script cannot take a broken chain for an
//! intact one; `export` writes the stored fields only, which are ids, never names.
use std::io::ErrorKind;
use std::path::Path;
use std::process::ExitCode;

use casevault::audit;

use super::args::AuditCmd;
use super::{db_exists, say};

/// Runs an `audit` sub-command.
pub(super) fn run(cmd: AuditCmd) -> Result<ExitCode, String> {
    let open_db = |data: &Path| -> Result<casevault::store::Db, String> {
        if !db_exists(data) {
            return Err(format!("{} holds no vault", data.display()));
        }
        casevault::store::Db::open(data).map_err(|e| e.to_string())
    };
    match cmd {
        AuditCmd::Verify { data, expect } => {
            let db = open_db(&data)?;
            let expect = match expect {
                Some(e) => Some(
                    audit::parse_head(&e)
                        .ok_or("--expect takes SEQ:HASH as printed by `casevault audit head`")?,
                ),
                None => None,
            };
            match audit::verify(&db, expect).map_err(|e| e.to_string())? {
                audit::Verdict::Intact { entries, head } => {
                    let head = head
                        .map(|(s, h)| audit::format_head(s, &h))
                        .unwrap_or_else(|| "0:-".into());
                    say!("ok: {entries} entries, head {head}");
                    Ok(ExitCode::SUCCESS)
                }
                audit::Verdict::Broken { seq, reason } => {
                    say!("{seq}");
                    eprintln!("audit log broken at entry {seq}: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCmd::Head { data } => {
            let db = open_db(&data)?;
            match db.read(|tx| tx.audit_head()).map_err(|e| e.to_string())? {
                Some((seq, hash)) => say!("{}", audit::format_head(seq, &hash)),
                None => say!("0:{}", casevault::crypto::hex(&audit::GENESIS)),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Export { data, after } => {
            let db = open_db(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match audit::export_jsonl(&db, after, &mut out) {
                // `audit export | head`: the reader has what it wanted.
                Err(audit::ExportError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e.to_string()),
                Ok(()) => {}
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
