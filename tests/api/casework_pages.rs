//! The casework parts of the case page over plain HTTPS (no browser): editing a
//! client's details with their history and the conflict message, notes and their
//! corrections (and who sees them), and forged casework posts refused.
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::pagekit::{get_page as get, hidden, page_sign_in as sign_in, post_form as post};

/// The value of `name="version"`.
fn version(html: &str) -> String {
    hidden(html, "version").expect("the edit form names its version")
}

#[tokio::test]
async fn details_are_edited_with_history_and_a_stale_form_is_told_not_lost() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app
        .create_case(&api, "bronx", "Maria Exmple", Some("A11112222"))
        .await;
    let url = format!("{}/cases/{case}", app.base);
    let (_, _, page) = get(&alice, &url).await;
    assert!(
        page.contains("Edit details") && page.contains("value=\"Maria Exmple\""),
        "{page}"
    );
    assert_eq!(version(&page), "1");
    assert!(!page.contains("Details last changed"), "never edited yet");

    let edit = format!("{url}/details");
    let fields = |name: &'static str, a: &'static str, v: &'static str| {
        vec![
            ("client_name", name),
            ("a_number", a),
            ("date_of_birth", "1990-04-01"),
            ("country_of_birth", "Guatemala"),
            ("notes", "moved to Queens"),
            ("version", v),
        ]
    };
    let (s, to, _) = post(
        &alice,
        &page,
        &edit,
        &fields("Maria Example", "A33334444", "1"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=details_saved"), "{to}");
    let (_, _, page2) = get(&alice, &format!("{}{to}", app.base)).await;
    assert!(page2.contains("The details were saved"), "{page2}");
    assert!(
        page2.contains("A033334444"),
        "the new A-number is shown: {page2}"
    );
    assert!(
        page2.contains("Details last changed on") && page2.contains("by <strong>alice</strong>")
    );
    assert!(
        page2.contains("History of these details (1 earlier version)"),
        "{page2}"
    );
    assert!(
        page2.contains("Client’s full name: was “Maria Exmple”, became “Maria Example”"),
        "{page2}"
    );
    assert!(
        page2.contains("A-number: was “A011112222”, became “A033334444”"),
        "{page2}"
    );
    assert_eq!(version(&page2), "2");
    // Search follows the edit: the new A-number is found, the old one no longer.
    for (a, n) in [("A33334444", 1), ("A11112222", 0)] {
        let r = api
            .get(app.url("/cases"))
            .query(&[("a_number", a)])
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["cases"].as_array().unwrap().len(), n, "{a}: {v}");
    }

    // A second editor still holding the first page (version 1) is told, not overwritten.
    let (s, _, body) = post(&alice, &page, &edit, &fields("Maria Typo", "", "1")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        body.contains("Someone else changed these details while you were editing; nothing was saved. Here is the current version"),
        "{body}"
    );
    assert!(
        body.contains("What you typed (not saved)") && body.contains("Maria Typo"),
        "{body}"
    );
    assert!(
        body.contains("value=\"Maria Example\""),
        "the form shows the current details"
    );
    assert_eq!(
        version(&body),
        "2",
        "the form now names the current version"
    );
    let v: Value = api
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["metadata"]["client_name"], "Maria Example");
    assert_eq!(v["version"], 2);

    // The same details again change nothing; a bad A-number keeps what was typed.
    let (s, to, _) = post(
        &alice,
        &page2,
        &edit,
        &fields("Maria Example", "A33334444", "2"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=details_unchanged"), "{to}");
    let (s, _, body) = post(&alice, &page2, &edit, &fields("Maria Example", "A12", "2")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("An A-number has 8 or 9 digits"), "{body}");
    assert!(
        body.contains("value=\"A12\""),
        "the typed value is kept: {body}"
    );
    let (s, _, _) = post(
        &alice,
        &page2,
        &edit,
        &[("client_name", "X"), ("version", "two")],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn notes_are_added_and_corrected_and_a_partner_sees_them_only_with_the_flag() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Notes Client", None).await;
    let url = format!("{}/cases/{case}", app.base);
    let (_, _, page) = get(&alice, &url).await;
    assert!(page.contains("No notes yet."), "{page}");
    let notes = format!("{url}/notes");
    let (s, to, _) = post(
        &alice,
        &page,
        &notes,
        &[("text", "Called the client: hearing letter arrived.")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=note_added"), "{to}");
    app.clock.advance(60);
    let (s, _, _) = post(
        &alice,
        &page,
        &notes,
        &[("text", "Second note, line one\r\nline two")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, page) = get(&alice, &url).await;
    let first = page.find("Called the client").unwrap();
    let second = page.find("Second note").unwrap();
    assert!(second < first, "newest first");
    assert!(
        page.contains("line one\nline two"),
        "line breaks kept: {page}"
    );
    assert!(page.contains("— alice"), "signed with the author: {page}");

    // Correct the first note: the original stays, marked, with its correction.
    let list: Value = api
        .get(app.url(&format!("/cases/{case}/notes")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["notes"][1]["id"].as_str().unwrap().to_string();
    assert!(
        page.contains(&format!("name=\"corrects\" value=\"{id}\"")),
        "a Correct form"
    );
    let (s, to, _) = post(
        &alice,
        &page,
        &notes,
        &[
            (
                "text",
                "Called the client: the hearing letter has NOT arrived.",
            ),
            ("corrects", &id),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("done=note_corrected"), "{to}");
    let (_, _, page) = get(&alice, &format!("{}{to}", app.base)).await;
    assert!(page.contains("The correction was added"), "{page}");
    let at = page.find(&format!("id=\"note-{id}\"")).unwrap();
    let item = &page[at..at + page[at..].find("</li>").unwrap()];
    assert!(
        item.contains("Corrected")
            && item.contains("It now reads:")
            && item.contains("has NOT arrived"),
        "{item}"
    );
    assert!(
        !item.contains(&format!("value=\"{id}\"")),
        "a corrected note offers no second Correct"
    );

    // Refusals in plain words.
    let (s, _, body) = post(&alice, &page, &notes, &[("text", "  ")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("The note is needed."), "{body}");
    let (s, _, body) = post(
        &alice,
        &page,
        &notes,
        &[
            ("text", "x"),
            ("corrects", "00000000-0000-4000-8000-000000000000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("That note is no longer on this case."),
        "{body}"
    );

    // A partner without the notes flag sees no notes section at all; with it, the
    // notes but no form to add one.
    let share = |notes: bool| json!({"username": "pat", "permission": "read", "expires_at": "2027-06-01T00:00:00Z", "notes": notes});
    let r = api
        .post(app.url(&format!("/cases/{case}/shares")))
        .json(&share(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let pat = sign_in(&app, "pat").await;
    let (s, _, body) = get(&pat, &url).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Notes Client"), "{body}");
    for hidden_part in [
        "Case notes",
        "Called the client",
        "Hearings and deadlines",
        "Edit details",
    ] {
        assert!(
            !body.contains(hidden_part),
            "partner without notes sees {hidden_part}"
        );
    }
    let other = app
        .create_case(&api, "bronx", "Shared With Notes", None)
        .await;
    let r = api
        .post(app.url(&format!("/cases/{other}/notes")))
        .json(&json!({"text": "visible to pat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = api
        .post(app.url(&format!("/cases/{other}/shares")))
        .json(&share(true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, _, body) = get(&pat, &format!("{}/cases/{other}", app.base)).await;
    assert!(
        body.contains("Case notes") && body.contains("visible to pat"),
        "{body}"
    );
    assert!(
        !body.contains("name=\"text\"") && !body.contains("Edit details"),
        "{body}"
    );
    // The share form offers the flag, and the share list shows it.
    let (_, _, page) = get(&alice, &format!("{}/cases/{other}", app.base)).await;
    assert!(
        page.contains("name=\"notes\" value=\"yes\"") && page.contains("also notes and hearings"),
        "{page}"
    );
}

#[tokio::test]
async fn casework_posts_without_the_token_are_refused() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Forged Client", None).await;
    let doc = app.upload_ok(&api, &case, "keep.pdf", vec![1; 100]).await;
    let u = |p: &str| format!("{}/cases/{case}{p}", app.base);
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            u("/details"),
            vec![("client_name", "Forged Name"), ("version", "1")],
        ),
        (u("/notes"), vec![("text", "forged note")]),
        (
            u("/events"),
            vec![("kind", "hearing"), ("date", "2030-01-01")],
        ),
        (
            u(&format!("/documents/{doc}/rename")),
            vec![("filename", "forged.pdf")],
        ),
        (
            u(&format!("/documents/{doc}/purge")),
            vec![("totp", "123456")],
        ),
    ];
    for (url, form) in posts {
        for token in [None, Some("not-the-token-aaaaaaaaaaaaaaaaaaaaaaaa")] {
            let mut f = form.clone();
            if let Some(t) = token {
                f.push(("csrf", t));
            }
            let r = alice.post(&url).form(&f).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
            assert!(
                r.text().await.unwrap().contains("This form has expired"),
                "{url}"
            );
        }
    }
    let (_, _, page) = get(&alice, &u("")).await;
    assert!(
        page.contains("Forged Client") && page.contains("keep.pdf"),
        "{page}"
    );
    for forged in ["Forged Name", "forged note", "2030-01-01", "forged.pdf"] {
        assert!(!page.contains(forged), "a forged post changed {forged}");
    }
}
