//! A day in the office (issue 24), pages: closing a case asks first, errors in words
//! with nothing typed lost, the top menu on error pages, the audit log in sentences
//! (newest first), the office's time zone, and offices made on the web.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_error, spawn_app};
use crate::pagekit::{get_page as get, page_sign_in as sign_in, post_form as post};

#[tokio::test]
async fn closing_a_case_asks_first_and_names_the_deletion_date() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Lena Closing", None).await;
    let web = sign_in(&app, "alice").await;
    let url = format!("{}/cases/{case}", app.base);
    let (_, _, page) = get(&web, &url).await;
    let close = format!("{url}/close");
    let (s, _, ask) = post(&web, &page, &close, &[]).await;
    assert_eq!(s, StatusCode::OK, "{ask}");
    assert!(
        ask.contains("cannot be reopened") && ask.contains("Yes, close this case"),
        "{ask}"
    );
    // The date retention will delete it, in words.
    let days = app.settings.retention.closed_case_days;
    let t = time::OffsetDateTime::from_unix_timestamp(app.clock.unix()).unwrap()
        + time::Duration::days(i64::from(days));
    let words = format!("{} {} {}", t.day(), t.month(), t.year());
    assert!(ask.contains(&words), "{words} in {ask}");
    let v: Value = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "open", "asking changed nothing");
    let (s, to, _) = post(&web, &ask, &close, &[("confirm", "yes")]).await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/cases/{case}?done=closed").as_str()
        )
    );
    let v: Value = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "closed");
    // Another office's caseworker gets "Not found", not the question.
    let bob = sign_in(&app, "bob").await;
    let (_, _, page) = get(&bob, &format!("{}/cases", app.base)).await;
    let (s, _, _) = post(&bob, &page, &close, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_are_in_words_and_nothing_typed_is_lost() {
    let app = spawn_app().await;
    let web = sign_in(&app, "alice").await;
    let (_, _, page) = get(&web, &format!("{}/cases", app.base)).await;
    let (s, _, out) = post(
        &web,
        &page,
        &format!("{}/cases", app.base),
        &[
            ("client_name", "   "),
            ("a_number", "A-012-345-678"),
            ("country_of_birth", "Guatemala"),
            ("notes", "came in on Tuesday"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        out.contains("Client&#39;s name is required") || out.contains("Client's name is required"),
        "{out}"
    );
    assert!(!out.contains("client_name is"), "{out}");
    assert!(
        out.contains("value=\"Guatemala\"") && out.contains("value=\"A-012-345-678\""),
        "{out}"
    );
    assert!(out.contains("came in on Tuesday"), "{out}");

    // A duplicate account or office names what exists.
    let admin = app.login("admin").await;
    let r = admin
        .post(app.url("/users"))
        .json(&json!({"username": "alice", "role": "caseworker", "office": "bronx", "password": "another long password"}))
        .send()
        .await
        .unwrap();
    let v = assert_error(r, StatusCode::CONFLICT, "exists").await;
    assert!(v.to_string().contains("alice already exists"), "{v}");
    let root = app.login("root").await;
    let r = root
        .post(app.url("/offices"))
        .json(&json!({"slug": "bronx"}))
        .send()
        .await
        .unwrap();
    let v = assert_error(r, StatusCode::CONFLICT, "exists").await;
    assert!(v.to_string().contains("bronx already exists"), "{v}");

    // The 404 and "office sealed" pages keep the top menu.
    let (s, _, page) = get(&web, &format!("{}/no-such-page", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        page.contains("Sign out") && page.contains("href=\"/cases\""),
        "{page}"
    );
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Sealed Page", None).await;
    app.seal("bronx").await;
    let (s, _, page) = get(&web, &format!("{}/cases/{case}", app.base)).await;
    assert_eq!(s, StatusCode::LOCKED, "{page}");
    assert!(
        page.contains("This office is sealed") && page.contains("Sign out"),
        "{page}"
    );
    // Without a session the same page has no menu.
    let anon = crate::pagekit::page_client(&app);
    let (_, _, page) = get(&anon, &format!("{}/no-such-page", app.base)).await;
    assert!(!page.contains("Sign out"), "{page}");
}

#[tokio::test]
async fn the_audit_log_reads_as_sentences_newest_first() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app
        .create_case(&api, "bronx", "Audit Sentences", None)
        .await;
    let r = api
        .post(app.url(&format!("/cases/{case}/notes")))
        .json(&json!({"text": "called the client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.seal("bronx").await;
    let r = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::LOCKED);

    let admin = sign_in(&app, "admin").await;
    let (s, _, page) = get(&admin, &format!("{}/audit", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    let short = &case[..8];
    let note = format!("alice added a note to case {short}");
    assert!(page.contains(&note), "{page}");
    let sealed = format!("alice tried opening case {short}…, but the office was sealed");
    assert!(page.contains(&sealed), "{page}");
    // Newest first: the sealed read comes before the note on the page.
    assert!(
        page.find(&sealed).unwrap() < page.find(&note).unwrap(),
        "newest first"
    );
    assert!(!page.contains("Audit Sentences") && !page.contains("called the client"));

    // The coalition operator is not told to ask their office administrator.
    let root = sign_in(&app, "root").await;
    let (_, _, page) = get(&root, &format!("{}/audit", app.base)).await;
    assert!(
        page.contains("coalition operator") && page.contains("auditor"),
        "{page}"
    );
    assert!(!page.contains("ask your office administrator"), "{page}");
}

#[tokio::test]
async fn pages_show_times_in_the_office_time_zone() {
    let app = spawn_app().await;
    let admin = app.login("admin").await;
    let url = app.url("/offices/bronx/time-zone");
    let r = admin
        .post(&url)
        .json(&json!({"time_zone": "Mars/Olympus"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_time_zone").await;
    let alice = app.login("alice").await;
    let r = alice
        .post(&url)
        .json(&json!({"time_zone": "America/Chicago"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let bob_admin = app.login("admin").await;
    let r = bob_admin
        .post(app.url("/offices/queens/time-zone"))
        .json(&json!({"time_zone": "America/Chicago"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "another office's");

    let case = app.create_case(&alice, "bronx", "Zoned Client", None).await;
    let web = sign_in(&app, "alice").await;
    let page_url = format!("{}/cases/{case}", app.base);
    let (_, _, before) = get(&web, &page_url).await;
    assert!(before.contains("Times are shown in UTC time"), "{before}");
    let r = admin
        .post(&url)
        .json(&json!({"time_zone": "America/Chicago"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = alice
        .post(app.url(&format!("/cases/{case}/notes")))
        .json(&json!({"text": "a note with a time"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, _, page) = get(&web, &page_url).await;
    assert!(
        page.contains("Times are shown in America/Chicago time"),
        "{page}"
    );
    // The note's time, in Chicago (CST or CDT), to the minute.
    let now = time::OffsetDateTime::from_unix_timestamp(app.clock.unix()).unwrap();
    let chicago: jiff::Zoned = jiff::Timestamp::from_second(app.clock.unix())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap());
    let shown = chicago.strftime("%-d %B %Y, %H:%M %Z").to_string();
    assert!(page.contains(&shown), "{shown} in {page}");
    assert_ne!(
        chicago.hour(),
        i8::try_from(now.hour()).unwrap(),
        "the zone changed the hour"
    );
    // What is stored stays UTC.
    let v: Value = alice
        .get(app.url(&format!("/cases/{case}/notes")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t = v["notes"][0]["created_at"].as_str().unwrap();
    assert!(t.ends_with('Z'), "{t}");
}

#[tokio::test]
async fn the_coalition_operator_creates_an_office_on_the_web() {
    let app = spawn_app().await;
    let root = sign_in(&app, "root").await;
    let (_, _, page) = get(&root, &format!("{}/admin", app.base)).await;
    assert!(page.contains("Add an office"), "{page}");
    let url = format!("{}/admin/offices", app.base);
    let (s, _, out) = post(
        &root,
        &page,
        &url,
        &[("slug", "el-paso"), ("time_zone", "America/Denver")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert!(out.contains("It is shown only this once"), "{out}");
    let at = out.find("<code class=\"secret\">").unwrap() + 21;
    let pass = &out[at..at + out[at..].find('<').unwrap()];
    assert_eq!(pass.len(), 29, "{pass}");
    // The office exists, sealed; its passphrase opens it (the key file in the
    // database), and the time zone was kept.
    let api = app.login("root").await;
    let v: Value = api
        .get(app.url("/offices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.to_string().contains("el-paso"), "{v}");
    crate::helpers::office_key_from_db(app.data(), "el-paso", pass);
    let (_, _, page) = get(&root, &format!("{}/admin", app.base)).await;
    let (s, _, out) = post(
        &root,
        &page,
        &url,
        &[("slug", "el-paso"), ("time_zone", "UTC")],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{out}");
    assert!(out.contains("office named el-paso already exists"), "{out}");
    let (s, _, out) = post(
        &root,
        &page,
        &url,
        &[("slug", "tucson"), ("time_zone", "Mars/Base")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");
    let v: Value = api
        .get(app.url("/offices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !v.to_string().contains("tucson"),
        "a refused office is not made: {v}"
    );
}
