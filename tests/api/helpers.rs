//! `spawn_app()` and the clients, markers and scanners the tests share.
// A toolbox shared by the test modules: a helper that no test calls yet is no error.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::sync::Once;

use casevault::VaultOptions;
use casevault::app::{App, ServerHandle, Tls, self_signed};
use casevault::auth::{TotpSecret, current_step};
use casevault::demo::{Credentials, populate};
use casevault::policy::Policy;
use casevault::{Clock, Settings};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// A running test server.
pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub creds: Credentials,
    pub clock: Clock,
    pub app: App,
    pub server: Option<ServerHandle>,
    pub cert: PathBuf,
    pub settings: Settings,
}

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Settings for tests: real policy, cheap scrypt so unseal is fast.
pub fn test_settings() -> Settings {
    let mut s = Settings::defaults();
    s.kdf.passphrase_log_n = 10;
    s.kdf.max_log_n = 12;
    s
}

/// Start time of the manual clock: a fixed, recent moment.
pub const T0: i64 = 1_790_000_000;

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    init();
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(T0);
    let app = open_app(dir.path(), &settings, &clock);
    let creds = populate(&app.vault).await.expect("populate");
    let (cert, key) = self_signed(dir.path()).expect("cert");
    let server = app
        .serve(
            "127.0.0.1:0".parse().unwrap(),
            &Tls::Files {
                cert: cert.clone(),
                key,
            },
        )
        .await
        .expect("serve");
    TestApp {
        base: format!("https://localhost:{}", server.addr.port()),
        dir,
        creds,
        clock,
        app,
        server: Some(server),
        cert,
        settings,
    }
}

pub fn open_app(dir: &Path, settings: &Settings, clock: &Clock) -> App {
    App::open(
        VaultOptions {
            data_dir: dir.to_path_buf(),
            settings: settings.clone(),
            clock: clock.clone(),
            auth_key_file: None,
        },
        Policy::builtin().expect("policy"),
    )
    .expect("open vault")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// A client trusting the test certificate, with a cookie jar.
    pub fn client(&self) -> Client {
        let pem = std::fs::read(&self.cert).unwrap();
        let cert = reqwest::Certificate::from_pem(&pem).unwrap();
        Client::builder()
            .add_root_certificate(cert)
            .cookie_store(true)
            .default_headers(json_headers())
            .build()
            .unwrap()
    }

    pub fn user_id(&self, name: &str) -> String {
        self.creds.users[name].id.clone()
    }

    /// The user's current TOTP code. Advances the clock one step first so that two
    /// sign-ins in a row never reuse a step (the server refuses replays).
    pub fn code(&self, name: &str) -> String {
        self.clock.advance(30);
        let secret = TotpSecret::from_base32(&self.creds.users[name].totp_secret).unwrap();
        secret.code_at(current_step(self.clock.unix()))
    }

    /// Signs a demo user in and returns their client.
    pub async fn login(&self, name: &str) -> Client {
        let c = self.client();
        let r = c
            .post(self.url("/login"))
            .json(&json!({"username": name, "password": self.creds.users[name].password, "totp": self.code(name)}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "login {name}: {}",
            r.text().await.unwrap()
        );
        c
    }

    pub async fn create_case(
        &self,
        c: &Client,
        office: &str,
        name: &str,
        a_number: Option<&str>,
    ) -> String {
        let r = c
            .post(self.url("/cases"))
            .json(&json!({"office": office, "client_name": name, "a_number": a_number, "notes": format!("notes about {name}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn upload(&self, c: &Client, case: &str, filename: &str, body: Vec<u8>) -> Response {
        c.post(self.url(&format!("/cases/{case}/documents")))
            .query(&[("filename", filename)])
            .header("content-type", "application/pdf")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn upload_ok(&self, c: &Client, case: &str, filename: &str, body: Vec<u8>) -> String {
        let r = self.upload(c, case, filename, body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn seal(&self, office: &str) {
        self.seal_as("admin", office).await
    }

    pub async fn seal_as(&self, user: &str, office: &str) {
        let admin = self.login(user).await;
        let r = admin
            .post(self.url(&format!("/offices/{office}/seal")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// Stops the server and reopens the same data directory (every office sealed).
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        self.app.vault.seal_everything();
        let app = open_app(self.dir.path(), &self.settings, &self.clock);
        let key = self.dir.path().join("tls-key.pem");
        let server = app
            .serve(
                format!("127.0.0.1:{}", self.port()).parse().unwrap(),
                &Tls::Files {
                    cert: self.cert.clone(),
                    key,
                },
            )
            .await
            .expect("serve after restart");
        self.app = app;
        self.server = Some(server);
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }
}

/// Asserts the contract's error shape and code.
pub async fn assert_error(r: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(r.status(), status, "expected {status} {code}");
    let v: Value = r.json().await.expect("JSON error body");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string());
    v
}

/// Every file under `dir` (recursively) that contains any of `markers`, with the marker.
pub fn scan_for(dir: &Path, markers: &[&[u8]]) -> Vec<(PathBuf, String)> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            for m in markers {
                if bytes.windows(m.len()).any(|w| w == *m) {
                    hits.push((p.clone(), String::from_utf8_lossy(m).into_owned()));
                }
            }
        }
    }
    hits
}

/// Every regular file under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Deterministic pseudo-random bytes (not compressible, not zero).
pub fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// API clients say JSON on every request (the server refuses a state change that does
/// not); a request that sets its own content type (an upload) keeps it.
pub fn json_headers() -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    h
}

/// The office identity from the holders' file and the office passphrase holder's
/// wrapped identity, opened with the office passphrase (what someone holding the
/// database and the passphrase could do).
pub fn open_office(
    file: &[u8],
    wrapped_holder: &[u8],
    passphrase: &str,
) -> casevault::crypto::OfficeKey {
    let pass = age::secrecy::SecretString::from(passphrase.to_string());
    casevault::crypto::HolderKey::unwrap_with_passphrase(wrapped_holder, &pass, 20)
        .unwrap()
        .open_office(file)
        .unwrap()
}

/// [`open_office`] straight from a data directory's database file.
pub fn office_key_from_db(
    data: &Path,
    office: &str,
    passphrase: &str,
) -> casevault::crypto::OfficeKey {
    let db = rusqlite::Connection::open(data.join(casevault::store::DB_FILE)).unwrap();
    let (file, wrapped): (Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT o.wrapped_identity, h.wrapped_identity FROM offices o
             JOIN office_holders h ON h.office = o.slug AND h.kind = 'office' WHERE o.slug = ?1",
            [office],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    open_office(&file, &wrapped, passphrase)
}
