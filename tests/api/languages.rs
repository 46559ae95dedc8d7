//! The pages in English and Spanish (issue 25, the frame so far): the language follows
//! the browser's `Accept-Language`, the switch on every page overrides it (remembered
//! in the browser, and in the account of someone signed in), and no page shows a raw
//! message id.
use reqwest::StatusCode;

use crate::helpers::spawn_app;
use crate::pagekit::{page_client, page_sign_in as sign_in};

async fn get_lang(c: &reqwest::Client, url: &str, accept: &str) -> (StatusCode, String, String) {
    let r = c
        .get(url)
        .header("accept-language", accept)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, to, r.text().await.unwrap())
}

#[tokio::test]
async fn pages_follow_accept_language_and_the_switch() {
    let app = spawn_app().await;
    let c = page_client(&app);
    let login = format!("{}/login", app.base);
    let (_, _, es) = get_lang(&c, &login, "es-MX,es;q=0.9,en;q=0.5").await;
    assert!(
        es.contains("<html lang=\"es\"") && es.contains("Iniciar sesión en casevault"),
        "{es}"
    );
    assert!(es.contains("href=\"/language/en?back=/login\""), "{es}");
    let (_, _, en) = get_lang(&c, &login, "en-US,en").await;
    assert!(
        en.contains("<html lang=\"en\"") && en.contains("Sign in to casevault"),
        "{en}"
    );
    let (_, _, other) = get_lang(&c, &login, "fr, de").await;
    assert!(
        other.contains("Sign in to casevault"),
        "English when neither is asked for"
    );
    // The 404 page too, with no raw message id.
    let (s, _, nf) = get_lang(&c, &format!("{}/nowhere", app.base), "es").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(nf.contains("No se encontró") && !nf.contains('⟦'), "{nf}");

    // The switch: remembered in this browser, back to the page it came from.
    let (s, to, _) = get_lang(&c, &format!("{}/language/es?back=/login", app.base), "en").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
    let (_, _, after) = get_lang(&c, &login, "en").await;
    assert!(
        after.contains("Iniciar sesión en casevault"),
        "the choice beats the header"
    );
    // Not an open redirect, and an unknown language is not found.
    let (_, to, _) = get_lang(
        &c,
        &format!("{}/language/en?back=//evil.example/x", app.base),
        "en",
    )
    .await;
    assert_eq!(to, "/");
    let (s, _, _) = get_lang(&c, &format!("{}/language/fr", app.base), "en").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_signed_in_choice_is_kept_in_the_account() {
    let app = spawn_app().await;
    let alice = sign_in(&app, "alice").await;
    let (_, _, page) = get_lang(&alice, &format!("{}/cases", app.base), "en").await;
    assert!(
        page.contains(">Coming up<") && page.contains("Sign out"),
        "{page}"
    );
    let (s, _, _) = get_lang(
        &alice,
        &format!("{}/language/es?back=/cases", app.base),
        "en",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // Another browser, which asks for English, after signing in: Spanish (the account's).
    let other = sign_in(&app, "alice").await;
    let (_, _, page) = get_lang(&other, &format!("{}/cases", app.base), "en").await;
    assert!(
        page.contains(">Próximas fechas<") && page.contains("Cerrar sesión"),
        "{page}"
    );
    assert!(!page.contains('⟦'), "{page}");
    // Someone else is not affected.
    let bob = sign_in(&app, "bob").await;
    let (_, _, page) = get_lang(&bob, &format!("{}/cases", app.base), "en").await;
    assert!(page.contains("Sign out"), "{page}");
    // The choice is audited as a change of one's own account.
    let auditor = app.login("audrey").await;
    let v: serde_json::Value = auditor
        .get(app.url("/audit?action=set_language"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["entries"].as_array().unwrap().len(), 1, "{v}");
}

#[tokio::test]
async fn staff_pages_speak_spanish_when_chosen() {
    let app = spawn_app().await;
    let api = app.login("alice").await;
    let case = app.create_case(&api, "bronx", "Name", None).await;
    let alice = sign_in(&app, "alice").await;
    let pages = [
        (
            "/cases".to_string(),
            ["Abrir un caso nuevo", "Buscar un caso por número A"],
            ["Open a new case", "Find a case by A-number"],
        ),
        (
            format!("/cases/{case}"),
            ["Datos del cliente", "Notas del caso"],
            ["Client details", "Case notes"],
        ),
        (
            "/upcoming".to_string(),
            [
                "Páselo a su calendario",
                "Audiencias, fechas límite y citas",
            ],
            [
                "Put it in your calendar",
                "Hearings, deadlines and appointments",
            ],
        ),
        (
            "/account".to_string(),
            ["Llaves de acceso", "Códigos de recuperación"],
            ["Passkeys", "Recovery codes"],
        ),
    ];
    for (path, _, en) in &pages {
        let (s, _, page) = get_lang(&alice, &format!("{}{path}", app.base), "en").await;
        assert_eq!(s, StatusCode::OK, "{path}");
        for phrase in en {
            assert!(page.contains(phrase), "{path}: {phrase}\n{page}");
        }
        assert!(!page.contains('⟦'), "{path}: {page}");
    }
    let (s, _, _) = get_lang(
        &alice,
        &format!("{}/language/es?back=/cases", app.base),
        "en",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for (path, es, en) in &pages {
        let (s, _, page) = get_lang(&alice, &format!("{}{path}", app.base), "en").await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(page.contains("<html lang=\"es\""), "{path}");
        for phrase in es {
            assert!(page.contains(phrase), "{path}: {phrase}\n{page}");
        }
        assert!(!page.contains(en[0]), "{path}: still English\n{page}");
        assert!(!page.contains('⟦'), "{path}: {page}");
    }
    // Dates in words follow the page's language too.
    let (_, _, page) = get_lang(&alice, &format!("{}/upcoming", app.base), "en").await;
    assert!(page.contains(" de 20"), "{page}");
}
