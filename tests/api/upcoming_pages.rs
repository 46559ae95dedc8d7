//! Hearings and documents over plain HTTPS (no browser): a hearing on the case page
//! and on "Coming up", the calendar download (minimal and with names), a sealed
//! office named, renaming a document and its uploader's delete within the window.
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_settings};
use crate::pagekit::{get_page as get, page_client, page_sign_in as sign_in, post_form as post};

/// A day `days` after the test clock's today, `YYYY-MM-DD`.
fn day_after(app: &TestApp, days: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(app.clock.unix() + days * 86_400).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test]
async fn hearings_show_on_the_case_and_coming_up_and_download_as_a_calendar() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Hearing Client", None).await;
    let url = format!("{}/cases/{case}", app.base);
    let (_, _, page) = get(&alice, &url).await;
    assert!(page.contains("No hearings or deadlines yet."), "{page}");
    let (d1, d2) = (day_after(&app, 5), day_after(&app, 9));
    let events = format!("{url}/events");
    let (s, to, _) = post(
        &alice,
        &page,
        &events,
        &[
            ("kind", "hearing"),
            ("date", &d1),
            ("time", "09:30:00"),
            ("place", "Court 3, 26 Federal Plaza"),
            ("description", "Master calendar"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.contains("done=event_added"), "{to}");
    let (_, _, page) = get(&alice, &url).await;
    assert!(
        page.contains(&d1)
            && page.contains("at 09:30")
            && page.contains("Court 3, 26 Federal Plaza"),
        "{page}"
    );
    // Change it: the old one stays, shown as moved.
    let list: Value = api
        .get(app.url(&format!("/cases/{case}/events")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["events"][0]["id"].as_str().unwrap().to_string();
    let (s, to, _) = post(
        &alice,
        &page,
        &events,
        &[
            ("kind", "hearing"),
            ("date", &d2),
            ("time", "10:00"),
            ("place", "Court 5"),
            ("description", ""),
            ("replaces", &id),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=event_changed"), "{to}");
    let (_, _, page) = get(&alice, &url).await;
    assert!(
        page.contains("Moved") && page.contains("Replaced: now on <a href=\"#event-"),
        "{page}"
    );
    let (s, _, body) = post(&alice, &page, &events, &[("kind", "party"), ("date", &d1)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("Choose what it is"), "{body}");
    let (s, _, body) = post(
        &alice,
        &page,
        &events,
        &[("kind", "deadline"), ("date", "soon")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("The date must be a full date."), "{body}");

    // Coming up: the current date only, with the client's name linking to the case.
    let (s, _, up) = get(&alice, &format!("{}/upcoming", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(up.contains("href=\"/upcoming\""), "the nav links it");
    assert!(
        up.contains(&format!("id=\"day-{d2}\"")) && !up.contains(&format!("id=\"day-{d1}\"")),
        "{up}"
    );
    assert!(
        up.contains(&format!("href=\"/cases/{case}#events\">Hearing Client</a>")),
        "{up}"
    );
    assert!(
        up.contains("10:00") && up.contains("Hearing") && up.contains("Court 5"),
        "{up}"
    );
    assert!(
        up.contains("href=\"/upcoming.ics\"") && up.contains("href=\"/upcoming.ics?detail=full\"")
    );
    assert!(
        up.contains("Do not import it into a cloud calendar"),
        "{up}"
    );

    // The calendar: minimal has no client name, full has it.
    let r = alice
        .get(format!("{}/upcoming.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"casevault-coming-up.ics\""
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let minimal = r.text().await.unwrap();
    let lines: Vec<&str> = minimal.split("\r\n").collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"), "{minimal}");
    assert!(minimal.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(
        lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(),
        1,
        "the moved one is left out: {minimal}"
    );
    let compact = d2.replace('-', "");
    assert!(
        lines.contains(&format!("DTSTART:{compact}T100000").as_str()),
        "{minimal}"
    );
    assert!(lines.contains(&"LOCATION:Court 5"), "{minimal}");
    // No link back: the vault's address is not the client's to choose, nor the
    // calendar service's to learn.
    assert!(!lines.iter().any(|l| l.starts_with("URL:")), "{minimal}");
    assert!(
        !minimal.contains("Hearing Client"),
        "minimal names no client: {minimal}"
    );
    let full = alice
        .get(format!("{}/upcoming.ics?detail=full", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(full.contains("SUMMARY:Hearing: Hearing Client"), "{full}");
    // The audit log tells which kind of file left the vault.
    let targets: Vec<String> = crate::lifecycle_helpers::audit_rows(&app)
        .into_iter()
        .filter(|r| r.action == "list_upcoming" && r.decision == "allow")
        .map(|r| r.target)
        .collect();
    assert!(targets.iter().any(|t| t == "upcoming ics"), "{targets:?}");
    assert!(
        targets.iter().any(|t| t == "upcoming ics full"),
        "{targets:?}"
    );
    for bad in ["detail=everything", "detail=full&x=1", "days=3"] {
        let r = alice
            .get(format!("{}/upcoming.ics?{bad}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let r = page_client(&app)
        .get(format!("{}/upcoming.ics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed out: no calendar");
    assert_eq!(r.headers()["location"], "/login");

    // A sealed office is named, not guessed at.
    app.seal("bronx").await;
    let (s, _, up) = get(&alice, &format!("{}/upcoming", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(up.contains("Office bronx is sealed: </strong>its hearings cannot be shown until an administrator unseals it"), "{up}");
    assert!(!up.contains("Hearing Client"), "{up}");
}

#[tokio::test]
async fn a_document_is_renamed_and_its_uploader_deletes_it_only_within_the_window() {
    let mut settings = test_settings();
    settings.seal.idle_minutes = 0;
    let app = spawn_app_with(settings).await;
    // bob is not a supervisor: he may delete only his own recent uploads.
    let bob = sign_in(&app, "bob").await;
    let api = app.login("bob").await;
    let case = app.create_case(&api, "queens", "Upload Client", None).await;
    let doc = app
        .upload_ok(&api, &case, "wrong-client.pdf", vec![7; 1000])
        .await;
    let url = format!("{}/cases/{case}", app.base);
    let (_, _, page) = get(&bob, &url).await;
    let base = format!("{url}/documents/{doc}");
    assert!(
        page.contains(&format!("action=\"/cases/{case}/documents/{doc}/rename\"")),
        "{page}"
    );
    assert!(
        page.contains("Delete (wrong upload)") && page.contains("cannot be undone"),
        "{page}"
    );

    let (s, to, _) = post(
        &bob,
        &page,
        &format!("{base}/rename"),
        &[("filename", "passport-scan.pdf")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=renamed"), "{to}");
    let (_, _, page) = get(&bob, &url).await;
    assert!(
        page.contains("passport-scan.pdf") && !page.contains("wrong-client.pdf"),
        "{page}"
    );
    let (s, _, body) = post(
        &bob,
        &page,
        &format!("{base}/rename"),
        &[("filename", "a/b")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("A document name must be"), "{body}");

    // Deleting asks for a code, always.
    let (s, _, body) = post(&bob, &page, &format!("{base}/purge"), &[("totp", "")]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Enter the 6-digit code"), "{body}");
    let code = app.code("bob");
    let (s, to, _) = post(&bob, &page, &format!("{base}/purge"), &[("totp", &code)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=document_deleted"), "{to}");
    let (_, _, page) = get(&bob, &format!("{}{to}", app.base)).await;
    assert!(
        page.contains("permanently deleted") && !page.contains("passport-scan.pdf"),
        "{page}"
    );
    let r = api
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A day later his upload is no longer his to delete.
    let late = app.upload_ok(&api, &case, "late.pdf", vec![8; 1000]).await;
    app.clock.advance(25 * 3600);
    let bob = sign_in(&app, "bob").await;
    let (_, _, page) = get(&bob, &url).await;
    assert!(
        page.contains("late.pdf") && !page.contains("Delete (wrong upload)"),
        "{page}"
    );
    let code = app.code("bob");
    let (s, _, _) = post(
        &bob,
        &page,
        &format!("{url}/documents/{late}/purge"),
        &[("totp", &code)],
    )
    .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (_, _, page) = get(&bob, &url).await;
    assert!(page.contains("late.pdf"), "still there");
}
