//! The `casevault` command line: start-up (logging, no core dumps, the runtime), one
//! dispatch from a parsed command to its handler, and the helpers the handlers share.
//!
//! The handlers hold no rules of their own: each vault operation is a library call
//! made as `operator::actor()`, so the policy decides it and the audit log records
//! it as for any other caller (only the `audit` commands open the database directly,
//! to check and read the log). Secrets read here (passphrases, passwords, codes) live
//! in buffers wiped on drop and are never logged; a new password or passphrase is
//! printed once.
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use casevault::VaultOptions;
use casevault::app::App;
use casevault::{Clock, config};

mod args;
mod args_accounts;
mod audit;
mod backup;
mod export;
mod office;
mod purge;
mod seal_all;
mod serve;
mod user;

pub(crate) use args::Cli;
use args::{BlobArgs, Command, Common};

/// Sets up the process (logging to stderr, core dumps off) and runs the command on a
/// multi-threaded runtime. An `Err` is the one line to print before exiting with 1.
pub(crate) fn run(cli: Cli) -> Result<ExitCode, String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CASEVAULT_LOG")
                // object_store says at info when it retries: a degraded store shows here.
                .unwrap_or_else(|_| "casevault=info,object_store::client::retry=info,webauthn_rs_core=off,webauthn_rs=off,warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a pipe, a file or the journal gets
        // plain text, and NO_COLOR (https://no-color.org) turns it off anywhere.
        .with_ansi(colour_on_stderr())
        .init();
    // Best effort: a core dump would hold unsealed office keys.
    if let Err(e) = casevault::hardening::disable_core_dumps() {
        tracing::warn!(error = %e, "could not disable core dumps");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(dispatch(cli.command))
}

/// Whether stderr is a terminal and NO_COLOR is unset or empty.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints a line to stdout, like `println!`, but a reader that went away (`casevault
/// backup list | head -1`) ends the command quietly with status 0, as a pipe's
/// reader asked, instead of `println!`'s panic. Any other write error is the
/// command's error.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::say_line(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// The body of [`say!`].
pub(crate) fn say_line(line: std::fmt::Arguments<'_>) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .or_else(quiet_on_broken_pipe)
}

/// A stdout write error: the reader going away (EPIPE) ends the process with status
/// 0 — nothing is left to say to anyone, and the work the output reported is done —,
/// anything else is an error to report.
pub(crate) fn quiet_on_broken_pipe(e: std::io::Error) -> Result<(), String> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Err(format!("cannot write to standard output: {e}"))
}

async fn dispatch(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Demo {
            data,
            listen,
            credentials_out,
            public_url,
            blobs,
            common,
        } => serve::demo(&data, listen, credentials_out, public_url, &blobs, &common).await,
        Command::Init {
            data,
            superadmin,
            blobs,
            common,
        } => serve::init(&data, superadmin, &blobs, &common).await,
        Command::Serve {
            data,
            listen,
            tls_cert,
            tls_key,
            insecure_plain_http,
            public_url,
            blobs,
            common,
        } => {
            serve::serve(
                &data,
                (listen, public_url),
                tls_cert,
                tls_key,
                insecure_plain_http,
                &blobs,
                &common,
            )
            .await
        }
        Command::Office(cmd) => office::run(cmd).await,
        Command::User(cmd) => user::run(cmd).await,
        Command::Purge {
            data,
            case,
            document,
            office,
            yes,
            common,
        } => purge::purge(&data, case, document, office, yes, &common).await,
        Command::Hold {
            data,
            case,
            office,
            lift,
            reason,
            common,
        } => purge::hold(&data, case, office, lift, reason, &common).await,
        Command::Retention(cmd) => purge::retention(cmd).await,
        Command::SealAll {
            url,
            username,
            ca_cert,
        } => seal_all::run(&url, &username, ca_cert.as_deref()).await,
        Command::Audit(cmd) => audit::run(cmd),
        Command::Backup(cmd) => backup::run(cmd).await,
        Command::Restore {
            from,
            identity,
            backup,
            data,
            quiet,
            s3,
            common,
        } => backup::restore(
            &from,
            &s3,
            &identity,
            backup.as_deref(),
            &data,
            quiet,
            &common,
        ),
        Command::Export {
            data,
            case,
            to,
            out,
            passphrase_file,
            common,
        } => export::run(&data, &case, &to, &out, passphrase_file.as_deref(), &common),
    }
}

/// Opens the vault in `data` with the policy and settings `common` points at.
fn open(data: &Path, common: &Common) -> Result<App, String> {
    open_with(data, common, &BlobArgs::default())
}

/// [`open`], with the blob store of `blobs` over the settings' `[blobs]`.
fn open_with(data: &Path, common: &Common, blobs: &BlobArgs) -> Result<App, String> {
    let (policy, mut settings) = config::load_policy_dir(common.policy.as_deref())?;
    if let Some(b) = &blobs.blobs {
        settings.blobs.location = b.clone();
    }
    if let Some(e) = &blobs.s3_endpoint {
        settings.blobs.s3_endpoint = e.clone();
    }
    if let Some(c) = &blobs.s3_credentials {
        settings.blobs.s3_credentials = Some(c.clone());
    }
    App::open(
        VaultOptions {
            data_dir: data.to_path_buf(),
            settings,
            clock: Clock::system(),
            auth_key_file: common.auth_key.clone(),
        },
        policy,
    )
    .map_err(|e| e.for_operator())
}

/// Whether `data` already holds a vault (opening one would create it).
fn db_exists(data: &Path) -> bool {
    data.join(casevault::store::DB_FILE).exists()
}

/// Reads a secret from `file`, or else one line from the terminal after `prompt`;
/// surrounding whitespace is dropped. The text is wiped once it is a `SecretString`.
fn read_secret(file: Option<&Path>, prompt: &str) -> Result<SecretString, String> {
    let text = match file {
        Some(f) => {
            Zeroizing::new(std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?)
        }
        None => {
            eprint!("{prompt}: ");
            let mut s = Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut s)
                .map_err(|e| e.to_string())?;
            s
        }
    };
    Ok(SecretString::from(text.trim().to_string()))
}

/// Takes a secret from the environment variable `var` when set (scripts), else asks
/// at the terminal.
fn secret_from_env_or_prompt(var: &str, prompt: &str) -> Result<Zeroizing<String>, String> {
    if let Some(v) = std::env::var_os(var) {
        let v = v
            .into_string()
            .map_err(|_| format!("{var} is not valid UTF-8"))?;
        return Ok(Zeroizing::new(v.trim().to_string()));
    }
    let s = read_secret(None, prompt)?;
    Ok(Zeroizing::new(s.expose_secret().to_string()))
}

/// A fresh random password, in a buffer wiped on drop.
fn new_password() -> Zeroizing<String> {
    Zeroizing::new(
        casevault::crypto::generate_passphrase()
            .expose_secret()
            .to_string(),
    )
}
