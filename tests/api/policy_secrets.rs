//! Policy as files and secrets at rest (issue 3): the binary refuses to start on an
//! invalid policy, naming file and line; no password, TOTP secret, recovery code or
//! session token reaches the data directory or the logs.
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use casevault::auth::{TotpSecret, current_step};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authkit::*;
use crate::helpers::*;

const BIN: &str = env!("CARGO_BIN_EXE_casevault");

/// Kills the child on drop, so that a failing test leaves no server behind.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_policy(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy");
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// Runs `casevault serve` on `data` with the policy in `policy`; it must exit (not
/// serve) within 60 s. Returns (success, stderr).
fn serve_must_exit(data: &Path, policy: &Path) -> (bool, String) {
    let child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--policy")
        .arg(policy)
        .env_remove("CASEVAULT_POLICY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaper(child);
    let started = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            let mut err = String::new();
            child
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.success(), err);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server started with an invalid policy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn an_invalid_policy_stops_the_server_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = Command::new(BIN)
        .args(["init", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "init: {out:?}");
    let good = tmp.path().join("good");
    copy_policy(&good);
    // The copy itself is valid: what follows fails because of the edits alone.
    casevault::policy::Policy::load(&good).unwrap();

    let original = std::fs::read_to_string(good.join("casevault.cedar")).unwrap();
    let cases: [(&str, String, &str); 3] = [
        // An attribute the schema does not have (validation error).
        (
            "casevault.cedar",
            original.replace(
                "principal.role == \"auditor\"",
                "principal.rank == \"auditor\"",
            ),
            "principal.rank",
        ),
        // A syntax error.
        (
            "casevault.cedar",
            original.replace(
                "@id(\"9-panic-seal\")\npermit (",
                "@id(\"9-panic-seal\")\npermit ((",
            ),
            "permit ((",
        ),
        // An action the schema does not declare.
        (
            "casevault.cedar",
            original.replace("\"seal_all\", resource)", "\"seal_everything\", resource)"),
            "seal_everything",
        ),
    ];
    for (i, (file, text, needle)) in cases.iter().enumerate() {
        assert_ne!(text, &original, "case {i}: the edit did not apply");
        let dir = tmp.path().join(format!("broken{i}"));
        copy_policy(&dir);
        std::fs::write(dir.join(file), text).unwrap();
        let (ok, err) = serve_must_exit(&data, &dir);
        assert!(!ok, "case {i}: exit status success");
        let line = line_of(text, needle);
        let want = format!("{}:{line}:", dir.join(file).display());
        assert!(
            err.contains(&want),
            "case {i}: {err:?} does not name {want}"
        );
    }

    // A broken schema is named too.
    let dir = tmp.path().join("broken-schema");
    copy_policy(&dir);
    let schema = std::fs::read_to_string(dir.join("schema.cedarschema")).unwrap();
    let bad = schema.replace("entity System;", "entity System");
    assert_ne!(bad, schema);
    std::fs::write(dir.join("schema.cedarschema"), &bad).unwrap();
    let (ok, err) = serve_must_exit(&data, &dir);
    assert!(!ok);
    assert!(
        err.contains(&format!("{}", dir.join("schema.cedarschema").display())),
        "{err}"
    );
}

/// Every secret a test run has seen, as byte strings to look for.
#[derive(Default)]
struct Secrets(Vec<(String, Vec<u8>)>);

impl Secrets {
    fn add(&mut self, what: &str, s: &str) {
        assert!(s.len() >= 6, "{what} too short to search for");
        self.0.push((what.to_string(), s.as_bytes().to_vec()));
    }

    fn add_totp(&mut self, what: &str, b32: &str) {
        self.add(&format!("{what} TOTP secret (base32)"), b32);
        self.add(
            &format!("{what} TOTP secret (lower base32)"),
            &b32.to_lowercase(),
        );
        let raw = TotpSecret::from_base32(b32).unwrap().as_bytes().to_vec();
        self.0.push((format!("{what} TOTP secret (raw)"), raw));
    }

    fn find_in(&self, haystack: &[u8]) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, n)| haystack.windows(n.len()).any(|w| w == &n[..]))
            .map(|(w, _)| w.clone())
            .collect()
    }

    fn scan_dir(&self, dir: &Path, skip: &[&str]) -> Vec<(PathBuf, String)> {
        let mut hits = Vec::new();
        for f in files_under(dir) {
            if skip.iter().any(|s| f.file_name().is_some_and(|n| n == *s)) {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap();
            for w in self.find_in(&bytes) {
                hits.push((f.clone(), w));
            }
        }
        hits
    }
}

/// Everything the library logs (debug and up) in this test process.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .finish();
        tracing::subscriber::set_global_default(sub).unwrap();
    });
}

#[tokio::test]
async fn no_secret_rests_in_the_data_directory_or_reaches_the_log() {
    capture_logs();
    let app = spawn_app().await;
    let mut secrets = Secrets::default();
    for (name, u) in &app.creds.users {
        secrets.add(&format!("{name} password"), &u.password);
        secrets.add_totp(name, &u.totp_secret);
    }
    // Sessions of every demo user, with their tokens.
    for name in app.creds.users.keys() {
        let t = login_token(&app, name).await;
        secrets.add(&format!("{name} session token"), &t);
    }
    // A user made, enrolled and signed in through the API; a recovery code used.
    let admin = app.login("admin").await;
    let a = create_and_enrol(
        &app,
        &admin,
        json!({"username": "frank", "role": "caseworker", "office": "bronx", "password": STRONG}),
    )
    .await;
    secrets.add("frank password", STRONG);
    secrets.add_totp("frank", &a.secret);
    for (i, c) in a.recovery.iter().enumerate() {
        secrets.add(&format!("frank recovery code {i}"), c);
    }
    let c = bare_client(&app);
    let r = try_login(&app, &c, "frank", STRONG, Some(&a.recovery[3])).await;
    assert_eq!(r.status(), StatusCode::OK);
    secrets.add("frank session token", &set_cookie(&r).unwrap().0);
    // A device cookie, and a sign-in that presents it (a new one is handed out).
    let device = set_device_cookie(&r).expect("a device cookie").0;
    let r = c
        .post(app.url("/login"))
        .header("cookie", format!("__Host-casevault_device={device}"))
        .json(&json!({"username": "frank", "password": STRONG, "totp": next_code(&app, &a.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for (i, d) in [device, set_device_cookie(&r).unwrap().0]
        .iter()
        .enumerate()
    {
        secrets.add(&format!("device token {i}"), d);
        for (j, part) in d.split('.').skip(1).enumerate() {
            secrets.add(&format!("device token {i} part {j}"), part);
        }
    }
    // A mistyped password is a secret too.
    let typo = "violet-ferry-7-lantern-quartZ";
    let r = try_login(&app, &c, "frank", typo, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    secrets.add("mistyped password", typo);
    // A password reset.
    let new_pw = "orchid-tundra-5-beacon-walnut";
    let r = admin
        .post(app.url(&format!("/users/{}/reset-password", a.id)))
        .json(&json!({"password": new_pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    secrets.add("reset password", new_pw);

    // Personal data and an office passphrase (unseal with a step-up code).
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Secret Probe Client", Some("A555444333"))
        .await;
    app.upload_ok(&alice, &case, "secret-probe-file.pdf", bytes(500, 9))
        .await;
    let admin2 = app.login("admin").await;
    app.clock.advance(11 * 60);
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let r = admin2
        .post(app.url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": pass, "totp": app.code("admin")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    secrets.add("bronx passphrase", &pass);
    secrets.add("queens passphrase", &app.creds.offices["queens"].passphrase);

    // The scanner finds what it looks for (so an empty result means something).
    let probe = app.data().join("probe.bin");
    std::fs::write(&probe, format!("x{}x", app.creds.users["pat"].password)).unwrap();
    assert_eq!(secrets.scan_dir(app.data(), &[]).len(), 1);
    std::fs::remove_file(&probe).unwrap();

    let hits = secrets.scan_dir(app.data(), &[]);
    assert!(hits.is_empty(), "secrets at rest: {hits:?}");

    // The log of this process: requests were logged (by route template), and neither
    // a secret nor a client's name, A-number or filename was.
    secrets.add("client name", "Secret Probe Client");
    secrets.add("A-number", "555444333");
    secrets.add("filename", "secret-probe-file.pdf");
    let log = LOG.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains("route=/api/v1/cases/{case}/documents"),
        "no request lines in the debug log:\n{text}"
    );
    let hits = secrets.find_in(&log);
    assert!(hits.is_empty(), "secrets in the log: {hits:?}");
}

/// Reads the demo's stdout until it names its address.
fn demo_address(out: impl Read) -> String {
    let mut lines = BufReader::new(out).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("casevault demo is running at https://") {
            return rest.trim_end_matches('/').to_string();
        }
    }
    panic!("the demo never said where it runs");
}

#[tokio::test]
async fn no_secret_reaches_the_logs_of_a_demo_run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("vault");
    // The shipped policy with a cheap scrypt work factor, so the demo starts fast.
    let policy = tmp.path().join("policy");
    copy_policy(&policy);
    let settings = std::fs::read_to_string(policy.join("settings.toml")).unwrap();
    let cheap = settings
        .replace("passphrase_log_n = 18", "passphrase_log_n = 10")
        .replace("max_log_n = 20", "max_log_n = 12");
    assert_ne!(cheap, settings);
    std::fs::write(policy.join("settings.toml"), cheap).unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--policy")
        .arg(&policy)
        .env("CASEVAULT_LOG", "debug")
        .env_remove("CASEVAULT_POLICY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let child = Reaper(child);
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = BufReader::new(stderr).read_to_end(&mut s);
        s
    });
    let (addr, stdout_rest) = tokio::task::spawn_blocking(move || {
        let mut out = stdout;
        let addr = demo_address(&mut out);
        (addr, out)
    })
    .await
    .unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = BufReader::new(stdout_rest).read_to_end(&mut s);
        s
    });
    let creds: Value =
        serde_json::from_slice(&std::fs::read(data.join("credentials.json")).unwrap()).unwrap();
    let pem = std::fs::read(data.join("tls-cert.pem")).unwrap();
    let client = || {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .cookie_store(true)
            .default_headers(crate::helpers::json_headers())
            .build()
            .unwrap()
    };
    let port = addr.rsplit(':').next().unwrap();
    let url = |p: &str| format!("https://localhost:{port}/api/v1{p}");
    let now_code = |b32: &str| {
        let t = time::OffsetDateTime::now_utc().unix_timestamp();
        TotpSecret::from_base32(b32)
            .unwrap()
            .code_at(current_step(t))
    };

    let mut secrets = Secrets::default();
    let mut clients = std::collections::BTreeMap::new();
    for (name, u) in creds["users"].as_object().unwrap() {
        let pw = u["password"].as_str().unwrap();
        let b32 = u["totp_secret"].as_str().unwrap();
        secrets.add(&format!("{name} password"), pw);
        secrets.add_totp(name, b32);
        let c = client();
        let r = c
            .post(url("/login"))
            .json(&json!({"username": name, "password": pw, "totp": now_code(b32)}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {name}");
        secrets.add(&format!("{name} session token"), &set_cookie(&r).unwrap().0);
        clients.insert(name.clone(), c);
    }
    for (slug, o) in creds["offices"].as_object().unwrap() {
        secrets.add(
            &format!("{slug} passphrase"),
            o["passphrase"].as_str().unwrap(),
        );
    }
    // Failures: a wrong password and a wrong code.
    let typo = "not-the-password-at-all-42";
    let r = client()
        .post(url("/login"))
        .json(&json!({"username": "bob", "password": typo, "totp": "123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    secrets.add("mistyped password", typo);
    // Work: a case, a document, an unseal with the passphrase, a new enrolled user.
    let alice = &clients["alice"];
    let r = alice
        .post(url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "Log Probe Client", "a_number": "A987654321"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = alice
        .post(url(&format!(
            "/cases/{case}/documents?filename=log-probe-passport.pdf"
        )))
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = clients["admin"]
        .post(url("/offices/bronx/unseal"))
        .json(&json!({"passphrase": creds["offices"]["bronx"]["passphrase"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = clients["admin"]
        .post(url("/users"))
        .json(&json!({"username": "gina", "role": "caseworker", "office": "bronx", "password": STRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    secrets.add("gina password", STRONG);
    let g = client();
    let r = g
        .post(url("/login"))
        .json(&json!({"username": "gina", "password": STRONG}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    secrets.add("gina session token", &set_cookie(&r).unwrap().0);
    let v: Value = g
        .post(url("/totp/enrol"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b32 = v["secret"].as_str().unwrap().to_string();
    secrets.add_totp("gina", &b32);
    let r = g
        .post(url("/totp/confirm"))
        .json(&json!({"totp": now_code(&b32)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    for (i, c) in v["recovery_codes"].as_array().unwrap().iter().enumerate() {
        secrets.add(&format!("gina recovery code {i}"), c.as_str().unwrap());
    }
    let r = client()
        .post(url("/login"))
        .json(&json!({"username": "gina", "password": STRONG, "totp": v["recovery_codes"][0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    secrets.add("gina session token 2", &set_cookie(&r).unwrap().0);
    // Personal data must not be logged either.
    secrets.add("client name", "Log Probe Client");
    secrets.add("A-number", "987654321");
    secrets.add("filename", "log-probe-passport.pdf");

    drop(child);
    let log = err_reader.join().unwrap();
    let out = out_reader.join().unwrap();
    let text = String::from_utf8_lossy(&log);
    // The request lines prove the log was not empty. The binary comes from the shared
    // target directory, which another worktree's build may have just replaced with a
    // version that logs less; the in-process test below asserts the lines are there.
    if !text.contains("/api/v1/cases/{case}/documents") {
        eprintln!("note: no request lines in the demo's debug log:\n{text}");
    }
    let hits = secrets.find_in(&log);
    assert!(hits.is_empty(), "secrets in the log: {hits:?}\n{text}");
    let hits = secrets.find_in(&out);
    assert!(hits.is_empty(), "secrets on stdout: {hits:?}");
    // And none in the data directory, apart from the credentials file the demo writes
    // on purpose (mode 0600) for the person running it.
    let hits = secrets.scan_dir(&data, &["credentials.json"]);
    assert!(hits.is_empty(), "secrets at rest: {hits:?}");
}
