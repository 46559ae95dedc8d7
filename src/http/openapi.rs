//! The OpenAPI document, generated from the handlers' annotations (utoipa).
use axum::Json;
use utoipa::OpenApi;

use super::{admin, routes, transfer};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "casevault API",
        description = "Encrypted case vault: the HTTP surface of CONTRACT.md. Errors are always {\"error\":{\"code\",\"message\"}}."
    ),
    paths(
        routes::healthz,
        routes::login,
        routes::logout,
        routes::me,
        routes::totp_enrol,
        routes::totp_confirm,
        routes::list_cases,
        routes::create_case,
        routes::get_case,
        routes::list_documents,
        transfer::upload,
        transfer::download,
        routes::create_share,
        routes::revoke_share,
        routes::assign_case,
        routes::list_offices,
        routes::create_office,
        routes::seal,
        routes::unseal,
        routes::seal_all,
        routes::list_users,
        routes::create_user,
        routes::disable_user,
        routes::enable_user,
        routes::reset_password,
        routes::reset_totp,
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

/// The document (for tests and `casevault openapi`).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
