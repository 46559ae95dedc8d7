//! `casevault demo`, `init` and `serve`: create a vault, or serve one until Ctrl-C.
//!
//! Invariant: a served vault starts with every office sealed (only the demo unseals
//! its own offices, from the credentials file it wrote), and on Ctrl-C every office
//! key is wiped from memory before the server stops (SIGTERM does the same). A server starts only on a data
//! directory it can write, and holds `DATA/serve.lock` while it serves: a second
//! server on the same directory is refused.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use age::secrecy::SecretString;

use casevault::app::{App, Tls, self_signed};
use casevault::demo;
use casevault::store::{self, DirState, ServeLock};
use casevault::vault::{NewUser, StepUp, operator};

use super::args::{BlobArgs, Common};
use super::{new_password, open_with, say};

/// Waits for Ctrl-C (SIGINT) or SIGTERM (what `systemctl stop` and `docker stop`
/// send). Should a signal handler fail to install, this returns at once: the server
/// then stops (sealing everything) rather than run unstoppable.
async fn wait_for_stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Prints a server's banner. A stdout nobody reads any more (`casevault demo | head
/// -1`) does not stop the server: the banner is a courtesy, the log goes to stderr.
fn show(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
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
        demo::record_credentials_path(data, &creds_path)?;
    } else {
        reopen_demo(&app, data, &creds_path, &url).await?;
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
    let browser_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", server.addr));
    let mut text = format!("casevault demo is running at https://{}/\n", server.addr);
    if let Some(u) = &server.public_url {
        text += &format!(
            "  open it in a browser at {u}/ (passkeys need that name, not an IP address)\n"
        );
    }
    let (creds, cert) = (creds_path.display(), cert.display());
    text += &format!(
        "  credentials (passwords, TOTP secrets, office passphrases): {creds}
  self-signed certificate to trust:                          {cert}
     (curl: --cacert {cert}; browsers: README.md, \"Trusting the demo's
     certificate\")

Try:
  1. Open {browser_url}/ in a browser and sign in as alice (caseworker).
     Her code: oathtool --totp -b \"$(jq -r .users.alice.totp_secret {creds})\"
  2. Or with curl: POST /api/v1/login, then POST /api/v1/cases (see README.md).
  3. As admin, seal the bronx office and watch alice's reads answer 423.

Press Ctrl-C to stop (every office key is wiped from memory).
"
    );
    show(&text);
    wait_for_stop().await;
    app.vault.seal_everything();
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Unseals an existing demo vault from its credentials file: the one asked for, else
/// the one its last run wrote (or the default). When that is another file, the
/// credentials are written to the one asked for as well, so that a run with a new
/// `--credentials-out` gives what a first run gives.
async fn reopen_demo(app: &App, data: &Path, wanted: &Path, url: &str) -> Result<(), String> {
    let candidates = demo::credentials_candidates(data, wanted);
    let mut tried = Vec::new();
    for path in &candidates {
        let mut creds = match demo::read_credentials(path) {
            Ok(c) => c,
            Err(e) => {
                tried.push(e);
                continue;
            }
        };
        if let Err(e) = unseal_all(app, &creds).await {
            tried.push(format!("{} ({e})", path.display()));
            continue;
        }
        if path.as_path() != wanted || creds.url != url {
            creds.url = url.to_string();
            demo::write_credentials(wanted, &creds)?;
            if path.as_path() != wanted {
                eprintln!(
                    "{} already holds a demo vault: its credentials were copied from {} to {}",
                    data.display(),
                    path.display(),
                    wanted.display()
                );
            }
        }
        return demo::record_credentials_path(data, wanted);
    }
    let looked = if tried.is_empty() {
        format!("no file at {}", wanted.display())
    } else {
        format!("none of these unseals it: {}", tried.join("; "))
    };
    Err(format!(
        "{} already holds a demo vault, but its credentials file was not found ({looked}). \
         Give --credentials-out the file an earlier run wrote, or remove {} to make a new demo vault",
        data.display(),
        data.display()
    ))
}

/// Unseals every office of the demo with its passphrase from `creds`.
async fn unseal_all(app: &App, creds: &demo::Credentials) -> Result<(), String> {
    for (slug, s) in &creds.offices {
        operator::unseal(&app.vault, slug, SecretString::from(s.passphrase.clone()))
            .await
            .map_err(|e| format!("unsealing {slug}: {e}"))?;
    }
    Ok(())
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
    say!("New vault in {}.", data.display());
    say!(
        "Superadmin {} (id {}), password (shown once): {}",
        u.username,
        u.id,
        password.as_str()
    );
    say!("Sign in and set up an authenticator app; then create offices and their admins.");
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
    show(&format!(
        "casevault is serving {} at {scheme}://{}/ — every office is sealed until an administrator unseals it.\n",
        data.display(),
        server.addr
    ));
    wait_for_stop().await;
    app.vault.seal_everything();
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
