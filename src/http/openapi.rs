//! The OpenAPI document, generated from the handlers' annotations (utoipa).
use axum::Json;
use utoipa::OpenApi;

use super::{admin, auth, cases, offices, routes, transfer, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "casevault API",
        description = "Encrypted case vault: the HTTP surface of CONTRACT.md. Errors are always {\"error\":{\"code\",\"message\"}}."
    ),
    paths(
        routes::healthz,
        auth::login,
        auth::logout,
        auth::me,
        auth::totp_enrol,
        auth::totp_confirm,
        cases::list_cases,
        cases::create_case,
        cases::get_case,
        cases::list_documents,
        transfer::upload,
        transfer::download,
        cases::create_share,
        cases::revoke_share,
        cases::assign_case,
        offices::list_offices,
        offices::create_office,
        offices::seal,
        offices::unseal,
        offices::seal_all,
        users::list_users,
        users::create_user,
        users::disable_user,
        users::enable_user,
        users::reset_password,
        users::reset_totp,
        users::confirm_access,
        admin::read_audit,
        admin::close_case,
        admin::hold_case,
        admin::lift_case_hold,
        admin::purge_case,
        admin::purge_document,
        admin::hold_office,
        admin::lift_office_hold,
        admin::purge_office,
    )
)]
struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
