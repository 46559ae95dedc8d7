//! Building the server: the vault, the router, TLS (rustls with the ring provider
//! only), the accept loop and graceful shutdown. What one connection may hold, and
//! for how long, is `connection.rs`.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::ConnectionSettings;
use crate::edge::AppState;
use crate::policy::Policy;
use crate::vault::{Vault, VaultError, VaultOptions};
use crate::{http, web};

mod connection;
mod linger;
mod start_errors;
mod store_watch;
use store_watch::store_watch;

/// The whole router: the API (`http/`) and the pages (`web/`) side by side, each
/// given the shared state, inside the layers every response gets. Request bodies are
/// bounded by each route's own extractor, never by a global default.
pub fn router(state: AppState) -> axum::Router {
    let routes = axum::Router::new()
        .merge(http::router())
        .merge(web::router(&state))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::edge::origin::same_origin_only,
        ))
        // A head that is too big is answered before the origin gate (which audits) or
        // anything else sees it.
        .layer(axum::middleware::from_fn(
            crate::edge::head::limit_request_head,
        ))
        // Outermost: an answer that came before the body was read still reaches the
        // client (`linger.rs`).
        .layer(axum::middleware::from_fn(linger::read_unread_body))
        .with_state(state);
    http::layers(routes)
}

/// How the server speaks TLS.
#[derive(Debug, Clone)]
pub enum Tls {
    /// A certificate and key in PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Plain HTTP (only behind a TLS-terminating proxy; explicit flag).
    InsecurePlainHttp,
}

/// An opened vault with its router.
pub struct App {
    /// The vault.
    pub vault: Arc<Vault>,
}

/// A running server.
pub struct ServerHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The address people's browsers use (passkeys are bound to it), if any.
    pub public_url: Option<String>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    retention: tokio::task::JoinHandle<()>,
    backups: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    store_watch: tokio::task::JoinHandle<()>,
    vault: Arc<Vault>,
}

impl ServerHandle {
    /// Stops accepting, lets requests in flight finish (up to a few seconds), waits
    /// for the accept loop to end, then writes the refusals still only counted.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        let _ = self.retention.await;
        let _ = self.backups.await;
        let _ = self.housekeeping.await;
        let _ = self.store_watch.await;
        if let Err(e) = self.vault.flush_refusals(true).await {
            tracing::error!(error = %e, "writing the counted refusals at shutdown failed");
        }
    }
}

impl App {
    /// Opens the vault.
    pub fn open(opts: VaultOptions, policy: Policy) -> Result<App, VaultError> {
        let vault = Vault::open(opts, policy)?;
        Ok(App {
            vault: Arc::new(vault),
        })
    }

    /// Binds and serves in the background; returns at once with the bound address.
    pub async fn serve(&self, listen: SocketAddr, tls: &Tls) -> Result<ServerHandle, String> {
        self.serve_at(listen, tls, None).await
    }

    /// [`App::serve`], with the public URL people's browsers use (for passkeys): the
    /// one given, else `[server] public_url`, else `https://localhost:PORT` on a
    /// loopback address; elsewhere passkeys are off until one is set.
    pub async fn serve_at(
        &self,
        listen: SocketAddr,
        tls: &Tls,
        public_url: Option<&str>,
    ) -> Result<ServerHandle, String> {
        let acceptor = match tls {
            Tls::Files { cert, key } => Some(tls_acceptor(cert, key)?),
            Tls::InsecurePlainHttp => None,
        };
        match self.vault.sweep_orphan_blobs() {
            Ok(_) => {}
            // An object store that does not answer yet: the vault starts, uploads
            // answer 503 until it does, and the store watch sweeps later.
            Err(VaultError::StoreUnavailable(e)) => {
                tracing::warn!(error = %e, "the blob store does not answer at start");
            }
            Err(e) => return Err(format!("cleaning the blob directory: {e}")),
        }
        // Purged files are removed in the background from now on (what a crash left
        // queued, first).
        self.vault
            .start_trash_worker()
            .map_err(|e| format!("starting the purge worker: {e}"))?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| start_errors::listen_error(listen, &e))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = public_url_for(
            public_url.unwrap_or(&self.vault.settings().server.public_url),
            addr,
        );
        match &public_url {
            Some(u) => self.vault.configure_passkeys(u).map_err(|e| {
                format!("{e} (give the address people type into their browser with --public-url https://NAME:PORT)")
            })?,
            None => tracing::warn!(
                "passkeys are off: set [server] public_url (or --public-url) to the https:// address people type into their browser"
            ),
        }
        let router = router(AppState {
            vault: self.vault.clone(),
        });
        let (tx, rx) = watch::channel(false);
        let retention = tokio::spawn(retention_loop(self.vault.clone(), rx.clone()));
        let backups = tokio::spawn(backup_loop(self.vault.clone(), rx.clone()));
        // Once a minute: the idle auto-seal, and the refusals counted in a window
        // that has closed are written.
        let vault = self.vault.clone();
        let mut stop = rx.clone();
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = vault.seal_idle().await {
                            tracing::error!(error = %e, "idle auto-seal failed");
                        }
                        if let Err(e) = vault.flush_refusals(false).await {
                            tracing::error!(error = %e, "writing the counted refusals failed");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        });
        let store_watch = tokio::spawn(store_watch(self.vault.clone(), rx.clone()));
        let limits = self.vault.settings().connections.clone();
        let task = tokio::spawn(async move {
            accept_loop(listener, acceptor, router, &limits, rx).await;
        });
        Ok(ServerHandle {
            addr,
            public_url,
            shutdown: tx,
            task,
            retention,
            backups,
            housekeeping,
            store_watch,
            vault: self.vault.clone(),
        })
    }
}

/// Runs retention every `run_every_minutes` (the first run one period after start)
/// until shutdown. Which cases are due is decided by the vault's clock, so tests
/// call [`Vault::run_retention`] directly with a manual clock instead of waiting.
async fn retention_loop(vault: Arc<Vault>, mut shutdown: watch::Receiver<bool>) {
    let minutes = vault.settings().retention.run_every_minutes;
    if minutes == 0 {
        return;
    }
    let period = Duration::from_secs(u64::from(minutes) * 60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        match vault.run_retention(false).await {
            Ok(r) => tracing::info!(
                purged = r.purged.len(),
                held = r.held.len(),
                failed = r.failed.len(),
                "retention run"
            ),
            Err(e) => tracing::error!(error = %e, "retention run failed"),
        }
    }
}

/// Makes a backup every `every_hours` (the first one period after start) to the
/// target of `policy/backup.toml`, then prunes to `keep`, until shutdown. A failure
/// is logged as an error and shown on the superadmin's page; the backup audits
/// itself. A shutdown in the middle leaves an unlisted partial backup that the next
/// run removes.
async fn backup_loop(vault: Arc<Vault>, mut shutdown: watch::Receiver<bool>) {
    let b = vault.settings().backup.clone();
    if !b.enabled() {
        return;
    }
    let period = Duration::from_secs(u64::from(b.every_hours) * 3600);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        let req = crate::vault::BackupRequest {
            to: b.target.clone().into(),
            s3: crate::backup::target::S3Access {
                endpoint: b.s3_endpoint.clone(),
                credentials: b.s3_credentials.clone(),
            },
            recipient: b.recipient.clone(),
            rotate: false,
            scheduled: true,
        };
        let actor = crate::vault::operator::backup_actor();
        let silent = crate::backup::progress::Progress::silent();
        match vault.backup_create(&actor, req, silent).await {
            Ok(r) => {
                tracing::info!(id = %r.id, bytes = r.bytes, copied = r.copied, "scheduled backup made");
                let target = b.target.clone();
                let access = crate::backup::target::S3Access {
                    endpoint: b.s3_endpoint.clone(),
                    credentials: b.s3_credentials.clone(),
                };
                let keep = b.keep as usize;
                let pruned = tokio::task::spawn_blocking(move || {
                    crate::backup::target::open(&target, &access)
                        .and_then(|t| crate::backup::prune(&*t, keep))
                })
                .await;
                match pruned {
                    Ok(Ok(p)) => {
                        tracing::info!(removed = p.removed.len(), blobs = p.blobs, "backups pruned")
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "pruning backups failed"),
                    Err(e) => tracing::error!(error = %e, "pruning backups failed"),
                }
            }
            Err(e) => tracing::error!(location = %b.target, error = %e, "scheduled backup failed"),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: axum::Router,
    limits: &ConnectionSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let per_connection = connection::Limits::new(limits);
    // A bounded number of connections at once, so a flood cannot exhaust descriptors;
    // and a bounded number of connections and of requests in progress per client
    // address, so one client cannot take them all, nor the memory they hold.
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_total as usize));
    let per_address = connection::PerAddress::new(limits.per_address);
    let requests = connection::PerAddress::new(limits.requests_per_address);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        // An address at its cap is closed at once, before any TLS work. Plain HTTP
        // runs only behind a TLS-terminating proxy: every connection then comes from
        // the proxy, so the cap would count all clients as one (the proxy keeps the
        // per-client limits there).
        let (counted, requests) = match &acceptor {
            Some(_) => match per_address.try_hold(peer.ip()) {
                Some(c) => (Some(c), Some(requests.clone())),
                None => {
                    tracing::debug!("refused a connection: its address holds too many");
                    continue;
                }
            },
            None => (None, None),
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let _counted = counted;
            connection::serve(
                stream,
                peer,
                acceptor,
                requests,
                router,
                per_connection,
                watcher,
            )
            .await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// The rustls configuration: ring provider, TLS 1.2 and 1.3, h2 and http/1.1.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs = {
        let pem = std::fs::read(cert).map_err(|e| format!("reading {}: {e}", cert.display()))?;
        rustls_pemfile::certs(&mut &pem[..])
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", cert.display()))?
    };
    let key_path = key;
    let key = {
        let pem = std::fs::read(key).map_err(|e| format!("reading {}: {e}", key.display()))?;
        rustls_pemfile::private_key(&mut &pem[..])
            .map_err(|e| format!("{}: {e}", key.display()))?
            .ok_or_else(|| format!("{}: no private key found", key.display()))?
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| start_errors::tls_error(cert, key_path, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Makes a self-signed certificate for `localhost`/`127.0.0.1` in `dir` (if absent)
/// and returns (cert, key) paths. The key file is mode 0600.
pub fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let cert = dir.join("tls-cert.pem");
    let key = dir.join("tls-key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let ck = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(|e| format!("generating a certificate: {e}"))?;
    crate::vault::write_private_file(&key, ck.key_pair.serialize_pem().as_bytes())
        .map_err(|e| format!("writing {}: {e}", key.display()))?;
    std::fs::write(&cert, ck.cert.pem()).map_err(|e| format!("writing {}: {e}", cert.display()))?;
    Ok((cert, key))
}

/// The public URL passkeys are bound to: `configured` when set (its trailing `/`
/// dropped), else `https://localhost:PORT` for a server on a loopback address (browsers
/// refuse passkeys on an IP address, and the self-signed certificate names localhost),
/// else none.
fn public_url_for(configured: &str, addr: SocketAddr) -> Option<String> {
    let configured = configured.trim().trim_end_matches('/');
    if !configured.is_empty() {
        return Some(configured.to_owned());
    }
    addr.ip()
        .is_loopback()
        .then(|| format!("https://localhost:{}", addr.port()))
}
