//! A client upload link in a real Chromium (issue 25): a caseworker makes a link on
//! the case page (language Spanish) and copies its address; a browser with no cookie
//! opens it, sends a file through the form without any script, and gets the receipt
//! in Spanish. Saves `upload-link-made.png`, `client-upload-es.png` and
//! `client-receipt-es.png` (under `docs/screenshots/` with `CASEVAULT_SCREENSHOTS=1`).
use serde_json::Value;

use crate::browser::{check_page, shots, sign_in_ok};
use crate::helpers::{bytes, spawn_app};
use crate::webdriver::{Browser, installed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_client_sends_a_file_through_a_spanish_link() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Rosa Elvira Planted-Marker", None)
        .await;
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let b = Browser::start(&downloads).await;

    // The caseworker makes the link on the case page.
    sign_in_ok(&b, &app, "alice").await;
    b.goto(&format!("{}/cases/{case}", app.base)).await;
    b.type_into("#link-days", "5").await;
    b.type_into("#link-files", "4").await;
    b.js("document.querySelector('#link-language').value = 'es'; return null;")
        .await;
    b.click("#links ~ form.card button[type=submit]").await;
    let t = b.text().await;
    assert!(t.contains("shown only this once"), "{t}");
    check_page(&b).await;
    b.screenshot(&shots().join("upload-link-made.png")).await;
    let url = b
        .js("return document.querySelector('#link-url').value;")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let es = b
        .js("return document.querySelector('#words-es').value;")
        .await;
    assert!(es.as_str().unwrap().contains(&url), "{es}");
    assert!(
        es.as_str().unwrap().contains(" de 20"),
        "a Spanish date: {es}"
    );
    assert!(url.starts_with(&format!("{}/u/", app.base)), "{url}");

    // The client: no cookie, Spanish by the link's own choice.
    b.clear_cookies().await;
    b.goto(&format!("{url}?lang=es")).await;
    let page = b
        .js(r#"return [document.documentElement.lang, document.body.innerText,
            document.querySelectorAll('script').length, document.cookie,
            document.documentElement.outerHTML,
            [...document.querySelectorAll('a')].map(a => a.getAttribute('href')).filter(h => !h.startsWith('/u/')),
            document.querySelector('#file').multiple];"#)
        .await;
    assert_eq!(page[0], "es");
    let text = page[1].as_str().unwrap();
    assert!(
        text.contains("Envíe sus documentos") && text.contains("4 archivos más"),
        "{text}"
    );
    assert_eq!(page[2], 0, "no script on the client's page");
    assert_eq!(page[3], "", "no cookie");
    let html = page[4].as_str().unwrap();
    for marker in ["Rosa", "Planted", &case, "alice"] {
        assert!(!html.contains(marker), "the client's page shows {marker}");
    }
    assert_eq!(page[5], Value::Array(vec![]), "links into the app");
    assert_eq!(page[6], true, "several files at once");
    b.screenshot(&shots().join("client-upload-es.png")).await;

    let doc = bytes(250_000, 21);
    let file = work.path().join("acta-de-nacimiento.pdf");
    std::fs::write(&file, &doc).unwrap();
    b.keys("#file", &file.to_string_lossy()).await;
    b.click("form.card button[type=submit]").await;
    let text = b.text().await;
    assert!(text.contains("Gracias: recibimos sus archivos"), "{text}");
    assert!(
        text.contains("acta-de-nacimiento.pdf") && text.contains("código"),
        "{text}"
    );
    assert!(text.contains("3 archivos más"), "{text}");
    b.screenshot(&shots().join("client-receipt-es.png")).await;
    b.quit().await;

    // The caseworker reads the same bytes.
    let list: Value = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &list["documents"][0];
    assert_eq!(d["filename"], "acta-de-nacimiento.pdf");
    let code = casevault::vault::receipt_code(d["id"].as_str().unwrap());
    assert!(text.contains(&code), "the receipt shows {code}");
    let got = alice
        .get(app.url(&format!(
            "/cases/{case}/documents/{}",
            d["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), doc);
}
