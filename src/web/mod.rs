//! The HTML pages for people: sign-in and TOTP enrolment, case lists and cases
//! (with their notes, hearings and deadlines), "Coming up" and its calendar file,
//! office administration (seal, accounts, legal holds, retention, purge), the
//! audit log, and the page a client opens through an upload link (`client_page.rs`).
//! Server-rendered with `maud`; one first-party stylesheet and one small script
//! (the upload progress bar) are served from the binary, so the global
//! `Content-Security-Policy: default-src 'self'` holds: no inline script or style,
//! no third-party origin.
//!
//! Invariants: every page handler reaches data only through the same `Vault`
//! methods as the API (one policy decision, one audit log); every form that
//! changes something is read through [`session::PageForm`] or checks the token
//! itself (login, multipart upload), so a post without the session's CSRF token is
//! refused with 403 and audited before any other work; error pages carry fixed,
//! plain-English text and never a stack trace or a value the caller sent.
mod account;
mod admin;
mod admin_cases;
mod approvals;
mod audit;
mod audit_words;
mod case_actions;
mod case_page;
mod cases;
mod casework;
mod casework_actions;
mod client_page;
mod client_words;
mod confirm;
mod custody;
mod error;
mod language;
mod layout;
mod login;
mod multipart;
mod office_lifecycle;
mod parts;
mod session;
mod upcoming;
mod upload_links;
mod users;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::edge::AppState;

pub use error::PageError;

/// The largest urlencoded form body a page accepts (uploads are streamed apart).
pub const FORM_LIMIT: usize = 64 * 1024;

const APP_CSS: &str = include_str!("static/app.css");
const UPLOAD_JS: &str = include_str!("static/upload.js");
const PASSKEY_JS: &str = include_str!("static/passkey.js");

/// A short content hash, so that a changed asset gets a new URL and the old one
/// may be cached for a year.
fn version(body: &str) -> String {
    crate::crypto::hex(&crate::crypto::sha256(body.as_bytes())[..6])
}

static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/app.css?v={}", version(APP_CSS)));
static JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/upload.js?v={}", version(UPLOAD_JS)));

/// URL of the stylesheet (with its version).
pub(crate) fn css_url() -> &'static str {
    CSS_URL.as_str()
}

static PASSKEY_JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/static/passkey.js?v={}", version(PASSKEY_JS)));

/// URL of the passkey script (with its version).
pub(crate) fn passkey_js_url() -> &'static str {
    PASSKEY_JS_URL.as_str()
}

/// URL of the upload script (with its version).
pub(crate) fn js_url() -> &'static str {
    JS_URL.as_str()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    resp
}

/// The page routes.
pub fn router(state: &AppState) -> Router<AppState> {
    let forms = Router::new()
        .route("/", get(login::root))
        .route("/login", get(login::login_page).post(login::login_submit))
        .route("/logout", post(login::logout))
        .route("/enrol", get(login::enrol_page).post(login::enrol_confirm))
        .route("/account", get(account::account_page))
        .route("/language/{lang}", get(language::switch))
        .route("/account/password", post(account::change_password))
        .route("/account/recovery-codes", post(account::recovery_codes))
        .route("/enrol/new", post(login::enrol_new))
        .route("/cases", get(cases::list_page).post(cases::create))
        .route("/cases/search", post(cases::search))
        .route("/users/{user}/confirm", post(confirm::confirm_access))
        .route("/cases/{case}", get(case_page::case_page))
        .route("/cases/{case}/shares", post(case_actions::share))
        .route("/cases/{case}/close", post(case_actions::close))
        .route(
            "/cases/{case}/details",
            post(casework_actions::edit_details),
        )
        .route("/cases/{case}/notes", post(casework_actions::add_note))
        .route("/cases/{case}/events", post(casework_actions::add_event))
        .route(
            "/cases/{case}/documents/{doc}/rename",
            post(casework_actions::rename),
        )
        .route(
            "/cases/{case}/documents/{doc}/purge",
            post(casework_actions::purge),
        )
        .route("/upcoming", get(upcoming::upcoming_page))
        .route("/upcoming.ics", get(upcoming::upcoming_ics))
        .route(
            "/cases/{case}/shares/{share}/revoke",
            post(case_actions::revoke),
        )
        .route("/cases/{case}/upload-links", post(upload_links::make))
        .route(
            "/cases/{case}/upload-links/{link}/revoke",
            post(upload_links::revoke),
        )
        .route("/admin", get(admin::office_page))
        .route("/admin/offices/{office}/seal", post(admin::seal))
        .route("/admin/offices/{office}/unseal", post(admin::unseal))
        .route("/admin/seal-all", post(admin::seal_all))
        .route("/admin/offices", post(admin::create_office))
        .route(
            "/admin/offices/{office}/time-zone",
            post(admin::set_time_zone),
        )
        .route("/admin/offices/{office}/holders", post(custody::invite))
        .route(
            "/admin/offices/{office}/holders/{holder}/remove",
            post(custody::remove),
        )
        .route("/admin/offices/{office}/rotate", post(custody::rotate))
        .route("/admin/offices/{office}/recovery", post(custody::recovery))
        .route(
            "/admin/offices/{office}/unseal-share",
            post(custody::unseal_share),
        )
        .route("/admin/holder-key", post(custody::holder_key))
        .route("/admin/approvals/{id}/approve", post(approvals::approve))
        .route("/admin/approvals/{id}/deny", post(approvals::deny))
        .route("/admin/approvals/{id}/withdraw", post(approvals::withdraw))
        .route("/admin/offices/{office}/hold", post(office_lifecycle::hold))
        .route("/admin/offices/{office}/lift", post(office_lifecycle::lift))
        .route(
            "/admin/offices/{office}/purge",
            get(office_lifecycle::purge_page).post(office_lifecycle::purge),
        )
        .route("/admin/cases", get(admin_cases::list_page))
        .route("/admin/cases/{case}/hold", post(admin_cases::hold))
        .route("/admin/cases/{case}/lift", post(admin_cases::lift))
        .route(
            "/admin/cases/{case}/purge",
            get(admin_cases::purge_page).post(admin_cases::purge),
        )
        .route(
            "/admin/users",
            get(users::users_page).post(users::create_user),
        )
        .route("/admin/users/{user}/disable", post(users::disable))
        .route("/admin/users/{user}/enable", post(users::enable))
        .route("/admin/users/{user}/password", post(users::reset_password))
        .route("/admin/users/{user}/confirm", post(users::confirm))
        .route("/admin/users/{user}/reset-totp", post(users::reset_totp))
        .route("/audit", get(audit::audit_page))
        .layer(DefaultBodyLimit::max(FORM_LIMIT));
    // The no-JavaScript upload form streams its file: no body limit but the
    // vault's own document limit, counted while streaming; everything before the
    // file has its own small limit (`multipart.rs`).
    let uploads = Router::new().route("/cases/{case}/documents", post(case_actions::upload_form));
    let pages = Router::new()
        .merge(forms)
        .merge(uploads)
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/static/upload.js",
            get(|| async { asset("text/javascript; charset=utf-8", UPLOAD_JS) }),
        )
        .route(
            "/static/passkey.js",
            get(|| async { asset("text/javascript; charset=utf-8", PASSKEY_JS) }),
        )
        // After every route (it applies to those registered before it), with axum's
        // `Allow` header.
        .method_not_allowed_fallback(|| async { PageError::MethodNotAllowed })
        .fallback(|| async { PageError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::frame,
        ));
    // The client's upload page stays outside the session layer: a request there never
    // resolves or renews a session, whatever cookie the browser holds.
    Router::new().merge(pages).merge(client_page::router())
}

/// 303 See Other: after a successful post, the browser loads the page afresh.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
