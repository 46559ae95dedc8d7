//! Unseal with a passkey (issue 23 item 5) in a real browser: Chromium with a virtual
//! authenticator that has PRF support (`hasPrf`), at `https://localhost:PORT`. The
//! administrator adds a passkey, sets their holder key up for it on the Office page
//! (with their passphrase), and later unseals by touching it. The PRF output never
//! reaches the disk; a wrong PRF opens nothing; without the passkey the route says so.
use serde_json::{Value, json};

use crate::browser::{check_page, sign_in_ok};
use crate::helpers::*;
use crate::webdriver::{Browser, installed};

async fn prf_authenticator(b: &Browser) -> String {
    b.cdp("WebAuthn.enable", json!({"enableUI": false})).await;
    let v = b
        .cdp(
            "WebAuthn.addVirtualAuthenticator",
            json!({"options": {
                "protocol": "ctap2", "ctap2Version": "ctap2_1", "transport": "internal",
                "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true,
                "hasPrf": true, "automaticPresenceSimulation": true
            }}),
        )
        .await;
    v["authenticatorId"].as_str().unwrap().to_string()
}

async fn run(b: &Browser, body: &str) -> Value {
    b.js_async(&format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, e => done({{error: String(e)}}));"
    ))
    .await
}

#[tokio::test]
async fn a_holder_unseals_by_touching_their_passkey_in_a_real_browser() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app = spawn_app().await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let work = tempfile::tempdir().unwrap();
    let b = Browser::start(work.path()).await;
    let base = app.base.clone();
    prf_authenticator(&b).await;

    // The admin becomes a key holder (API), and adds a passkey (account page).
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/offices/bronx/holders"))
        .json(&json!({"username": "admin", "passphrase": pass}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = admin
        .post(app.url("/me/holder-key"))
        .json(&json!({"office": "bronx"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let own: String = r.json::<Value>().await.unwrap()["passphrase"]
        .as_str()
        .unwrap()
        .to_string();
    sign_in_ok(&b, &app, "admin").await;
    b.goto(&format!("{base}/account")).await;
    b.type_into("#passkey-name", "office laptop").await;
    b.click_stay("#passkey-add button[type=submit]").await;
    b.wait_for(
        "return location.search.includes('done=passkey_added') && document.readyState === 'complete';",
        "the passkey to be added",
    )
    .await;

    // Office page: set the holder key up for the passkey, with the passphrase.
    b.goto(&format!("{base}/admin")).await;
    b.wait_for(
        "return !document.getElementById('holder-passkey-setup').hidden;",
        "the passkey set-up form",
    )
    .await;
    b.type_into("#holder-passkey-setup input[name=passphrase]", &own)
        .await;
    b.click_stay("#holder-passkey-setup button[type=submit]")
        .await;
    b.wait_for(
        "return location.search.includes('done=holder_passkey') && document.readyState === 'complete';",
        "the passkey set up for the office key",
    )
    .await;
    check_page(&b).await;

    // Sealed; then unsealed by touching the passkey, no passphrase typed.
    app.seal("bronx").await;
    b.goto(&format!("{base}/admin")).await;
    b.wait_for(
        "return !document.getElementById('unseal-passkey').closest('.passkey').hidden;",
        "the unseal-by-passkey button",
    )
    .await;
    b.click_stay("#unseal-passkey").await;
    b.wait_for(
        "return location.search.includes('done=unsealed') && document.readyState === 'complete';",
        "the unseal by passkey",
    )
    .await;
    assert!(app.app.vault.is_unsealed("bronx"));
    let last = crate::lifecycle_helpers::audit_rows(&app)
        .into_iter()
        .rev()
        .find(|e| e.action == "unseal_office")
        .unwrap();
    assert!(last.outcome.ends_with("by=passkey"), "{}", last.outcome);

    // The same ceremony by hand: the PRF output it carries is right, a changed one
    // opens nothing; and the PRF output is nowhere on disk.
    app.seal("bronx").await;
    let out = run(
        &b,
        "const api = async (path, body) => {
            const r = await fetch('/api/v1' + path, {method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
            const t = await r.text(); return {status: r.status, body: t ? JSON.parse(t) : null};
         };
         const b64 = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g,'-').replace(/\\//g,'_').replace(/=+$/,'');
         const un = s => Uint8Array.from(atob(s.replace(/-/g,'+').replace(/_/g,'/') + '='.repeat((4 - s.length % 4) % 4)), c => c.charCodeAt(0));
         const attempt = async (flip) => {
            const c = await api('/offices/bronx/unseal/passkey/start');
            const o = PublicKeyCredential.parseRequestOptionsFromJSON(c.body.publicKey);
            o.extensions = {prf: {eval: {first: un(c.body.prf_salt)}}};
            const cred = await navigator.credentials.get({publicKey: o});
            const prf = new Uint8Array(cred.getClientExtensionResults().prf.results.first);
            const sent = new Uint8Array(prf); if (flip) sent[0] ^= 1;
            const j = cred.toJSON(); delete j.clientExtensionResults.prf;
            const r = await api('/offices/bronx/unseal/passkey/finish',
                {challenge_id: c.body.challenge_id, credential: j, prf: b64(sent)});
            return {status: r.status, body: r.body, prf: b64(prf), hex: Array.from(prf).map(x => x.toString(16).padStart(2,'0')).join('')};
         };
         const wrong = await attempt(true);
         const right = await attempt(false);
         return [wrong, right];",
    )
    .await;
    assert_eq!(out[0]["status"], 400, "{out}");
    assert_eq!(out[0]["body"]["error"]["code"], "unseal_failed");
    assert_eq!(out[1]["status"], 204, "{out}");
    assert!(app.app.vault.is_unsealed("bronx"));
    let hex = out[1]["hex"].as_str().unwrap();
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let b64 = out[1]["prf"].as_str().unwrap();
    let found = scan_for(app.data(), &[&raw, b64.as_bytes()]);
    assert!(found.is_empty(), "the PRF output on disk: {found:?}");

    // Without the passkey (removed), the office key no longer opens with it.
    b.goto(&format!("{base}/account")).await;
    b.click_stay("button[data-passkey-remove]").await;
    b.wait_for(
        "return location.search.includes('done=passkey_removed') && document.readyState === 'complete';",
        "the passkey to be removed",
    )
    .await;
    let r = run(
        &b,
        "const r = await fetch('/api/v1/offices/bronx/unseal/passkey/start', {method: 'POST',
            credentials: 'same-origin', headers: {'Content-Type': 'application/json'}, body: '{}'});
         return [r.status, await r.json()];",
    )
    .await;
    assert_eq!(r[0], 409, "{r}");
    assert_eq!(r[1]["error"]["code"], "no_passkey_key");
    b.quit().await;
}
