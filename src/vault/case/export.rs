//! Export: a case's documents as standard age files, re-encrypted to a recipient the
//! office names, so that the `age` / `rage` tools read them. Plaintext only ever exists
//! in memory buffers between decryption and re-encryption; it never touches disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;

use crate::crypto::{self, CaseKey};
use crate::policy::Action;
use crate::store::BlobName;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Vault, VaultError, parse_id};

/// What an export wrote.
#[derive(Debug)]
pub struct ExportSummary {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Plaintext bytes exported.
    pub bytes: u64,
}

fn age_writer(
    recipient: &str,
    path: &Path,
) -> Result<age::stream::StreamWriter<std::io::BufWriter<std::fs::File>>, VaultError> {
    let r = crypto::parse_recipient(recipient).map_err(|_| {
        VaultError::bad(
            "invalid_recipient",
            "the recipient must be an age X25519 recipient (age1…)",
        )
    })?;
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            VaultError::bad(
                "export_failed",
                format!("cannot create {}: {e}", path.display()),
            )
        })?;
    enc.wrap_output(std::io::BufWriter::new(file))
        .map_err(|e| VaultError::Internal(e.to_string()))
}

/// Exports every document of a case, and `case.json.age` with its metadata, to
/// `outdir`, unwrapping the office identity with `passphrase` (or, for an
/// office-held office, the identity string).
pub fn export_case(
    vault: &Vault,
    case_id: &str,
    recipient: &str,
    outdir: &Path,
    secret: &SecretString,
) -> Result<ExportSummary, VaultError> {
    crypto::parse_recipient(recipient).map_err(|_| {
        VaultError::bad(
            "invalid_recipient",
            "the recipient must be an age X25519 recipient (age1…)",
        )
    })?;
    let actor = crate::vault::office::operator::actor();
    let id = parse_id(case_id).ok_or(VaultError::NotFound)?;
    let (case, allowed) = vault.case_for(
        &actor,
        Action::ReadCase,
        &id,
        Some(Target::word(Word::Export)),
    )?;
    let office = vault
        .db
        .read(|tx| tx.office(&case.office))?
        .ok_or(VaultError::NotFound)?;
    // Any key holder's passphrase (or the office passphrase, or the office-held
    // identity) opens the office for the operator.
    let office_key = vault
        .open_by_secret(
            &office,
            crate::vault::office::custody::Candidates::Any,
            secret,
        )
        .map_err(|_| VaultError::WrongPassphrase)?
        .key;
    let case_key: CaseKey = office_key.unwrap_case(&case.wrapped_identity)?;
    vault.record_now(&allowed, "ok")?;
    std::fs::create_dir_all(outdir).map_err(|e| {
        VaultError::bad(
            "export_failed",
            format!("cannot create {}: {e}", outdir.display()),
        )
    })?;

    let mut files = Vec::new();
    let mut bytes = 0u64;
    let meta = case_key.open(&case.metadata)?;
    let path = outdir.join("case.json.age");
    let mut w = age_writer(recipient, &path)?;
    w.write_all(&meta)
        .and_then(|_| w.finish())
        .map_err(|e| VaultError::Internal(e.to_string()))?;
    files.push(path);

    let docs = vault.db.read(|tx| tx.documents(&case.id))?;
    let mut used = std::collections::HashSet::new();
    for d in docs {
        #[derive(serde::Deserialize)]
        struct M {
            filename: String,
            size: u64,
        }
        let m: M = serde_json::from_slice(&case_key.open(&d.meta)?)
            .map_err(|_| VaultError::Internal("document metadata does not parse".into()))?;
        // Filenames were validated at upload (no separators); still never trust them
        // as paths, and keep two documents of the same name apart.
        let base = Path::new(&m.filename)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("document")
            .to_string();
        let mut name = format!("{base}.age");
        let mut n = 1;
        while !used.insert(name.clone()) || name == "case.json.age" {
            n += 1;
            name = format!("{base} ({n}).age");
        }
        let path = outdir.join(&name);
        let blob =
            BlobName::parse(&d.blob).ok_or_else(|| VaultError::Internal("bad blob name".into()))?;
        let file = vault
            .blobs
            .open_blob(&blob)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let mut reader =
            crypto::open_document(&case_key, &d.header, std::io::BufReader::new(file), m.size)?;
        let mut w = age_writer(recipient, &path)?;
        bytes +=
            std::io::copy(&mut reader, &mut w).map_err(|e| VaultError::Internal(e.to_string()))?;
        w.finish()
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        files.push(path);
    }
    Ok(ExportSummary { files, bytes })
}
