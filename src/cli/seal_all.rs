//! `casevault seal-all`: the panic seal, through a running server's API.
//!
//! Invariant: the password and TOTP code come from the environment or the terminal,
//! never from the command line, and are wiped after use; after a successful seal the
//! session is ended at once.
use std::path::Path;
use std::process::ExitCode;

use casevault::remote::Target;

use super::{say, secret_from_env_or_prompt};

/// Signs in to `url` as `username`, wipes every office key that account may seal from
/// the server's memory, signs out and prints the offices sealed.
pub(super) async fn run(
    url: &str,
    username: &str,
    ca_cert: Option<&Path>,
) -> Result<ExitCode, String> {
    let target = Target::new(url, ca_cert)?;
    let password = secret_from_env_or_prompt("CASEVAULT_PASSWORD", "password")?;
    let totp = secret_from_env_or_prompt("CASEVAULT_TOTP", "authenticator code")?;
    let started = std::time::Instant::now();
    let session = target.login(username, &password, &totp).await?;
    let sealed = target.seal_all(&session).await?;
    target.logout(session).await;
    if sealed.is_empty() {
        say!("No office was unsealed; nothing to wipe.");
    } else {
        say!("Sealed: {}", sealed.join(", "));
    }
    eprintln!("({} ms)", started.elapsed().as_millis());
    Ok(ExitCode::SUCCESS)
}
