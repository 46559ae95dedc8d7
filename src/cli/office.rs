//! `casevault office add|holders|rotate`: create an office and print its secret once;
//! list its key holders; rotate its key.
//!
//! Invariant: the office passphrase (or, for an office-held office, its identity) is
//! printed exactly once and kept nowhere in the clear: the server stores only the
//! wrapped identity (or only the public key).
use std::process::ExitCode;

use age::secrecy::ExposeSecret;

use casevault::vault::{OfficeMode, operator};

use super::args::OfficeCmd;
use super::{open, say, secret_from_env_or_prompt};

/// Runs an `office` sub-command.
pub(super) async fn run(cmd: OfficeCmd) -> Result<ExitCode, String> {
    match cmd {
        OfficeCmd::Add {
            data,
            slug,
            office_held,
            time_zone,
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
                .create_office_in_zone(&operator::actor(), &slug, mode, &time_zone)
                .await
                .map_err(|e| e.to_string())?;
            say!("Office {slug} created. Recipient: {}", c.recipient);
            if let Some(p) = &c.passphrase {
                say!(
                    "Passphrase (shown once; without it nothing of this office can be read): {}",
                    p.expose_secret()
                );
            }
            if let Some(i) = &c.identity {
                say!(
                    "Office identity (shown once; the server keeps no copy — store it offline): {}",
                    i.expose_secret()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        OfficeCmd::List { data, common } => {
            let app = open(&data, &common)?;
            let offices = operator::office_summaries(&app.vault).map_err(|e| e.to_string())?;
            if offices.is_empty() {
                say!("No office yet: add one with `casevault office add --data DIR --slug NAME`.");
                return Ok(ExitCode::SUCCESS);
            }
            say!(
                "{:<24} {:<22} {:<10} key holders",
                "office",
                "time zone",
                "legal hold"
            );
            for o in offices {
                say!(
                    "{:<24} {:<22} {:<10} {}",
                    o.slug,
                    o.time_zone,
                    if o.held { "yes" } else { "no" },
                    o.holders
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        OfficeCmd::Holders {
            data,
            office,
            common,
        } => {
            let app = open(&data, &common)?;
            let holders = app
                .vault
                .list_holders(&operator::actor(), &office)
                .await
                .map_err(|e| e.to_string())?;
            if holders.is_empty() {
                say!("Office {office} has no key holders (office-held, or not found).");
            }
            say!(
                "{:<36}  {:<20}  {:<8}  {:<24}  last used",
                "id",
                "holder",
                "state",
                "since"
            );
            for h in holders {
                let who = h.username.unwrap_or_else(|| "(office passphrase)".into());
                say!(
                    "{:<36}  {:<20}  {:<8}  {:<24}  {}",
                    h.id,
                    who,
                    h.state,
                    h.created_at,
                    h.last_used_at.unwrap_or_else(|| "never".into())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        OfficeCmd::Recovery {
            data,
            office,
            threshold,
            shares,
            common,
        } => {
            // A running server would keep the old office key in memory: not while
            // one serves this directory (and none starts until this is done).
            let _serving = casevault::store::ServeLock::acquire(&data)?;
            let app = open(&data, &common)?;
            let (op, pass) = unseal_here(&app, &office).await?;
            let v = &app.vault;
            let lines = v
                .make_recovery(
                    &op,
                    &office,
                    threshold,
                    shares,
                    pass,
                    casevault::vault::StepUp::none(),
                )
                .await
                .map_err(|e| e.to_string());
            v.seal_everything();
            let lines = lines?;
            say!(
                "Recovery shares of office {office}: any {threshold} of these {} lines unseal it. Each is shown once: hand each to a different person, on paper.",
                lines.len()
            );
            for l in &lines {
                say!("{}", l.as_str());
            }
            Ok(ExitCode::SUCCESS)
        }
        OfficeCmd::Rotate {
            data,
            office,
            common,
        } => {
            let _serving = casevault::store::ServeLock::acquire(&data)?;
            let app = open(&data, &common)?;
            let (op, _) = unseal_here(&app, &office).await?;
            let v = &app.vault;
            eprintln!(
                "Rotating the key of office {office}: every case is re-wrapped; this takes about a second per thousand cases."
            );
            let r = v
                .rotate_office(&op, &office, casevault::vault::StepUp::none())
                .await
                .map_err(|e| e.to_string());
            v.seal_everything();
            let r = r?;
            say!(
                "Office {office}: key rotated, {} case(s) re-wrapped. The old office key opens nothing in this vault any more.",
                r.cases
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Unseals `office` in this process with a key holder's passphrase (terminal or
/// CASEVAULT_PASSPHRASE); the operator, and the passphrase again for what follows.
async fn unseal_here(
    app: &casevault::app::App,
    office: &str,
) -> Result<(casevault::vault::Actor, age::secrecy::SecretString), String> {
    let secret = secret_from_env_or_prompt(
        "CASEVAULT_PASSPHRASE",
        "a key holder's passphrase (or the office passphrase)",
    )?;
    let op = operator::actor();
    let pass = || age::secrecy::SecretString::from(secret.to_string());
    app.vault
        .unseal(&op, office, pass(), casevault::vault::StepUp::none())
        .await
        .map_err(|e| e.to_string())?;
    Ok((op, pass()))
}
