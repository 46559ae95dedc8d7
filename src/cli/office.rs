//! `casevault office add`: create an office and print its secret once.
//!
//! Invariant: the office passphrase (or, for an office-held office, its identity) is
//! printed exactly once and kept nowhere in the clear: the server stores only the
//! wrapped identity (or only the public key).
use std::process::ExitCode;

use age::secrecy::ExposeSecret;

use casevault::vault::{OfficeMode, operator};

use super::args::OfficeCmd;
use super::open;

/// Runs an `office` sub-command.
pub(super) async fn run(cmd: OfficeCmd) -> Result<ExitCode, String> {
    match cmd {
        OfficeCmd::Add {
            data,
            slug,
            office_held,
            common,
        } => {
            let app = open(&data, &common)?;
            let mode = if office_held {
                OfficeMode::OfficeHeld
            } else {
                OfficeMode::Passphrase
            };
            let c = app
                .vault
                .create_office(&operator::actor(), &slug, mode, None)
                .await
                .map_err(|e| e.to_string())?;
            println!("Office {slug} created. Recipient: {}", c.recipient);
            if let Some(p) = &c.passphrase {
                println!(
                    "Passphrase (shown once; without it nothing of this office can be read): {}",
                    p.expose_secret()
                );
            }
            if let Some(i) = &c.identity {
                println!(
                    "Office identity (shown once; the server keeps no copy — store it offline): {}",
                    i.expose_secret()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
