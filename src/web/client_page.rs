//! The client's page of an upload link (`/u/TOKEN`): no account, no script, no
//! cookie. It shows the office's name, a short explanation in the link's language
//! (with a switch to the other), a file field and Send; after sending, a receipt with
//! a short code per file and how many more the link takes.
//!
//! Invariants: these routes sit outside the pages' session layer, so a request here
//! never resolves, creates or renews a session, and no page here links into the app;
//! nothing of the case is shown (no client name, case id, caseworker or other
//! document); a token that names no live link gets [`gone`], the same bytes whatever
//! the reason; the upload form's CSRF field (derived from the link) is checked before
//! a byte of any file is read, and each file is streamed into the vault through the
//! same path as a staff upload.
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::client_words::{Lang, fill, word};
use super::multipart;
use crate::edge::AppState;
use crate::vault::{ClientLink, UploadMeta, VaultError, client_filename, receipt_code};

/// The CSRF field of the upload form: a token is far shorter.
const CSRF_FIELD_MAX: usize = 128;

/// The routes of the client's page; `web::router` puts them beside the pages, outside
/// the session layer.
pub(super) fn router() -> Router<AppState> {
    // Anything below a link (a trailing slash, a path after it) gets the same fixed
    // page as a dead link, never the staff pages' 404 (whose language switch would
    // carry the token to another route).
    Router::new()
        .route("/u/{token}", get(show).post(upload))
        .route("/u/{token}/", any(|| async { gone() }))
        .route("/u/{token}/{*rest}", any(|| async { gone() }))
}

#[derive(Deserialize, Default)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

type Address = Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>;

fn lang_of(
    q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    link: &ClientLink,
) -> Lang {
    match q.ok().and_then(|Query(q)| q.lang) {
        Some(l) => Lang::parse(&l),
        None => Lang::parse(link.language()),
    }
}

/// A client page: the frame without navigation, script or link into the app.
fn frame(lang: Lang, title: &str, office: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href=(super::css_url());
            }
            body.client {
                header.top {
                    @if let Some(o) = office { span.brand { (fill(lang, "to-office", o, 0)) } }
                }
                main #main { (body) }
            }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, axum::response::Html(markup.into_string())).into_response()
}

/// What every dead, unknown or made-up link gets: one fixed page in both languages,
/// 404. Nothing in it depends on the request.
pub(super) fn gone() -> Response {
    let body = html! {
        h1 { (word(Lang::En, "gone-title")) }
        p { (word(Lang::En, "gone")) }
        div lang="es" {
            h2 { (word(Lang::Es, "gone-title")) }
            p { (word(Lang::Es, "gone")) }
        }
    };
    respond(
        StatusCode::NOT_FOUND,
        frame(Lang::En, word(Lang::En, "gone-title"), None, body),
    )
}

/// Too many requests from the address: one fixed page in both languages, 429.
fn throttled(wait: i64) -> Response {
    let body = html! {
        h1 { (word(Lang::En, "throttled")) }
        p lang="es" { (word(Lang::Es, "throttled")) }
    };
    let mut r = respond(
        StatusCode::TOO_MANY_REQUESTS,
        frame(Lang::En, word(Lang::En, "page-title"), None, body),
    );
    if let Ok(v) = header::HeaderValue::from_str(&wait.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Any other failure (the store away, an internal fault): a fixed page, no detail.
fn trouble(lang: Lang, e: &VaultError) -> Response {
    let (status, _) = crate::edge::status::of(e);
    if status.is_server_error() {
        tracing::warn!(error = %e, "a client's upload page failed");
    }
    let body = html! { h1 { (word(lang, "page-title")) } p { (word(lang, "busy")) } };
    respond(status, frame(lang, word(lang, "page-title"), None, body))
}

/// The page with the form, with a message above it when `problem` says one.
fn form_page(
    st: &AppState,
    link: &ClientLink,
    token: &str,
    lang: Lang,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let office = link.office();
    let action = format!("/u/{token}?lang={}", lang.code());
    let body = html! {
        h1 { (word(lang, "heading")) }
        @if let Some(p) = problem { p.notice.error role="alert" { (word(lang, p)) } }
        p { (word(lang, "intro")) }
        p { (word(lang, "privacy")) }
        p { strong { (fill(lang, "files-left", office, link.files_left())) } }
        form.card method="post" action=(action) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(st.vault.link_form_token(link));
            div.field {
                label for="file" { (word(lang, "choose")) }
                input #file name="file" type="file" multiple required aria-describedby="file-help";
                p.help #file-help { (word(lang, "choose-help")) }
            }
            button type="submit" { (word(lang, "send")) }
        }
        p lang=(lang.other().code()) { a href={ "/u/" (token) "?lang=" (lang.other().code()) } { (word(lang, "switch")) } }
    };
    respond(
        status,
        frame(lang, word(lang, "page-title"), Some(office), body),
    )
}

fn receipt_page(
    link: &ClientLink,
    token: &str,
    lang: Lang,
    received: &[(String, String)],
    problem: Option<&str>,
) -> Response {
    let left = link
        .files_left()
        .saturating_sub(u32::try_from(received.len()).unwrap_or(u32::MAX));
    let body = html! {
        h1 { (word(lang, "receipt-heading")) }
        @if let Some(p) = problem { p.notice.error role="alert" { (word(lang, p)) } }
        p { (word(lang, "receipt-intro")) }
        ul.receipt { @for (name, code) in received {
            li { (name) " — " (word(lang, "receipt-code")) " " strong.code { (code) } }
        } }
        p { strong { (fill(lang, "files-left", link.office(), left)) } }
        @if left > 0 { p { a href={ "/u/" (token) "?lang=" (lang.code()) } { (word(lang, "send-more")) } } }
    };
    respond(
        StatusCode::OK,
        frame(lang, word(lang, "receipt-title"), Some(link.office()), body),
    )
}

/// `GET /u/{token}`.
async fn show(
    State(st): State<AppState>,
    token: Result<Path<String>, axum::extract::rejection::PathRejection>,
    q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    ci: Address,
) -> Response {
    // A token that does not even decode is looked up like any other (same work).
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let client = crate::edge::client_ip(ci.as_deref());
    match st.vault.open_link(&token, &client, true).await {
        Ok(link) => {
            let lang = lang_of(q, &link);
            form_page(&st, &link, &token, lang, None, StatusCode::OK)
        }
        Err(VaultError::NotFound) => gone(),
        Err(VaultError::Throttled(wait)) => throttled(wait),
        Err(e) => trouble(Lang::En, &e),
    }
}

/// `POST /u/{token}`: `multipart/form-data`, the `csrf` field first, then one or more
/// `file` parts, each streamed into the vault as it arrives.
async fn upload(
    State(st): State<AppState>,
    token: Result<Path<String>, axum::extract::rejection::PathRejection>,
    q: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
    ci: Address,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = token.map(|Path(t)| t).unwrap_or_default();
    let client = crate::edge::client_ip(ci.as_deref());
    let link = match st.vault.open_link(&token, &client, false).await {
        Ok(link) => link,
        Err(VaultError::NotFound) => return gone(),
        Err(VaultError::Throttled(wait)) => return throttled(wait),
        Err(e) => return trouble(Lang::En, &e),
    };
    let lang = lang_of(q, &link);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let Some(boundary) = multipart::boundary(content_type) else {
        if let Err(e) = st.vault.link_refused(&link, "bad_form").await {
            return trouble(lang, &e);
        }
        return form_page(
            &st,
            &link,
            &token,
            lang,
            Some("failed"),
            StatusCode::BAD_REQUEST,
        );
    };
    let mut form = multipart::Form::new(body.into_data_stream(), &boundary);
    let csrf = match form.next_part().await {
        Ok(Some(p)) if p.name.as_deref() == Some("csrf") && p.filename.is_none() => form
            .read_small(CSRF_FIELD_MAX)
            .await
            .ok()
            .and_then(|t| String::from_utf8(t).ok()),
        _ => None,
    };
    if st
        .vault
        .check_link_form(&link, csrf.as_deref())
        .await
        .is_err()
    {
        return form_page(
            &st,
            &link,
            &token,
            lang,
            Some("expired-form"),
            StatusCode::FORBIDDEN,
        );
    }
    let (received, problem) = receive(&st, &link, &mut form).await;
    if received.is_empty() {
        return match problem {
            Some("gone") => gone(),
            Some(p) => form_page(&st, &link, &token, lang, Some(p), StatusCode::BAD_REQUEST),
            None => {
                if let Err(e) = st.vault.link_refused(&link, "no_file").await {
                    return trouble(lang, &e);
                }
                form_page(
                    &st,
                    &link,
                    &token,
                    lang,
                    Some("no-file"),
                    StatusCode::BAD_REQUEST,
                )
            }
        };
    }
    let problem = problem.map(|p| if p == "gone" { "used-up" } else { p });
    receipt_page(&link, &token, lang, &received, problem)
}

/// Stores each `file` part of the form in turn; answers (filename, receipt code) of
/// each file stored, and the message id of what went wrong, if anything did (an empty
/// file is skipped and the rest still read; anything else stops the reading).
async fn receive(
    st: &AppState,
    link: &ClientLink,
    form: &mut multipart::Form<axum::body::BodyDataStream>,
) -> (Vec<(String, String)>, Option<&'static str>) {
    let mut received = Vec::new();
    loop {
        let part = match form.next_part().await {
            Ok(Some(part)) => part,
            Ok(None) => return (received, None),
            Err(_) => {
                // Between files: no upload is under way to record it.
                if let Err(e) = st.vault.link_refused(link, "bad_form").await {
                    tracing::warn!(error = %e, "a client's broken form could not be audited");
                }
                return (received, Some("failed"));
            }
        };
        if part.name.as_deref() != Some("file") {
            continue;
        }
        // A browser sends an empty, nameless part when no file was chosen.
        let Some(name) = part.filename.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        let filename = client_filename(name);
        let up = match st.vault.permit_link_upload(link).await {
            Ok(up) => up,
            Err(VaultError::Conflict { .. }) => return (received, Some("used-up")),
            Err(VaultError::NotFound) => return (received, Some("gone")),
            Err(_) => return (received, Some("busy")),
        };
        let meta = UploadMeta {
            filename: filename.clone(),
            content_type: part.content_type,
            declared_size: None,
        };
        match st.vault.store_permitted(up, meta, form.content()).await {
            Ok((id, _)) => received.push((filename, receipt_code(&id))),
            // The first empty file ends the form: each refusal is an audit entry, and
            // a form of a thousand empty parts must not write a thousand.
            Err(VaultError::BadInput {
                code: "empty_file", ..
            }) => return (received, Some("empty")),
            Err(VaultError::TooLarge(_)) => return (received, Some("too-large")),
            Err(VaultError::NotFound) => return (received, Some("gone")),
            Err(VaultError::StoreUnavailable(_)) => return (received, Some("busy")),
            Err(_) => return (received, Some("failed")),
        }
    }
}
