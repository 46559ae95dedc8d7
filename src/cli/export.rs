//! `casevault export`: a case's documents and metadata as standard `.age` files for
//! one recipient.
//!
//! Invariant: nothing leaves in the clear. Each file is encrypted to the given
//! recipient, and the office passphrase comes from a file or the terminal, never
//! from the command line.
use std::path::Path;
use std::process::ExitCode;

use casevault::vault::export_case;

use super::args::Common;
use super::{open, read_secret, say};

/// Exports case `case` to `to` into the directory `out`; prints each file written.
pub(super) fn run(
    data: &Path,
    case: &str,
    to: &str,
    out: &Path,
    passphrase_file: Option<&Path>,
    common: &Common,
) -> Result<ExitCode, String> {
    let app = open(data, common)?;
    let secret = read_secret(passphrase_file, "office passphrase")?;
    let s = export_case(&app.vault, case, to, out, &secret).map_err(|e| e.to_string())?;
    for f in &s.files {
        say!("{}", f.display());
    }
    eprintln!(
        "exported {} files ({} bytes of documents) to {}",
        s.files.len(),
        s.bytes,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
