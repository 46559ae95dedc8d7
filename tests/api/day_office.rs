//! Issue 24, "A day in the office", items 12 and 14, from outside: an empty upload is
//! refused and stores nothing (API and page form); the command line says a failure
//! once, without colour codes in a pipe, ends quietly when its reader goes away,
//! explains a bare `--listen` port, a key of another certificate and a port below
//! 1024; and `demo` run again with a new `--credentials-out` works.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use reqwest::StatusCode;

use crate::childkit::{launch, start_with};
use crate::helpers::*;
use crate::lifecycle_helpers::count;
use crate::pagekit::{hidden, page_sign_in};

const BIN: &str = env!("CARGO_BIN_EXE_casevault");
const BOUNDARY: &str = "----casevaultdayboundary";

/// Files in the blob directory (stored blobs and any temporary one).
fn blob_dir_entries(data: &Path) -> usize {
    std::fs::read_dir(data.join("blobs")).map_or(0, |d| d.count())
}

fn audit_outcomes(data: &Path, outcome: &str) -> i64 {
    count(data, "audit", &format!("outcome = '{outcome}'"))
}

#[tokio::test]
async fn an_empty_upload_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Empty File", None).await;
    let blobs_before = blob_dir_entries(app.data());

    // Declared empty (Content-Length: 0).
    let r = app.upload(&alice, &case, "passport.pdf", Vec::new()).await;
    let v = assert_error(r, StatusCode::BAD_REQUEST, "empty_file").await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("empty (0 bytes)"), "{msg}");
    // Streamed with no length, and no bytes.
    let none: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(Vec::new())];
    let r = alice
        .post(app.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "scan.pdf")])
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(none)))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "empty_file").await;

    // Nothing stored: no row, no blob (not even a temporary one); both refusals audited.
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    assert_eq!(blob_dir_entries(app.data()), blobs_before);
    assert_eq!(audit_outcomes(app.data(), "empty_file"), 2);
    let v = get_json(&alice, &app.url(&format!("/cases/{case}/documents"))).await;
    assert_eq!(v["documents"].as_array().unwrap().len(), 0, "{v}");

    // One byte is a document.
    app.upload_ok(&alice, &case, "one.txt", b"x".to_vec()).await;
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

/// The no-JavaScript upload form's body: the CSRF field, then the file part.
fn form_body(token: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn the_upload_form_refuses_an_empty_file_with_a_message() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Empty Form", None).await;
    let alice = page_sign_in(&app, "alice").await;
    let page = format!("{}/cases/{case}", app.base);
    let post = |content: &'static [u8]| {
        let (alice, page) = (alice.clone(), page.clone());
        async move {
            let html = alice.get(&page).send().await.unwrap().text().await.unwrap();
            let token = hidden(&html, "csrf").expect("csrf field");
            alice
                .post(format!("{page}/documents"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(form_body(&token, "passport.pdf", content))
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(b"").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("The file is empty (0 bytes)"), "{html}");
    assert_eq!(count(app.data(), "documents", "1 = 1"), 0);
    assert_eq!(blob_dir_entries(app.data()), 0);
    // The same form with a byte in the file stores it.
    let r = post(b"%").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app.data(), "documents", "1 = 1"), 1);
}

async fn get_json(c: &reqwest::Client, url: &str) -> serde_json::Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_bare_port_for_listen_shows_the_form_to_give() {
    for cmd in ["serve", "demo"] {
        let o = Command::new(BIN)
            .args([cmd, "--data", "/nonexistent", "--listen", "8443"])
            .output()
            .unwrap();
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("give an address and a port, e.g. 0.0.0.0:8443"),
            "{err}"
        );
    }
}

/// A new vault made with the command line in `dir/vault`; returns its path.
fn cli_vault(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("vault");
    let o = Command::new(BIN)
        .args(["init", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    data
}

#[test]
fn a_failed_command_says_so_once_and_without_colour_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let data = cli_vault(dir.path());
    // Fails at the start (the recipient does not parse), where the error was also
    // logged: stderr here is a pipe, as under cron or systemd.
    let o = Command::new(BIN)
        .args(["backup", "create", "--recipient", "not-a-recipient", "--to"])
        .arg(dir.path().join("target"))
        .arg("--data")
        .arg(&data)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("casevault: "), "{err:?}");
    assert!(!err.contains('\u{1b}'), "no escape codes: {err:?}");
}

#[tokio::test]
async fn audit_export_into_a_pipe_closed_early_ends_quietly() {
    let app = spawn_app().await;
    // Enough entries that the export outlasts the pipe's buffer.
    app.app
        .vault
        .db()
        .write(|tx| {
            for _ in 0..3000 {
                casevault::audit::append(
                    tx,
                    "2026-01-01T00:00:00Z",
                    &casevault::audit::Entry {
                        actor: "cli",
                        role: "-",
                        action: "probe",
                        target: "office:bronx",
                        decision: "allow",
                        outcome: "ok",
                    },
                )?;
            }
            Ok::<_, casevault::store::StoreError>(())
        })
        .unwrap();
    let mut child = Command::new(BIN)
        .args(["audit", "export", "--data"])
        .arg(app.data())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("{\"seq\":1,"), "{first}");
    // The reader is dropped here, as `head -1` exits.
    let o = child.wait_with_output().unwrap();
    let err = stderr_of(&o);
    assert!(o.status.success(), "{:?} {err}", o.status);
    assert_eq!(err, "", "nothing on stderr");
}

#[test]
fn a_key_of_another_certificate_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = cli_vault(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let (cert, _) = casevault::app::self_signed(&one).unwrap();
    let (_, key) = casevault::app::self_signed(&two).unwrap();
    let o = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("does not belong to the certificate"), "{err}");
    assert!(err.contains("give --tls-key the private key"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_port_below_1024_without_the_right_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    // Where unprivileged users may bind every port, there is nothing to refuse.
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    if start <= 80 {
        eprintln!("skipped: this machine lets every user bind port 80");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = crate::childkit::policy_dir(dir.path(), &[]);
    let data = cli_vault(dir.path());
    let o = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(BIN)
        .env("CASEVAULT_POLICY", &policy)
        .args(["serve", "--listen", "127.0.0.1:80", "--data"])
        .arg(&data)
        .output()
        .expect("setpriv (util-linux)");
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("ports below 1024"), "{err}");
    assert!(err.contains("cap_net_bind_service"), "{err}");
}

#[tokio::test]
async fn demo_run_again_with_a_new_credentials_file_writes_it() {
    let s = start_with(&[], "", &[]);
    let dir = s.dir.clone();
    let first = dir.path().join("first.json");
    drop(s);
    // Round one made the vault with its credentials in DATA/credentials.json. Round two
    // asks for another file; round three for yet another, away from the default.
    let data = dir.path().join("vault");
    let original = casevault::demo::read_credentials(&data.join("credentials.json")).unwrap();
    // A code is accepted once: each round signs in someone else.
    for (name, user, office) in [
        ("first.json", "alice", "bronx"),
        ("second.json", "bob", "queens"),
    ] {
        let out = dir.path().join(name);
        let s = launch(
            Arc::clone(&dir),
            &["--credentials-out".into(), out.display().to_string()],
        );
        let creds = casevault::demo::read_credentials(&out).unwrap();
        assert_eq!(
            creds.offices["bronx"].passphrase, original.offices["bronx"].passphrase,
            "{name}"
        );
        assert_eq!(
            creds.users["alice"].password,
            original.users["alice"].password
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
        // The offices are unsealed: a case's details read back.
        let c = s.login(user).await;
        let r = c
            .post(s.url("/cases"))
            .json(&serde_json::json!({"office": office, "client_name": "Again"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let id = r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = get_json(&c, &s.url(&format!("/cases/{id}"))).await;
        assert_eq!(v["metadata"]["client_name"], "Again", "{v}");
        drop(s);
    }
    assert!(first.exists());
    // Away from the default: with DATA/credentials.json gone, the file the last run
    // wrote is found.
    std::fs::remove_file(data.join("credentials.json")).unwrap();
    let third = dir.path().join("third.json");
    let s = launch(
        Arc::clone(&dir),
        &["--credentials-out".into(), third.display().to_string()],
    );
    let creds = casevault::demo::read_credentials(&third).unwrap();
    assert_eq!(
        creds.offices["queens"].passphrase,
        original.offices["queens"].passphrase
    );
    drop(s);
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("its credentials were copied from"), "{log}");
    assert!(!log.contains('\u{1b}'), "no escape codes in a log file");
}

/// The heading `--policy` and `--auth-key` are listed under in `casevault ARGS --help`.
fn heading_of(args: &[&str], flag: &str) -> String {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut heading = String::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_string();
        }
        // A flag's own line, not a help text that wraps onto it.
        if line.trim_start().starts_with(&format!("{flag} <")) {
            return heading;
        }
    }
    panic!("{flag} not in {help}");
}

#[test]
fn help_lists_the_policy_and_auth_key_under_their_own_heading() {
    for args in [
        &["backup", "create", "--help"][..],
        &["restore", "--help"],
        &["serve", "--help"],
        &["demo", "--help"],
    ] {
        for flag in ["--policy", "--auth-key"] {
            assert_eq!(heading_of(args, flag), "Policy and keys", "{args:?} {flag}");
        }
        // The storage flags keep theirs.
        let s3 = heading_of(args, "--s3-endpoint");
        assert!(
            s3 == "S3 target" || s3 == "Document storage",
            "{args:?}: {s3}"
        );
    }
}
