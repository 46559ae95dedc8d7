//! The pages in a real browser: headless Debian Chromium driven through
//! chromedriver against a real HTTPS server. One browser session walks the whole
//! story (caseworker, partner, administrator with seal, audit log, legal hold and
//! purge, a new user's enrolment, and the casework: details, a note, a hearing on
//! "Coming up" and its calendar file) and saves the screenshots shown in README.md
//! under `docs/screenshots/`.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casevault::auth::{TotpSecret, current_step};
use serde_json::Value;

use crate::helpers::{TestApp, bytes, spawn_app};
use crate::webdriver::{Browser, installed};

/// Where screenshots go: `docs/screenshots/` when `CASEVAULT_SCREENSHOTS=1`
/// (to refresh README's pictures), otherwise a scratch directory, so that a test
/// run leaves the work tree as it was.
pub(crate) fn shots() -> PathBuf {
    if std::env::var_os("CASEVAULT_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        std::env::temp_dir().join("casevault-screenshots")
    }
}

/// Signs in through the form. `code` None leaves the code field empty.
pub(crate) async fn sign_in(
    b: &Browser,
    app: &TestApp,
    user: &str,
    password: &str,
    code: Option<String>,
) {
    b.clear_cookies().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.type_into("#username", user).await;
    b.type_into("#password", password).await;
    if let Some(c) = code {
        b.type_into("#totp", &c).await;
    }
    b.click("form.card button[type=submit]").await;
}

pub(crate) async fn sign_in_ok(b: &Browser, app: &TestApp, user: &str) {
    let pw = app.creds.users[user].password.clone();
    sign_in(b, app, user, &pw, Some(app.code(user))).await;
    assert!(
        !b.url().await.ends_with("/login"),
        "{user} could not sign in: {}",
        b.text().await
    );
}

/// Every form that posts carries the session's CSRF field (or, on the sign-in
/// page, the double-submit one); the page has no inline script or style, one
/// `h1`, a language, a label for every field and AA contrast for all its text.
pub(crate) async fn check_page(b: &Browser) {
    let bad = b
        .js(r#"
        const out = [];
        for (const f of document.querySelectorAll('form')) {
          if ((f.getAttribute('method') || 'get').toLowerCase() !== 'post') continue;
          const t = f.querySelector('input[type=hidden][name=csrf], input[type=hidden][name=login_csrf]');
          if (!t || t.value.length < 20) out.push('no csrf: ' + f.getAttribute('action'));
        }
        for (const s of document.querySelectorAll('script')) if (!s.src) out.push('inline script');
        if (document.querySelector('style, [style]')) out.push('inline style');
        if (document.documentElement.lang !== 'en') out.push('no lang');
        if (document.querySelectorAll('h1').length !== 1) out.push('not one h1');
        for (const i of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
          const ok = (i.id && document.querySelector('label[for="' + i.id + '"]')) || i.closest('label');
          if (!ok) out.push('unlabelled ' + (i.name || i.id));
        }
        // WCAG AA contrast of every visible piece of text against its background.
        const rgb = c => (c.match(/[0-9.]+/g) || []).map(Number);
        const lum = ([r, g, b]) => {
          const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const bg = el => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        let checked = 0;
        while (walker.nextNode()) {
          const n = walker.currentNode, el = n.parentElement;
          if (!n.textContent.trim() || !el || el.closest('.visually-hidden, [hidden], .skip, svg')) continue;
          // Inside a closed <details> only the summary is drawn.
          const shut = el.closest('details:not([open])');
          if (shut && !el.closest('summary')) continue;
          const st = getComputedStyle(el);
          if (st.visibility === 'hidden' || st.display === 'none') continue;
          const a = lum(rgb(st.color)), b2 = lum(bg(el));
          const ratio = (Math.max(a, b2) + 0.05) / (Math.min(a, b2) + 0.05);
          const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
          const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
          checked++;
          if (!(ratio >= need)) out.push('contrast ' + ratio.toFixed(2) + ': ' + n.textContent.trim().slice(0, 30));
        }
        if (checked < 3) out.push('contrast: too little text checked');
        return out;
    "#)
        .await;
    assert_eq!(
        bad,
        Value::Array(vec![]),
        "page problems at {}",
        b.url().await
    );
}

async fn wait_file(dir: &Path, name: &str) -> Vec<u8> {
    let p = dir.join(name);
    let started = Instant::now();
    loop {
        if p.exists()
            && let Ok(b) = std::fs::read(&p)
            && !b.is_empty()
        {
            return b;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "download of {name} did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A calendar file as RFC 5545 has it: CRLF lines of at most 75 octets, one
/// VCALENDAR holding VEVENTs whose every property line is `NAME[;PARAMS]:VALUE`.
fn check_calendar(ics: &str) {
    assert!(ics.ends_with("\r\n"), "{ics}");
    let unfolded = ics.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"), "{ics}");
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"), "{ics}");
    assert!(lines.contains(&"VERSION:2.0"), "{ics}");
    let mut open = 0;
    let mut events = 0;
    for l in &lines {
        assert!(!l.contains('\n') && !l.contains('\r'), "{l:?}");
        let (name, _) = l
            .split_once(':')
            .unwrap_or_else(|| panic!("no value: {l:?}"));
        let name = name.split(';').next().unwrap();
        assert!(
            !name.is_empty() && name.bytes().all(|c| c.is_ascii_uppercase() || c == b'-'),
            "{l:?}"
        );
        match *l {
            "BEGIN:VEVENT" => {
                assert_eq!(open, 0, "nested event");
                open += 1;
                events += 1;
            }
            "END:VEVENT" => open -= 1,
            _ => {}
        }
    }
    assert_eq!(open, 0);
    assert_eq!(events, 1, "{ics}");
    for l in ics.split("\r\n") {
        assert!(l.len() <= 75, "{l:?}");
    }
    for p in [
        "UID:",
        "DTSTAMP:",
        "DTSTART:",
        "SUMMARY:Hearing",
        "LOCATION:Court 3",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(p)), "no {p}: {ics}");
    }
}

/// On the case page: edit the details, add a note and a hearing, then the
/// screenshot of the case page.
async fn casework(b: &Browser, app: &TestApp, case: &str) {
    b.click_stay("#edit-details summary").await;
    b.type_into("#edit-country", "Honduras").await;
    b.click("form[action$='/details'] button[type=submit]")
        .await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=details_saved"), "{t}");
    assert!(
        t.contains("Honduras") && t.contains("Details last changed on"),
        "{t}"
    );
    b.click_stay("details.history summary").await;
    let t = b.text().await;
    assert!(
        t.contains("Country of birth: was “Guatemala”, became “Honduras”"),
        "{t}"
    );
    check_page(b).await;

    b.type_into(
        "#note-text",
        "Client called: new address in Queens, letter to follow.",
    )
    .await;
    b.click("form[action$='/notes'] button[type=submit]").await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=note_added"), "{t}");
    assert!(
        t.contains("new address in Queens") && t.contains("alice"),
        "{t}"
    );

    let date = time::OffsetDateTime::from_unix_timestamp(app.clock.unix() + 6 * 86_400).unwrap();
    let date = format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    b.click_stay("details.add-event summary").await;
    // Date and time fields take their value as a script sets it (what a date picker
    // does); typing into them depends on the browser's locale.
    b.js(&format!(
        "document.querySelector('#event-date').value = '{date}'; \
         document.querySelector('#event-time').value = '09:30'; return null;"
    ))
    .await;
    b.type_into("#event-place", "Court 3, 26 Federal Plaza")
        .await;
    b.type_into("#event-description", "Master calendar hearing")
        .await;
    b.click("details.add-event button[type=submit]").await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=event_added"), "{t}");
    assert!(
        t.contains(&date) && t.contains("at 09:30") && t.contains("Court 3"),
        "{t}"
    );
    check_page(b).await;
    assert!(b.url().await.contains(case));
    b.screenshot(&shots().join("case-page.png")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_walkthrough_of_every_role() {
    if installed().is_none() && std::env::var_os("CASEVAULT_SKIP_BROWSER").is_some() {
        eprintln!("skipped: chromium/chromedriver not installed and CASEVAULT_SKIP_BROWSER set");
        return;
    }
    let app = spawn_app().await;
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let b = Browser::start(&downloads).await;
    let base = app.base.clone();

    // A visitor is sent to sign in.
    b.goto(&format!("{base}/")).await;
    assert!(b.url().await.ends_with("/login"));
    check_page(&b).await;
    b.screenshot(&shots().join("login.png")).await;

    // Keyboard only: the skip link comes first, then the form in reading order,
    // and Enter signs in.
    b.press('\u{E004}').await;
    assert_eq!(b.focused().await, "a.skip");
    b.press('\u{E004}').await;
    assert_eq!(b.focused().await, "a.brand");
    // The language switch ("Español") is in the header too.
    b.press('\u{E004}').await;
    assert_eq!(b.focused().await, "a.lang");
    for field in ["input#username", "input#password", "input#totp", "button"] {
        b.press('\u{E004}').await;
        assert_eq!(b.focused().await, field);
    }

    // A wrong password gives the one message that does not say what was wrong.
    sign_in(
        &b,
        &app,
        "alice",
        "not-the-password",
        Some(app.code("alice")),
    )
    .await;
    let t = b.text().await;
    assert!(t.contains("That did not work"), "{t}");
    assert!(b.url().await.ends_with("/login"));

    // Caseworker alice signs in with her code, by keyboard, and opens a case.
    b.goto(&format!("{base}/login")).await;
    b.type_into("#username", "alice").await;
    b.type_into("#password", &app.creds.users["alice"].password.clone())
        .await;
    b.type_into("#totp", &app.code("alice")).await;
    b.js("window.__cvOldPage = true; return null;").await;
    b.press('\u{E007}').await;
    b.wait_for(
        "return window.__cvOldPage !== true && document.readyState === 'complete';",
        "sign-in by Enter",
    )
    .await;
    assert!(b.url().await.ends_with("/cases"), "{}", b.url().await);
    check_page(&b).await;
    b.type_into("#client_name", "Maria Example").await;
    // The dashed spelling people copy from a notice (13 characters: a field that cut
    // it to 12 saved a wrong, valid number).
    b.type_into("#a_number", "A-087-654-321").await;
    b.type_into("#country_of_birth", "Guatemala").await;
    b.type_into(
        "#notes",
        "Asylum interview on 3 March. Bring the birth certificate.",
    )
    .await;
    b.click("form[action='/cases'][method='post'] button[type=submit]")
        .await;
    let url = b.url().await;
    assert!(
        url.contains("done=case_created"),
        "{url}: {}",
        b.text().await
    );
    let case = url
        .split("/cases/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(b.text().await.contains("Maria Example"));
    assert!(
        b.text().await.contains("A087654321"),
        "the whole A-number was saved: {}",
        b.text().await
    );

    // A second case that will not be shared.
    let api_alice = app.login("alice").await;
    app.create_case(&api_alice, "bronx", "Other Client", None)
        .await;

    // Upload through the page's script (progress bar), then download it.
    let doc = bytes(3 * 1024 * 1024 + 17, 7);
    let file = work.path().join("birth-certificate.pdf");
    std::fs::write(&file, &doc).unwrap();
    b.keys("#file", &file.to_string_lossy()).await;
    b.click_stay("#upload button[type=submit]").await;
    b.wait_for(
        "return location.search.includes('done=uploaded') && document.readyState === 'complete';",
        "the upload to finish",
    )
    .await;
    let t = b.text().await;
    assert!(t.contains("birth-certificate.pdf"), "{t}");
    assert!(t.contains("The document was uploaded"), "{t}");
    check_page(&b).await;
    b.click_stay("a.download").await;
    let got = wait_file(&downloads, "birth-certificate.pdf").await;
    assert!(
        got == doc,
        "the downloaded document differs from the uploaded one"
    );

    // Share with partner pat (alice's sign-in code is fresh: no code asked).
    b.type_into("#share-with", "pat").await;
    b.click("form[action$='/shares'] button[type=submit]").await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=shared"), "{t}");
    assert!(t.contains("pat") && t.contains("Active"), "{t}");
    check_page(&b).await;
    b.screenshot(&shots().join("case.png")).await;

    // Casework: correct the details, add a note and a hearing.
    casework(&b, &app, &case).await;

    // The hearing is on "Coming up", and the calendar download parses.
    b.click("header a[href='/upcoming']").await;
    let t = b.text().await;
    assert!(
        t.contains("Coming up") && t.contains("Maria Example") && t.contains("Court 3"),
        "{t}"
    );
    assert!(t.contains("Do not import it into a cloud calendar"), "{t}");
    check_page(&b).await;
    b.screenshot(&shots().join("coming-up.png")).await;
    b.click_stay("a[href='/upcoming.ics']").await;
    let ics = String::from_utf8(wait_file(&downloads, "casevault-coming-up.ics").await).unwrap();
    check_calendar(&ics);
    assert!(
        !ics.contains("Maria"),
        "the minimal calendar names no client: {ics}"
    );
    b.goto(&format!("{base}/cases/{case}")).await;

    // Search by A-number: the box posts, so the URL never carries the term.
    b.goto(&format!("{base}/cases")).await;
    b.type_into("#search", "A 087 654 321").await;
    b.click("form.search button[type=submit]").await;
    assert!(!b.url().await.contains("087654321"));
    let t = b.text().await;
    assert!(
        t.contains("Maria Example") && !t.contains("Other Client"),
        "{t}"
    );
    // The same box finds a client by name, ignoring case and spacing.
    b.type_into("#search", "maria  EXAMPLE").await;
    b.click("form.search button[type=submit]").await;
    let t = b.text().await;
    assert!(
        t.contains("Maria Example") && !t.contains("Other Client"),
        "{t}"
    );
    b.goto(&format!("{base}/cases")).await;
    assert!(b.text().await.contains("Other Client"));
    b.screenshot(&shots().join("cases.png")).await;

    // The same list on a phone.
    b.phone(Some((390, 844))).await;
    b.goto(&format!("{base}/cases")).await;
    let overflow = b
        .js("return window.innerWidth <= 400 && document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(
        overflow,
        Value::Bool(true),
        "the page scrolls sideways on a phone"
    );
    b.screenshot(&shots().join("cases-phone.png")).await;
    b.phone(None).await;

    // Sign out.
    b.click("header form[action='/logout'] button").await;
    assert!(b.url().await.contains("/login?done=signed_out"));

    // Partner pat sees only the shared case, with the share's end date.
    sign_in_ok(&b, &app, "pat").await;
    let t = b.text().await;
    assert!(t.contains("Cases shared with you"), "{t}");
    assert!(
        t.contains("Maria Example") && !t.contains("Other Client"),
        "{t}"
    );
    assert!(t.contains("Shared until"), "{t}");
    assert_eq!(b.find_all("tbody tr").await.len(), 1);
    check_page(&b).await;
    b.screenshot(&shots().join("partner.png")).await;
    b.click("tbody a").await;
    let t = b.text().await;
    assert!(
        t.contains("birth-certificate.pdf") && t.contains("Shared with you"),
        "{t}"
    );
    assert!(!t.contains("Share this case"), "{t}");

    // Administrator seals bronx.
    sign_in_ok(&b, &app, "admin").await;
    assert!(b.url().await.ends_with("/admin"));
    check_page(&b).await;
    b.screenshot(&shots().join("admin.png")).await;
    b.click("form[action='/admin/offices/bronx/seal'] button")
        .await;
    assert!(b.text().await.contains("The office is sealed"));

    // Alice now sees the sealed state, and the case page explains it.
    sign_in_ok(&b, &app, "alice").await;
    let t = b.text().await;
    assert!(t.contains("The bronx office is sealed"), "{t}");
    assert!(
        !t.contains("Maria Example"),
        "a sealed office shows no client names: {t}"
    );
    b.screenshot(&shots().join("cases-sealed.png")).await;
    b.goto(&format!("{base}/cases/{case}")).await;
    let t = b.text().await;
    assert!(
        t.contains("This office is sealed") && t.contains("key holder of the bronx office"),
        "{t}"
    );
    b.screenshot(&shots().join("sealed.png")).await;

    // Administrator unseals with the passphrase and a fresh code.
    sign_in_ok(&b, &app, "admin").await;
    b.type_into(
        "#pass-bronx",
        &app.creds.offices["bronx"].passphrase.clone(),
    )
    .await;
    b.type_into("#code-bronx", &app.code("admin")).await;
    b.click("form[action='/admin/offices/bronx/unseal'] button[type=submit]")
        .await;
    let t = b.text().await;
    assert!(t.contains("The office is unsealed"), "{t}");

    // The audit log, filtered by the case: alice's reads and pat's read are there.
    b.click("header a[href='/audit']").await;
    b.type_into("#id", &case).await;
    b.click("form.filters button[type=submit]").await;
    let t = b.text().await;
    assert!(
        t.contains(&format!("alice opened case {}", &case[..8]))
            && t.contains(&format!("pat opened case {}", &case[..8]))
            && t.contains(&format!("opened a document of case {}", &case[..8])),
        "{t}"
    );
    assert!(t.contains("alice") && t.contains("pat"), "{t}");
    assert!(
        !t.contains("Maria Example"),
        "the log never names clients: {t}"
    );
    check_page(&b).await;
    b.screenshot(&shots().join("audit.png")).await;

    // The administrator's case list: ids, dates, holds and counts, no client names.
    b.click("header a[href='/admin/cases']").await;
    check_page(&b).await;
    let t = b.text().await;
    assert!(t.contains(&case), "{t}");
    assert!(
        !t.contains("Maria Example") && !t.contains("Other Client"),
        "an administrator's case list names clients: {t}"
    );
    // A legal hold (the sign-in code is still fresh: no code asked).
    b.click_stay(&format!("#case-{case} summary")).await;
    b.type_into(&format!("#reason-{case}"), "Subpoena 24-117")
        .await;
    b.click(&format!(
        "form[action='/admin/cases/{case}/hold'] button[type=submit]"
    ))
    .await;
    let t = b.text().await;
    assert!(t.contains("The legal hold is in place"), "{t}");
    check_page(&b).await;
    b.screenshot(&shots().join("admin-cases.png")).await;

    // Purge is refused while the hold lasts: a notice, no button, nothing deleted.
    b.click(&format!("#case-{case} a[href$='/purge']")).await;
    let t = b.text().await;
    assert!(
        t.contains("This case is under a legal hold; lift the hold first."),
        "{t}"
    );
    assert!(b.find_all("button.danger").await.is_empty(), "{t}");
    check_page(&b).await;

    // Lift it, then purge with a fresh code.
    b.click("p.crumbs a").await;
    b.click(&format!(
        "form[action='/admin/cases/{case}/lift'] button[type=submit]"
    ))
    .await;
    let t = b.text().await;
    assert!(t.contains("The legal hold is lifted"), "{t}");
    b.click(&format!("#case-{case} a[href$='/purge']")).await;
    let t = b.text().await;
    assert!(
        t.contains("Delete this case permanently?")
            && t.contains("This cannot be undone.")
            && t.contains(&case)
            && t.contains("bronx"),
        "{t}"
    );
    assert!(!t.contains("Maria Example"), "{t}");
    check_page(&b).await;
    b.screenshot(&shots().join("purge-confirm.png")).await;
    b.type_into("#purge-code", &app.code("admin")).await;
    b.click("form[action$='/purge'] button.danger").await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=purged"), "{t}");
    assert!(
        t.contains("permanently deleted") && !t.contains(&case),
        "{t}"
    );

    // For alice the case is gone: a helpful 404, and not in her list.
    sign_in_ok(&b, &app, "alice").await;
    let t = b.text().await;
    assert!(
        !t.contains("Maria Example") && t.contains("Other Client"),
        "{t}"
    );
    b.goto(&format!("{base}/cases/{case}")).await;
    let t = b.text().await;
    assert!(t.contains("Not found") && t.contains("deleted"), "{t}");
    check_page(&b).await;

    // Alice closes her other case: the page says so, and when it will be deleted.
    b.goto(&format!("{base}/cases")).await;
    b.click("tbody a").await;
    assert!(b.text().await.contains("Other Client"));
    b.click("form[action$='/close'] button[type=submit]").await;
    // Closing asks first, naming the date retention will delete it.
    let t = b.text().await;
    assert!(
        t.contains("cannot be reopened") && t.contains("days from today"),
        "{t}"
    );
    check_page(&b).await;
    b.screenshot(&shots().join("close-confirm.png")).await;
    b.click("form[action$='/close'] button.danger").await;
    let t = b.text().await;
    assert!(b.url().await.contains("done=closed"), "{t}");
    assert!(
        t.contains("The case is closed") && t.contains("It will be deleted automatically on"),
        "{t}"
    );
    assert!(b.find_all("form[action$='/close']").await.is_empty());
    check_page(&b).await;
    b.goto(&format!("{base}/cases")).await;
    assert!(b.text().await.contains("Closed"));
    sign_in_ok(&b, &app, "admin").await;

    // A new caseworker; at first sign-in they must set up their authenticator.
    b.click("header a[href='/admin/users']").await;
    b.type_into("#username", "carol").await;
    b.type_into("#new-password", "maple river lantern 47").await;
    b.click("form[action='/admin/users'] button[type=submit]")
        .await;
    let t = b.text().await;
    assert!(
        t.contains("The account was created") && t.contains("carol"),
        "{t}"
    );
    check_page(&b).await;
    b.screenshot(&shots().join("users.png")).await;

    sign_in(&b, &app, "carol", "maple river lantern 47", None).await;
    assert!(b.url().await.ends_with("/enrol"), "{}", b.text().await);
    check_page(&b).await;
    assert!(!b.find_all(".qr svg").await.is_empty());
    b.screenshot(&shots().join("enrol.png")).await;
    let secret = b
        .js("return document.querySelector('code.secret').textContent;")
        .await;
    let secret = secret.as_str().unwrap().replace(' ', "");
    app.clock.advance(30);
    let code = TotpSecret::from_base32(&secret)
        .unwrap()
        .code_at(current_step(app.clock.unix()));
    b.type_into("#totp", &code).await;
    b.click("form[action='/enrol'] button[type=submit]").await;
    let t = b.text().await;
    assert!(t.contains("Save your recovery codes"), "{t}");
    assert_eq!(b.find_all("ul.codes li").await.len(), 10);
    b.screenshot(&shots().join("recovery-codes.png")).await;
    b.click("a.button").await;
    assert!(b.url().await.ends_with("/cases"));

    b.quit().await;
}
