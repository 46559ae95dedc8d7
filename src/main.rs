//! The `casevault` command line: parse, then call into the library. No logic here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use age::secrecy::{ExposeSecret, SecretString};
use clap::{Args, Parser, Subcommand};
use zeroize::Zeroizing;

use casevault::app::{App, AppOptions, Tls, self_signed};
use casevault::vault::{Actor, NewUser, OfficeMode, export_case};
use casevault::{Clock, audit, demo};

const GETTING_STARTED: &str = "Getting started:
  casevault demo                         try it at https://127.0.0.1:8443/
  casevault init --data /srv/casevault   a real vault; prints the superadmin's password once
  casevault office add --data /srv/casevault --slug bronx
  casevault serve --data /srv/casevault --tls-cert cert.pem --tls-key key.pem

Under `serve` every office starts sealed: an office administrator unseals it with the office
passphrase. `casevault COMMAND --help` explains each command.";

/// casevault — an encrypted case vault for legal-services offices.
///
/// Client files are encrypted with keys the office holds; every access is decided by
/// the policy in policy/ and written to a tamper-evident audit log.
#[derive(Parser)]
#[command(
    name = "casevault",
    version,
    about,
    long_about,
    propagate_version = true,
    after_help = GETTING_STARTED,
    after_long_help = GETTING_STARTED
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a demo vault (two offices, one user of each role) and serve it over
    /// HTTPS. Credentials go to DIR/credentials.json (mode 0600).
    Demo {
        /// Data directory (created if absent).
        #[arg(long, default_value = "demo-vault")]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// Where to write the credentials JSON (default DIR/credentials.json).
        #[arg(long)]
        credentials_out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Create a new, empty vault and its first superadmin (credentials printed once).
    Init {
        /// Data directory (must not hold a vault yet).
        #[arg(long)]
        data: PathBuf,
        /// The superadmin's username.
        #[arg(long, default_value = "root")]
        superadmin: String,
        #[command(flatten)]
        common: Common,
    },
    /// Serve an existing vault. Every office starts sealed.
    Serve {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: SocketAddr,
        /// TLS certificate chain (PEM). Without --tls-cert/--tls-key a self-signed
        /// certificate for localhost is made in the data directory.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP (only behind a TLS-terminating proxy on the same host).
        #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
        insecure_plain_http: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Manage offices.
    #[command(subcommand)]
    Office(OfficeCmd),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Check and read the audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Crypto-shred a case, one document or a whole office: its keys are deleted, so
    /// its ciphertext (and any earlier backup of it) can never be decrypted again.
    /// Refused while a legal hold covers it. Irreversible.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["case", "document", "office"])))]
    Purge {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: Option<String>,
        /// Document id.
        #[arg(long)]
        document: Option<String>,
        /// Office slug: every case, document and user of the office.
        #[arg(long)]
        office: Option<String>,
        /// Do not ask for confirmation (scripts). Without it you must type the case id,
        /// document id or office slug again at a terminal.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Place (or with --lift, lift) a legal hold on a case or a whole office. While
    /// held, nothing of it can be purged, by hand or by retention.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["case", "office"])))]
    Hold {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: Option<String>,
        /// Office slug.
        #[arg(long)]
        office: Option<String>,
        /// Lift the hold instead of placing it.
        #[arg(long)]
        lift: bool,
        /// Why (stored encrypted to the case or office; never printed or logged).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Routine deletion of closed cases (policy/retention.toml).
    #[command(subcommand)]
    Retention(RetentionCmd),
    /// Panic seal through a running server: signs in (password and TOTP code from
    /// CASEVAULT_PASSWORD / CASEVAULT_TOTP or asked on the terminal) and wipes every
    /// office key you administer (all, for a superadmin) from the server's memory.
    SealAll {
        /// The server, e.g. https://127.0.0.1:8443
        #[arg(long)]
        url: String,
        /// Your username (an office admin or the superadmin).
        #[arg(long)]
        username: String,
        /// CA certificate (PEM) to trust, e.g. the demo's DATA/tls-cert.pem; default:
        /// the system's roots.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
    /// Export a case's documents as standard .age files for a recipient
    /// (`age -d -i KEY FILE` reads them), plus case.json.age with its metadata.
    Export {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Case id.
        #[arg(long)]
        case: String,
        /// age recipient (age1…) to encrypt the exported files to.
        #[arg(long)]
        to: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// File holding the office passphrase (or identity); without it you are asked.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// Policy directory (schema.cedarschema, casevault.cedar, settings.toml); the
    /// built-in copy of the repository's policy/ is used when absent.
    #[arg(long, env = "CASEVAULT_POLICY")]
    policy: Option<PathBuf>,
    /// Where the server auth key lives (default DATA/auth.key). Keeping it outside
    /// the data directory means a copied data directory yields no TOTP secrets.
    #[arg(long, env = "CASEVAULT_AUTH_KEY")]
    auth_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum OfficeCmd {
    /// Create an office; its passphrase (or, with --office-held, its identity) is
    /// printed once.
    Add {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Short slug, e.g. bronx.
        #[arg(long)]
        slug: String,
        /// Keep only the public key on the server; unseal then takes the identity.
        #[arg(long)]
        office_held: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account; a random password is printed once. TOTP is set up at first
    /// sign-in.
    Add {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        /// superadmin, admin, caseworker, partner or auditor.
        #[arg(long)]
        role: String,
        /// Office slug (admin, caseworker).
        #[arg(long)]
        office: Option<String>,
        /// Partner organisation.
        #[arg(long)]
        org: Option<String>,
        /// Caseworker sees every case of the office.
        #[arg(long)]
        supervisor: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Disable an account (its sessions end at once).
    Disable {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// Set a new random password (printed once) and end the user's sessions.
    ResetPassword {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Username.
        #[arg(long)]
        username: String,
        #[command(flatten)]
        common: Common,
    },
    /// List accounts.
    List {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum RetentionCmd {
    /// Purge every closed case past its retention period now (held cases are
    /// skipped and listed). With --dry-run, only list what would go.
    Run {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Change nothing; print what would be purged.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain; exit 0 when it holds, otherwise print the first bad
    /// sequence number and exit 1.
    Verify {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// A head (SEQ:HASH) recorded earlier: proves nothing before it was rewritten.
        #[arg(long)]
        expect: Option<String>,
    },
    /// Print SEQ:HASH of the newest entry (keep it somewhere else).
    Head {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Write entries as JSON lines (for a SIEM).
    Export {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}

fn open(data: &Path, common: &Common) -> Result<App, String> {
    let (policy, settings) = casevault::config::load_policy_dir(common.policy.as_deref())?;
    App::open(
        AppOptions {
            data_dir: data.to_path_buf(),
            settings,
            clock: Clock::system(),
            auth_key_file: common.auth_key.clone(),
        },
        policy,
    )
    .map_err(|e| e.to_string())
}

fn db_exists(data: &Path) -> bool {
    data.join(casevault::store::DB_FILE).exists()
}

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

async fn wait_for_ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Demo {
            data,
            listen,
            credentials_out,
            common,
        } => {
            let creds_path = credentials_out.unwrap_or_else(|| data.join("credentials.json"));
            let fresh = !db_exists(&data);
            let app = open(&data, &common)?;
            let (cert, key) = self_signed(&data)?;
            let url = format!("https://{listen}");
            if fresh {
                let mut creds = demo::populate(&app.vault)
                    .await
                    .map_err(|e| e.to_string())?;
                creds.url = url.clone();
                creds.ca_cert = std::fs::canonicalize(&cert)
                    .unwrap_or(cert.clone())
                    .display()
                    .to_string();
                demo::write_credentials(&creds_path, &creds)?;
            } else {
                let creds = demo::read_credentials(&creds_path)?;
                for (slug, s) in &creds.offices {
                    app.vault
                        .unseal_as_operator(slug, SecretString::from(s.passphrase.clone()))
                        .map_err(|e| format!("unsealing {slug}: {e}"))?;
                }
            }
            let server = app
                .serve(
                    listen,
                    &Tls::Files {
                        cert: cert.clone(),
                        key,
                    },
                )
                .await?;
            println!("casevault demo is running at https://{}/", server.addr);
            println!(
                "  credentials (passwords, TOTP secrets, office passphrases): {}",
                creds_path.display()
            );
            println!(
                "  self-signed certificate to trust:                          {}",
                cert.display()
            );
            println!();
            println!("Try:");
            println!(
                "  1. Open https://{}/ in a browser and sign in as alice (caseworker).",
                server.addr
            );
            println!(
                "     Her code: oathtool --totp -b \"$(jq -r .users.alice.totp_secret {})\"",
                creds_path.display()
            );
            println!(
                "  2. Or with curl: POST /api/v1/login, then POST /api/v1/cases (see README.md)."
            );
            println!("  3. As admin, seal the bronx office and watch alice's reads answer 423.");
            println!();
            println!("Press Ctrl-C to stop (every office key is wiped from memory).");
            wait_for_ctrl_c().await;
            app.vault.seal_everything();
            server.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init {
            data,
            superadmin,
            common,
        } => {
            if db_exists(&data) {
                return Err(format!("{} already holds a vault", data.display()));
            }
            let app = open(&data, &common)?;
            let password = Zeroizing::new(
                casevault::crypto::generate_passphrase()
                    .expose_secret()
                    .to_string(),
            );
            let u = app
                .vault
                .create_user(
                    &Actor::cli_operator(),
                    NewUser {
                        username: superadmin.clone(),
                        role: "superadmin".into(),
                        office: None,
                        org: None,
                        supervisor: false,
                        password: password.clone(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            println!("New vault in {}.", data.display());
            println!(
                "Superadmin {} (id {}), password (shown once): {}",
                u.username,
                u.id,
                password.as_str()
            );
            println!(
                "Sign in and set up an authenticator app; then create offices and their admins."
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            data,
            listen,
            tls_cert,
            tls_key,
            insecure_plain_http,
            common,
        } => {
            if !db_exists(&data) {
                return Err(format!(
                    "{} holds no vault; run `casevault init --data {}` first",
                    data.display(),
                    data.display()
                ));
            }
            let app = open(&data, &common)?;
            let tls = if insecure_plain_http {
                Tls::InsecurePlainHttp
            } else {
                match (tls_cert, tls_key) {
                    (Some(cert), Some(key)) => Tls::Files { cert, key },
                    _ => {
                        let (cert, key) = self_signed(&data)?;
                        Tls::Files { cert, key }
                    }
                }
            };
            let server = app.serve(listen, &tls).await?;
            let scheme = if insecure_plain_http { "http" } else { "https" };
            println!(
                "casevault is serving {} at {scheme}://{}/ — every office is sealed until an administrator unseals it.",
                data.display(),
                server.addr
            );
            wait_for_ctrl_c().await;
            app.vault.seal_everything();
            server.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Office(OfficeCmd::Add {
            data,
            slug,
            office_held,
            common,
        }) => {
            let app = open(&data, &common)?;
            let mode = if office_held {
                OfficeMode::OfficeHeld
            } else {
                OfficeMode::Passphrase
            };
            let c = app
                .vault
                .create_office(&Actor::cli_operator(), &slug, mode, None)
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
        Command::User(cmd) => user_cmd(cmd).await,
        Command::Purge {
            data,
            case,
            document,
            office,
            yes,
            common,
        } => {
            if !yes {
                confirm_purge(
                    case.as_deref()
                        .or(document.as_deref())
                        .or(office.as_deref()),
                )?;
            }
            purge_cmd(&data, case, document, office, &common)
        }
        Command::Hold {
            data,
            case,
            office,
            lift,
            reason,
            common,
        } => {
            let app = open(&data, &common)?;
            let op = Actor::cli_operator();
            let reason = reason.map(Zeroizing::new);
            let reason = reason.as_deref().map(String::as_str);
            let (what, r) = match (&case, &office) {
                (Some(c), _) => (
                    format!("case {c}"),
                    app.vault.set_case_hold(&op, c, !lift, reason),
                ),
                (None, Some(o)) => (
                    format!("office {o}"),
                    app.vault.set_office_hold(&op, o, !lift, reason),
                ),
                (None, None) => return Err("give --case or --office".into()),
            };
            r.map_err(|e| format!("{what}: {e}"))?;
            println!(
                "Legal hold {} on {what}.",
                if lift { "lifted" } else { "placed" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(RetentionCmd::Run {
            data,
            dry_run,
            common,
        }) => {
            let app = open(&data, &common)?;
            let r = app
                .vault
                .run_retention(dry_run)
                .map_err(|e| e.to_string())?;
            let verb = if dry_run { "would purge" } else { "purged" };
            for i in &r.purged {
                println!(
                    "{verb} case {} (office {}): {} documents, {} bytes",
                    i.case_id, i.office, i.documents, i.bytes
                );
            }
            for id in &r.held {
                println!("kept case {id}: under legal hold");
            }
            for id in &r.failed {
                println!("FAILED case {id}: see the log");
            }
            println!(
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
        Command::SealAll {
            url,
            username,
            ca_cert,
        } => {
            let target = casevault::remote::Target::new(&url, ca_cert.as_deref())?;
            let password = secret_from_env_or_prompt("CASEVAULT_PASSWORD", "password")?;
            let totp = secret_from_env_or_prompt("CASEVAULT_TOTP", "authenticator code")?;
            let started = std::time::Instant::now();
            let session = target.login(&username, &password, &totp).await?;
            let sealed = target.seal_all(&session).await?;
            target.logout(session).await;
            if sealed.is_empty() {
                println!("No office was unsealed; nothing to wipe.");
            } else {
                println!("Sealed: {}", sealed.join(", "));
            }
            eprintln!("({} ms)", started.elapsed().as_millis());
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(cmd) => audit_cmd(cmd),
        Command::Export {
            data,
            case,
            to,
            out,
            passphrase_file,
            common,
        } => {
            let app = open(&data, &common)?;
            let secret = read_secret(passphrase_file.as_deref(), "office passphrase")?;
            let s =
                export_case(&app.vault, &case, &to, &out, &secret).map_err(|e| e.to_string())?;
            for f in &s.files {
                println!("{}", f.display());
            }
            eprintln!(
                "exported {} files ({} bytes of documents) to {}",
                s.files.len(),
                s.bytes,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

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

fn purge_cmd(
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
    let op = Actor::cli_operator();
    let v = &app.vault;
    let (what, result) = match (case, document, office) {
        (Some(c), _, _) => (format!("case {c}"), v.purge_case(&op, &c)),
        (None, Some(d), _) => {
            let what = format!("document {d}");
            match v
                .case_of_document_as_operator(&d)
                .map_err(|e| e.to_string())?
            {
                Some(c) => (what, v.purge_document(&op, &c, &d)),
                None => (what, Err(casevault::vault::VaultError::NotFound)),
            }
        }
        (None, None, Some(o)) => (format!("office {o}"), v.purge_office(&op, &o)),
        (None, None, None) => return Err("give --case, --document or --office".into()),
    };
    match result {
        Ok(r) => {
            println!(
                "Purged {what}: {} cases, {} documents, {} stored bytes are now unreadable.",
                r.cases, r.documents, r.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        // Purging again is not an error: the end state is the one asked for.
        Err(casevault::vault::VaultError::NotFound) => {
            println!("Nothing to purge: no {what} (already purged, or never existed).");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(format!("{what}: {e}")),
    }
}

async fn user_cmd(cmd: UserCmd) -> Result<ExitCode, String> {
    let op = Actor::cli_operator();
    match cmd {
        UserCmd::Add {
            data,
            username,
            role,
            office,
            org,
            supervisor,
            common,
        } => {
            let app = open(&data, &common)?;
            let password = Zeroizing::new(
                casevault::crypto::generate_passphrase()
                    .expose_secret()
                    .to_string(),
            );
            let u = app
                .vault
                .create_user(
                    &op,
                    NewUser {
                        username,
                        role,
                        office,
                        org,
                        supervisor,
                        password: password.clone(),
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            println!("User {} ({}) created, id {}.", u.username, u.role, u.id);
            println!("Password (shown once): {}", password.as_str());
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Disable {
            data,
            username,
            common,
        } => {
            let app = open(&data, &common)?;
            let u = app
                .vault
                .user_by_name(&username)
                .map_err(|e| e.to_string())?
                .ok_or("no such user")?;
            app.vault
                .set_user_disabled(&op, &u.id, true)
                .map_err(|e| e.to_string())?;
            println!("User {} disabled; their sessions have ended.", u.username);
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::ResetPassword {
            data,
            username,
            common,
        } => {
            let app = open(&data, &common)?;
            let u = app
                .vault
                .user_by_name(&username)
                .map_err(|e| e.to_string())?
                .ok_or("no such user")?;
            let password = Zeroizing::new(
                casevault::crypto::generate_passphrase()
                    .expose_secret()
                    .to_string(),
            );
            app.vault
                .reset_password(&op, &u.id, password.clone())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "New password for {} (shown once): {}",
                u.username,
                password.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::List { data, common } => {
            let app = open(&data, &common)?;
            let users = app.vault.list_users(&op).map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<11} {:<10} {:<5} {:<8} id",
                "username", "role", "office", "totp", "state"
            );
            for u in users {
                println!(
                    "{:<24} {:<11} {:<10} {:<5} {:<8} {}",
                    u.username,
                    u.role,
                    u.office.as_deref().or(u.org.as_deref()).unwrap_or("-"),
                    if u.totp_enrolled { "yes" } else { "no" },
                    if u.disabled { "disabled" } else { "active" },
                    u.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn audit_cmd(cmd: AuditCmd) -> Result<ExitCode, String> {
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
                    println!("ok: {entries} entries, head {head}");
                    Ok(ExitCode::SUCCESS)
                }
                audit::Verdict::Broken { seq, reason } => {
                    println!("{seq}");
                    eprintln!("audit log broken at entry {seq}: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCmd::Head { data } => {
            let db = open_db(&data)?;
            match db.read(|tx| tx.audit_head()).map_err(|e| e.to_string())? {
                Some((seq, hash)) => println!("{}", audit::format_head(seq, &hash)),
                None => println!("0:{}", casevault::crypto::hex(&audit::GENESIS)),
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Export { data, after } => {
            let db = open_db(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            audit::export_jsonl(&db, after, &mut out).map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CASEVAULT_LOG")
                .unwrap_or_else(|_| "casevault=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = casevault::hardening::disable_core_dumps() {
        tracing::warn!(error = %e, "could not disable core dumps");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("casevault: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("casevault: {e}");
            ExitCode::FAILURE
        }
    }
}
