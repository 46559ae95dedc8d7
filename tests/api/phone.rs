//! Every page fits a 390-pixel-wide phone (issue 24): in a real Chromium at 390×844,
//! the case page (documents, shares, a Fix and a Revoke), Users, the administrator's
//! Cases, the audit log, the Office page and the account page never scroll sideways
//! (`document.documentElement.scrollWidth <= 390`); each is saved as a screenshot
//! (`phone-*.png`, under `docs/screenshots/` with `CASEVAULT_SCREENSHOTS=1`).
use serde_json::json;

use crate::browser::{shots, sign_in_ok};
use crate::helpers::{bytes, spawn_app};
use crate::webdriver::{Browser, installed};

const WIDTH: u32 = 390;

/// Loads `path` at phone width and checks it does not scroll sideways; names the
/// widest element when it does.
async fn fits(b: &Browser, base: &str, path: &str, shot: &str) {
    b.goto(&format!("{base}{path}")).await;
    let v = b
        .js(r#"
            const w = document.documentElement.scrollWidth;
            let widest = '';
            if (w > 390) {
              for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right > 391) { widest = el.tagName + '.' + el.className + ' ' + Math.round(r.right); }
              }
            }
            return [w, window.innerWidth, widest, document.title];
        "#)
        .await;
    let shot_path = shots().join(format!("phone-{shot}.png"));
    b.screenshot(&shot_path).await;
    assert_eq!(v[1], json!(WIDTH), "the viewport is a phone's");
    assert!(
        v[0].as_i64().unwrap() <= i64::from(WIDTH),
        "{path} scrolls sideways at {WIDTH}px: scrollWidth {} (widest: {}); see {}",
        v[0],
        v[2],
        shot_path.display()
    );
    assert!(
        !v[3].as_str().unwrap().starts_with("Not found"),
        "{path}: {}",
        v[3]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_390_pixel_phone() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app = spawn_app().await;
    // A case with long words everywhere: documents, a share, a note, a hearing.
    let alice = app.login("alice").await;
    let case = app
        .create_case(
            &alice,
            "bronx",
            "Maximiliana Guadalupe Hernández-Villaseñor de la Cruz",
            Some("A012345678"),
        )
        .await;
    for i in 0..3 {
        let name = format!("passport-scan-of-the-whole-family-page-{i}-with-a-very-long-name.pdf");
        app.upload_ok(&alice, &case, &name, bytes(2048, i)).await;
    }
    let code = app.code("alice");
    let r = alice
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&json!({"username": "pat", "permission": "read", "expires_at": crate::authkit::in_secs(&app, 86_400 * 20), "totp": code}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "share: {}",
        r.text().await.unwrap()
    );
    let r = alice
        .post(app.url(&format!("/cases/{case}/notes")))
        .json(&json!({"text": "Called about the biometrics appointment; she will bring the I-797C notice and the translated birth certificate."}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    b.phone(Some((WIDTH, 844))).await;
    let base = app.base.clone();

    sign_in_ok(&b, &app, "alice").await;
    fits(&b, &base, "/cases", "cases").await;
    fits(&b, &base, &format!("/cases/{case}"), "case").await;
    // The Fix and Revoke controls opened, as a person would.
    b.js("document.querySelectorAll('details').forEach(d => d.open = true); return 1;")
        .await;
    let w = b.js("return document.documentElement.scrollWidth;").await;
    b.screenshot(&shots().join("phone-case-open.png")).await;
    assert!(
        w.as_i64().unwrap() <= i64::from(WIDTH),
        "case page with every form open: {w}"
    );
    fits(&b, &base, "/upcoming", "upcoming").await;
    fits(&b, &base, "/account", "account").await;

    sign_in_ok(&b, &app, "admin").await;
    fits(&b, &base, "/admin", "office").await;
    fits(&b, &base, "/admin/users", "users").await;
    b.js("document.querySelectorAll('details').forEach(d => d.open = true); return 1;")
        .await;
    let w = b.js("return document.documentElement.scrollWidth;").await;
    b.screenshot(&shots().join("phone-users-open.png")).await;
    assert!(
        w.as_i64().unwrap() <= i64::from(WIDTH),
        "users with every form open: {w}"
    );
    fits(&b, &base, "/admin/cases", "admin-cases").await;
    fits(&b, &base, "/audit", "audit").await;

    sign_in_ok(&b, &app, "root").await;
    fits(&b, &base, "/admin", "superadmin").await;
    b.quit().await;
}
