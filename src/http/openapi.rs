//! The OpenAPI document, generated from the handlers' annotations (utoipa), and the
//! conventions that hold for every operation, added in one place ([`Conventions`]) so
//! that no handler can forget them: the session cookie as the security scheme, and the
//! error statuses that come from the layers and extractors rather than the handler
//! (sign-in, the origin gate, the JSON body reader, the path reader, the request caps).
//!
//! Invariant: every status an operation can answer is declared, with the error envelope
//! as its body; `tests/api/openapi.rs` and the schemathesis run in CI hold it to that.
use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, Object, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;
use super::{
    admin, approvals, auth, cases, casework, holder_passkeys, holders, me, offices, passkeys,
    routes, transfer, upload_links, users,
};
use crate::edge::cookie::COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "casevault API",
        description = "Encrypted case vault: the HTTP surface of CONTRACT.md.\n\n\
Sign in with `POST /api/v1/login`: the answer sets the session cookie (`__Host-casevault_session`, \
security scheme `session`), which every other operation under `/api/v1` needs.\n\n\
Every POST, PUT and DELETE under `/api/v1` must say `Content-Type: application/json` (an empty \
body reads as `{}`), except the raw document upload, and must not come from another website: \
an `Origin` header, when sent, names this server, and `Sec-Fetch-Site`, when sent, is \
`same-origin` or `none`. Otherwise the answer is 415 or 403 and nothing changes.\n\n\
Errors are always `{\"error\":{\"code\",\"message\"}}` (see `ErrorBody`), also for a method \
the path does not take (405, with `Allow`), a URI longer than 8 KiB (414) and request \
headers above 16 KiB or 64 fields (431)."
    ),
    paths(
        routes::healthz,
        openapi_json,
        auth::login,
        auth::logout,
        auth::me,
        auth::totp_enrol,
        auth::totp_confirm,
        passkeys::register_start,
        passkeys::register_finish,
        passkeys::list,
        passkeys::remove,
        passkeys::login_start,
        passkeys::login_finish,
        passkeys::reauth_start,
        passkeys::reauth_finish,
        cases::list_cases,
        cases::create_case,
        cases::get_case,
        casework::edit_case,
        casework::case_versions,
        casework::list_notes,
        casework::add_note,
        casework::list_events,
        casework::add_event,
        casework::upcoming,
        casework::rename_document,
        cases::list_documents,
        transfer::upload,
        transfer::download,
        cases::create_share,
        cases::revoke_share,
        cases::assign_case,
        upload_links::make,
        upload_links::list,
        upload_links::revoke,
        offices::list_offices,
        offices::create_office,
        offices::seal,
        offices::unseal,
        offices::seal_all,
        offices::set_time_zone,
        holders::list,
        holders::invite,
        holders::set_up_key,
        me::change_password,
        me::recovery_codes,
        holders::remove,
        holders::rotate,
        holders::recovery,
        holder_passkeys::setup_start,
        holder_passkeys::setup_finish,
        holder_passkeys::unseal_start,
        holder_passkeys::unseal_finish,
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
        approvals::list,
        approvals::approve,
        approvals::deny,
        approvals::withdraw,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Conventions)
)]
struct ApiDoc;

/// The document as served (built once per request: it is small and rarely asked for).
pub(super) fn document() -> Document {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(get, path = "/api/v1/openapi.json", security(()), responses(
    (status = 200, body = Object, description = "The OpenAPI 3.1 document of this API")))]
pub(super) async fn openapi_json() -> Json<Document> {
    Json(document())
}

/// The security scheme's name in the document.
const SESSION: &str = "session";

/// Shared error responses, by name under `components.responses`.
const RESPONSES: &[(&str, &str)] = &[
    (
        "BadInput",
        "invalid_json (the body is not JSON of the documented shape) or another invalid_* code",
    ),
    (
        "Unauthenticated",
        "unauthenticated: no session cookie, or the session ended",
    ),
    (
        "Forbidden",
        "forbidden (the policy does not allow it), totp_enrolment_required (the session must \
         enrol an authenticator first) or cross_origin (the request came from another website)",
    ),
    (
        "NotFound",
        "not_found: nothing there, or nothing the caller may see (the two answer alike)",
    ),
    ("TooLarge", "too_large: a JSON body over 64 KiB"),
    (
        "UnsupportedMediaType",
        "unsupported_media_type: the request did not say Content-Type: application/json",
    ),
    (
        "UriTooLong",
        "uri_too_long: the path and query are longer than 8 KiB",
    ),
    (
        "TooManyRequests",
        "too_many_requests (this address has too many requests in progress) or \
         too_many_attempts (failed sign-ins or codes); Retry-After gives the seconds to wait",
    ),
    (
        "HeadersTooLarge",
        "headers_too_large: the request headers are above 16 KiB or 64 fields",
    ),
];

/// The conventions every operation follows (see the module's documentation).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                COOKIE,
                "The session cookie that POST /api/v1/login sets (HttpOnly, Secure, SameSite=Strict).",
            ))),
        );
        for (name, description) in RESPONSES {
            components.responses.insert(
                (*name).to_string(),
                RefOr::T(error_response(name, description)),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let templated = path.contains('{');
            for (writes, op) in operations(item) {
                conventions(op, writes, templated, path == "/api/v1/me");
            }
        }
    }
}

/// The operations of a path, each with whether its method changes something.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, &mut item.get),
        (true, &mut item.put),
        (true, &mut item.post),
        (true, &mut item.delete),
        (true, &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(writes, op)| op.as_mut().map(|op| (writes, op)))
}

/// Adds the statuses that layers and extractors answer to one operation under
/// `/api/v1`, and its security requirement. An operation that declares
/// `security(())` needs no session; `enrolling` is a read that a session still
/// enrolling its authenticator may make (so never 403).
fn conventions(op: &mut Operation, writes: bool, templated: bool, enrolling: bool) {
    let signed_in = op.security.is_none();
    if signed_in {
        op.security = Some(vec![SecurityRequirement::new(
            SESSION,
            Vec::<String>::new(),
        )]);
    } else {
        // `security(())` in an annotation: explicitly none.
        op.security = Some(Vec::new());
    }
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let raw_body = op.request_body.is_some() && !json_body;
    let mut add = |status: &str, name: &str, when: bool| {
        if when {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    };
    add("400", "BadInput", json_body);
    add("401", "Unauthenticated", signed_in);
    add("403", "Forbidden", writes || (signed_in && !enrolling));
    add("404", "NotFound", templated);
    add("413", "TooLarge", json_body);
    add("414", "UriTooLong", true);
    add("415", "UnsupportedMediaType", writes && !raw_body);
    add("429", "TooManyRequests", true);
    add("431", "HeadersTooLarge", true);
}

fn error_response(name: &str, description: &str) -> Response {
    let mut r = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    if *name == *"TooManyRequests" {
        r = r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    r.build()
}
