//! Issue 24 item 3 on the command line: `office add --time-zone`, `office list`,
//! `user enable` and `user reset-totp`, run by the operator on a data directory.
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_casevault");

fn run(args: &[&str], data: &Path) -> (bool, String, String) {
    let o = Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn offices_are_listed_and_accounts_switched_on_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("vault");
    let o = Command::new(BIN)
        .args(["init", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success());
    let (ok, out, _) = run(&["office", "list"], &data);
    assert!(ok && out.contains("No office yet"), "{out}");
    let (ok, out, err) = run(
        &[
            "office",
            "add",
            "--slug",
            "el-paso",
            "--time-zone",
            "America/Denver",
        ],
        &data,
    );
    assert!(ok, "{err}");
    assert!(out.contains("Passphrase (shown once"), "{out}");
    let (ok, _, err) = run(
        &[
            "office",
            "add",
            "--slug",
            "tucson",
            "--time-zone",
            "Mars/Base",
        ],
        &data,
    );
    assert!(!ok && err.contains("time zone"), "{err}");
    let (ok, out, _) = run(&["office", "list"], &data);
    assert!(ok, "{out}");
    let row = out.lines().find(|l| l.starts_with("el-paso")).expect(&out);
    assert!(
        row.contains("America/Denver") && row.contains(" no "),
        "{row}"
    );
    assert!(
        row.trim_end().ends_with('1'),
        "one key holder (the office passphrase): {row}"
    );
    assert!(
        !out.contains("tucson"),
        "a refused office is not made: {out}"
    );

    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "--username",
            "lena",
            "--role",
            "caseworker",
            "--office",
            "el-paso",
        ],
        &data,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["user", "disable", "--username", "lena"], &data);
    assert!(ok, "{err}");
    let (_, out, _) = run(&["user", "list"], &data);
    assert!(
        out.lines()
            .any(|l| l.starts_with("lena") && l.contains("disabled")),
        "{out}"
    );
    let (ok, out, err) = run(&["user", "enable", "--username", "lena"], &data);
    assert!(ok && out.contains("can sign in again"), "{out}{err}");
    let (_, out, _) = run(&["user", "list"], &data);
    assert!(
        out.lines()
            .any(|l| l.starts_with("lena") && l.contains("active")),
        "{out}"
    );
    let (ok, out, err) = run(&["user", "reset-totp", "--username", "lena"], &data);
    assert!(
        ok && out.contains("authenticator of lena is reset"),
        "{out}{err}"
    );
    let (ok, _, err) = run(&["user", "enable", "--username", "nobody-here"], &data);
    assert!(!ok && err.contains("no such user"), "{err}");
    // Each change is in the audit log, under the operator.
    let (_, out, _) = run(&["audit", "export", "--after", "0"], &data);
    for word in ["enable", "reset_totp", "disable"] {
        assert!(out.contains(word), "{word} in {out}");
    }
}
