//! `casevault demo` in a child process: the real binary, its own log, its peak
//! memory, killed on drop. For the tests that measure the process or kill it.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use casevault::auth::{TotpSecret, current_step};
use casevault::demo::{Credentials, read_credentials};
use reqwest::{Client, StatusCode};
use serde_json::json;

/// `casevault demo` in a child process, killed (and its directory removed) on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub creds: Credentials,
    pub cert: Vec<u8>,
    pub data: PathBuf,
    /// Holds `policy/`, `vault/` (the data directory) and `server.log`; shared by a
    /// server started again on the same vault.
    pub dir: Arc<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies the shipped policy with cheap key derivation (the shipped scrypt work
/// alone would take 256 MiB) and each `(key, value)` of `overrides` set in place.
pub fn policy_dir(dir: &Path, overrides: &[(&str, &str)]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
    let dst = dir.join("policy");
    std::fs::create_dir(&dst).unwrap();
    for f in ["casevault.cedar", "schema.cedarschema", "retention.toml"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let mut settings = std::fs::read_to_string(src.join("settings.toml")).unwrap();
    let mut set = |key: &str, value: &str| {
        let lines: Vec<String> = settings
            .lines()
            .map(|l| {
                let is_key = l
                    .split_once('=')
                    .is_some_and(|(k, _)| k.trim() == key && !l.trim_start().starts_with('#'));
                if is_key {
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert!(
            lines.iter().any(|l| l == &format!("{key} = {value}")),
            "settings.toml has no {key}"
        );
        settings = lines.join("\n") + "\n";
    };
    set("passphrase_log_n", "10");
    set("max_log_n", "12");
    for (k, v) in overrides {
        set(k, v);
    }
    std::fs::write(dst.join("settings.toml"), settings).unwrap();
    dst
}

pub fn start(overrides: &[(&str, &str)]) -> Server {
    start_with(overrides, "", &[])
}

/// [`start`], with `extra` appended to `settings.toml` and `args` after `demo`'s own.
pub fn start_with(overrides: &[(&str, &str)], extra: &str, args: &[String]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_dir(dir.path(), overrides);
    if !extra.is_empty() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(policy.join("settings.toml"))
            .unwrap();
        std::io::Write::write_all(&mut f, extra.as_bytes()).unwrap();
    }
    launch(Arc::new(dir), args)
}

/// Starts `casevault demo` on the vault in `dir` (new or not), logging to
/// `dir/server.log` (appended).
pub fn launch(dir: Arc<tempfile::TempDir>, args: &[String]) -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = dir.path().join("policy");
    let data = dir.path().join("vault");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .env("CASEVAULT_POLICY", &policy)
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the address from the banner, then drains the rest so that the child
    // never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("is running at https://").nth(1) {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
            }
        }
    });
    let addr = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(a) => a.parse().unwrap(),
        Err(_) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            panic!("the demo server did not start: {log}");
        }
    };
    let creds_file = args
        .iter()
        .position(|a| a == "--credentials-out")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| data.join("credentials.json"), PathBuf::from);
    let creds = read_credentials(&creds_file).unwrap();
    let cert = std::fs::read(data.join("tls-cert.pem")).unwrap();
    Server {
        child,
        addr,
        creds,
        cert,
        data,
        dir,
    }
}

impl Server {
    pub fn base(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base())
    }

    /// The child's peak resident memory so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// A client trusting the server's certificate, from `from` (the system's choice
    /// when `None`).
    pub fn client_from(&self, from: Option<IpAddr>) -> Client {
        let cert = reqwest::Certificate::from_pem(&self.cert).unwrap();
        Client::builder()
            .add_root_certificate(cert)
            .cookie_store(true)
            .local_address(from)
            .build()
            .unwrap()
    }

    pub async fn login(&self, name: &str) -> Client {
        let c = self.client_from(None);
        let u = &self.creds.users[name];
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let code = TotpSecret::from_base32(&u.totp_secret)
            .unwrap()
            .code_at(current_step(now));
        let r = c
            .post(self.url("/login"))
            .json(&json!({"username": name, "password": u.password, "totp": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {name}");
        c
    }

    /// A rustls client configuration trusting the server, offering `alpn`.
    pub fn tls(&self, alpn: &[u8]) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pemfile::certs(&mut &self.cert[..]) {
            roots.add(c.unwrap()).unwrap();
        }
        let mut config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}
