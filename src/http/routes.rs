//! The route table: which handler answers each method and path under `/api/v1`, plus
//! `/healthz` outside it. The handlers live in one file per resource (`auth`, `cases`,
//! `offices`, `users`, `transfer`, `admin`).
//!
//! Invariant: a path under `/api/v1` that is not listed here answers the API's JSON
//! 404, like any other thing that is not there, and a method a listed path does not
//! take answers the API's JSON 405.
use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};

use super::casework;

use super::error::ApiError;
use super::{AppState, auth, cases, holder_passkeys, holders, me, offices, passkeys, users};

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/totp/enrol", post(auth::totp_enrol))
        .route("/totp/confirm", post(auth::totp_confirm))
        .route("/cases", get(cases::list_cases).post(cases::create_case))
        .route(
            "/cases/{case}",
            get(cases::get_case).patch(casework::edit_case),
        )
        .route("/cases/{case}/versions", get(casework::case_versions))
        .route(
            "/cases/{case}/notes",
            get(casework::list_notes).post(casework::add_note),
        )
        .route(
            "/cases/{case}/events",
            get(casework::list_events).post(casework::add_event),
        )
        .route("/upcoming", get(casework::upcoming))
        .route(
            "/cases/{case}/documents",
            get(cases::list_documents).post(super::transfer::upload),
        )
        .route(
            "/cases/{case}/documents/{doc}",
            get(super::transfer::download).patch(casework::rename_document),
        )
        .route("/cases/{case}/shares", post(cases::create_share))
        .route("/cases/{case}/shares/{share}", delete(cases::revoke_share))
        .route("/cases/{case}/assignments", post(cases::assign_case))
        .route(
            "/cases/{case}/upload-links",
            get(super::upload_links::list).post(super::upload_links::make),
        )
        .route(
            "/cases/{case}/upload-links/{link}",
            delete(super::upload_links::revoke),
        )
        .route(
            "/offices",
            get(offices::list_offices).post(offices::create_office),
        )
        .route("/offices/{office}/seal", post(offices::seal))
        .route("/offices/{office}/unseal", post(offices::unseal))
        .route(
            "/offices/{office}/holders",
            get(holders::list).post(holders::invite),
        )
        .route(
            "/offices/{office}/holders/{holder}",
            delete(holders::remove),
        )
        .route("/offices/{office}/rotate", post(holders::rotate))
        .route("/offices/{office}/time-zone", post(offices::set_time_zone))
        .route("/offices/{office}/recovery", post(holders::recovery))
        .route("/me/holder-key", post(holders::set_up_key))
        .route("/me/password", post(me::change_password))
        .route("/me/recovery-codes", post(me::recovery_codes))
        .route(
            "/me/holder-key/passkey/start",
            post(holder_passkeys::setup_start),
        )
        .route(
            "/me/holder-key/passkey/finish",
            post(holder_passkeys::setup_finish),
        )
        .route(
            "/offices/{office}/unseal/passkey/start",
            post(holder_passkeys::unseal_start),
        )
        .route(
            "/offices/{office}/unseal/passkey/finish",
            post(holder_passkeys::unseal_finish),
        )
        .route("/seal-all", post(offices::seal_all))
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/{user}/disable", post(users::disable_user))
        .route("/users/{user}/enable", post(users::enable_user))
        .route("/users/{user}/reset-password", post(users::reset_password))
        .route("/users/{user}/reset-totp", post(users::reset_totp))
        .route("/users/{user}/confirm", post(users::confirm_access))
        .route("/openapi.json", get(super::openapi::openapi_json))
        .route("/me/passkeys", get(passkeys::list))
        .route(
            "/me/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/me/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route("/me/passkeys/{passkey}", delete(passkeys::remove))
        .route("/login/passkey/start", post(passkeys::login_start))
        .route("/login/passkey/finish", post(passkeys::login_finish))
        .route("/reauth/passkey/start", post(passkeys::reauth_start))
        .route("/reauth/passkey/finish", post(passkeys::reauth_finish))
        .merge(super::admin::api())
        .merge(super::approvals::api())
        // After every route (it applies to the routes registered before it): a method
        // a path does not take answers the JSON error, with axum's `Allow` header.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found() })
}

pub(super) fn root() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
}

/// `GET /healthz`: 200 `ok`, or 503 `unhealthy` when the database cannot be
/// written (a read-only disk or directory); reveals nothing else.
#[utoipa::path(get, path = "/healthz", security(()), responses(
    (status = 200, description = "The server is up", body = String, content_type = "text/plain"),
    (status = 503, description = "The server cannot write its database", body = String, content_type = "text/plain")))]
pub(super) async fn healthz(State(st): State<AppState>) -> (axum::http::StatusCode, &'static str) {
    let vault = st.vault.clone();
    let writable = tokio::task::spawn_blocking(move || vault.db().writable())
        .await
        .unwrap_or(false);
    if writable {
        (axum::http::StatusCode::OK, "ok")
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    }
}
