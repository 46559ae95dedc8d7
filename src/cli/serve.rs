//! `casevault demo`, `init` and `serve`: create a vault, or serve one until Ctrl-C.
//!
//! Invariant: a served vault starts with every office sealed (only the demo unseals
//! its own offices, from the credentials file it wrote), and on Ctrl-C every office
//! key is wiped from memory before the server stops. A server starts only on a data
//! directory it can write, and holds `DATA/serve.lock` while it serves: a second
//! server on the same directory is refused.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use age::secrecy::SecretString;

use casevault::app::{Tls, self_signed};
use casevault::demo;
use casevault::store::{self, DirState, ServeLock};
use casevault::vault::{NewUser, StepUp, operator};

use super::args::{BlobArgs, Common};
use super::{new_password, open_with};

/// Waits for Ctrl-C. Should the signal handler fail to install, this returns at
/// once: the server then stops (sealing everything) rather than run unstoppable.
async fn wait_for_ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Before a server opens the vault: the data directory must be writable (the database,
/// the directory, a local blob directory), and no other server may be serving it. The
/// lock is held until the returned value is dropped, at the end of `serve`/`demo`.
fn claim_for_serving(data: &Path) -> Result<ServeLock, String> {
    store::check_writable(data, Some(&data.join("blobs")))?;
    ServeLock::acquire(data)
}

/// `casevault demo`: populates a fresh demo vault (credentials to a 0600 file) or
/// unseals an existing one from that file, then serves it over HTTPS.
pub(super) async fn demo(
    data: &Path,
    listen: SocketAddr,
    credentials_out: Option<PathBuf>,
    public_url: Option<String>,
    blobs: &BlobArgs,
    common: &Common,
) -> Result<ExitCode, String> {
    let creds_path = credentials_out.unwrap_or_else(|| data.join("credentials.json"));
    std::fs::create_dir_all(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let fresh = store::dir_state(data)? == DirState::NoVault;
    let _serving = claim_for_serving(data)?;
    let app = open_with(data, common, blobs)?;
    let (cert, key) = self_signed(data)?;
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
            operator::unseal(&app.vault, slug, SecretString::from(s.passphrase.clone()))
                .await
                .map_err(|e| format!("unsealing {slug}: {e}"))?;
        }
    }
    let server = app
        .serve_at(
            listen,
            &Tls::Files {
                cert: cert.clone(),
                key,
            },
            public_url.as_deref(),
        )
        .await?;
    println!("casevault demo is running at https://{}/", server.addr);
    if let Some(u) = &server.public_url {
        println!("  open it in a browser at {u}/ (passkeys need that name, not an IP address)");
    }
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
        "  1. Open {}/ in a browser and sign in as alice (caseworker).",
        server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", server.addr))
    );
    println!(
        "     Her code: oathtool --totp -b \"$(jq -r .users.alice.totp_secret {})\"",
        creds_path.display()
    );
    println!("  2. Or with curl: POST /api/v1/login, then POST /api/v1/cases (see README.md).");
    println!("  3. As admin, seal the bronx office and watch alice's reads answer 423.");
    println!();
    println!("Press Ctrl-C to stop (every office key is wiped from memory).");
    wait_for_ctrl_c().await;
    app.vault.seal_everything();
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// `casevault init`: a new vault and its first superadmin, whose password is printed
/// once. Refuses a directory that already holds a vault.
pub(super) async fn init(
    data: &Path,
    superadmin: String,
    blobs: &BlobArgs,
    common: &Common,
) -> Result<ExitCode, String> {
    if store::dir_state(data)? == DirState::HasVault {
        return Err(format!("{} already holds a vault", data.display()));
    }
    let app = open_with(data, common, blobs)?;
    let password = new_password();
    let u = app
        .vault
        .create_user(
            &operator::actor(),
            NewUser {
                username: superadmin,
                role: casevault::policy::Role::Superadmin.to_string(),
                office: None,
                org: None,
                supervisor: false,
                password: password.clone(),
            },
            StepUp::none(),
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
    println!("Sign in and set up an authenticator app; then create offices and their admins.");
    Ok(ExitCode::SUCCESS)
}

/// `casevault serve`: an existing vault over HTTPS (given or self-signed certificate),
/// or plain HTTP behind a local TLS proxy.
pub(super) async fn serve(
    data: &Path,
    (listen, public_url): (SocketAddr, Option<String>),
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_plain_http: bool,
    blobs: &BlobArgs,
    common: &Common,
) -> Result<ExitCode, String> {
    if store::dir_state(data)? == DirState::NoVault {
        return Err(format!(
            "{} holds no vault; run `casevault init --data {}` first",
            data.display(),
            data.display()
        ));
    }
    let _serving = claim_for_serving(data)?;
    let app = open_with(data, common, blobs)?;
    let tls = if insecure_plain_http {
        Tls::InsecurePlainHttp
    } else {
        match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Tls::Files { cert, key },
            _ => {
                let (cert, key) = self_signed(data)?;
                Tls::Files { cert, key }
            }
        }
    };
    let server = app.serve_at(listen, &tls, public_url.as_deref()).await?;
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
