//! Passkey routes: add, list and remove one's own; sign in with one; step up with one.
//!
//! Invariants: a passkey sign-in answers exactly what `POST /api/v1/login` answers and
//! sets the same cookies; every refused passkey answers the one generic 401
//! `invalid_credentials`; the credential JSON the browser sends is checked by the
//! vault (webauthn-rs), never trusted here.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::auth::{LoginAnswer, StepUpBody, signed_in};
use super::cases::IdAnswer;
use super::error::ErrorBody;
use super::extract::{EnrollingSession, JsonBody, Session};
use super::{ApiResult, AppState};
use crate::vault::{PasskeyChallenge, PasskeyView, StepUp};

/// A ceremony's options, for the browser.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_snake_case)]
pub(super) struct ChallengeDoc {
    /// Send it back with the answer.
    challenge_id: String,
    /// The JSON form of `PublicKeyCredentialCreationOptions` (register) or
    /// `PublicKeyCredentialRequestOptions` (sign-in, step-up).
    #[schema(value_type = Object)]
    publicKey: serde_json::Value,
}

/// A new passkey: the registration's answer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterFinish {
    challenge_id: String,
    /// What to call it ("work laptop"), 1 to 64 characters.
    name: String,
    /// The browser's `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// An assertion: the answer to a sign-in or step-up challenge.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssertionFinish {
    challenge_id: String,
    /// The browser's `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// An empty body (`{}`).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Empty {}

/// A passkey's path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct PasskeyPath {
    /// Passkey id.
    #[param(format = Uuid)]
    passkey: String,
}

/// `POST /api/v1/me/passkeys/register/start` (step-up).
#[utoipa::path(post, path = "/api/v1/me/passkeys/register/start", request_body = StepUpBody, responses(
    (status = 200, body = ChallengeDoc),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_code or passkeys_unavailable"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated")))]
pub(super) async fn register_start(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<PasskeyChallenge>> {
    let step = StepUp::if_stale(body.totp);
    Ok(Json(st.vault.passkey_register_start(&s.actor, step).await?))
}

/// `POST /api/v1/me/passkeys/register/finish`.
#[utoipa::path(post, path = "/api/v1/me/passkeys/register/finish", request_body = RegisterFinish, responses(
    (status = 201, body = IdAnswer),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field (the name), passkey_refused (expired, reused or unverifiable) or passkeys_unavailable")))]
pub(super) async fn register_finish(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
    JsonBody(body): JsonBody<RegisterFinish>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let id = st
        .vault
        .passkey_register_finish(&s.actor, &body.challenge_id, &body.name, body.credential)
        .await?;
    Ok((StatusCode::CREATED, Json(IdAnswer::new(id))))
}

/// `GET /api/v1/me/passkeys`.
#[utoipa::path(get, path = "/api/v1/me/passkeys", responses((status = 200, body = Vec<PasskeyView>)))]
pub(super) async fn list(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> ApiResult<Json<Vec<PasskeyView>>> {
    Ok(Json(st.vault.list_passkeys(&s.actor).await?))
}

/// `DELETE /api/v1/me/passkeys/{passkey}` (step-up).
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{passkey}", params(PasskeyPath), request_body = StepUpBody, responses(
    (status = 204, description = "Removed: it signs in no more"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 404, body = ErrorBody, description = "not_found")))]
pub(super) async fn remove(
    State(st): State<AppState>,
    Session(s): Session,
    Path(PasskeyPath { passkey }): Path<PasskeyPath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<StatusCode> {
    let step = StepUp::if_stale(body.totp);
    st.vault.delete_passkey(&s.actor, &passkey, step).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/login/passkey/start`.
#[utoipa::path(post, path = "/api/v1/login/passkey/start", security(()), request_body = Empty, responses(
    (status = 200, body = ChallengeDoc),
    (status = 400, body = ErrorBody, description = "invalid_json or passkeys_unavailable"),
    (status = 429, body = ErrorBody, description = "too_many_attempts (too many ceremonies waiting)")))]
pub(super) async fn login_start(
    State(st): State<AppState>,
    ci: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    JsonBody(_): JsonBody<Empty>,
) -> ApiResult<Json<PasskeyChallenge>> {
    let client = crate::edge::client_ip(ci.as_deref());
    Ok(Json(st.vault.passkey_login_start(&client).await?))
}

/// `POST /api/v1/login/passkey/finish`: the same answer and cookies as `POST /login`.
#[utoipa::path(post, path = "/api/v1/login/passkey/finish", security(()), request_body = AssertionFinish, responses(
    (status = 200, body = LoginAnswer, description = "Signed in, fresh for step-up; the session cookie is set",
        headers(("Set-Cookie" = String, description = "__Host-casevault_session=…; HttpOnly; Secure; SameSite=Strict; Path=/"))),
    (status = 401, body = ErrorBody, description = "invalid_credentials (any refusal: unknown, removed or cloned passkey, wrong origin, reused challenge, disabled account)"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn login_finish(
    State(st): State<AppState>,
    headers: HeaderMap,
    ci: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    JsonBody(body): JsonBody<AssertionFinish>,
) -> ApiResult<Response> {
    let client = crate::edge::client_ip(ci.as_deref());
    let out = st
        .vault
        .passkey_login_finish(&body.challenge_id, body.credential, &client)
        .await?;
    Ok(signed_in(&st, &headers, out).await)
}

/// `POST /api/v1/reauth/passkey/start`.
#[utoipa::path(post, path = "/api/v1/reauth/passkey/start", request_body = Empty, responses(
    (status = 200, body = ChallengeDoc),
    (status = 400, body = ErrorBody, description = "invalid_json, no_passkey (the account has none) or passkeys_unavailable"),
    (status = 429, body = ErrorBody, description = "too_many_attempts (too many ceremonies waiting)")))]
pub(super) async fn reauth_start(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(_): JsonBody<Empty>,
) -> ApiResult<Json<PasskeyChallenge>> {
    Ok(Json(st.vault.passkey_reauth_start(&s.actor).await?))
}

/// `POST /api/v1/reauth/passkey/finish`: the session is fresh for the step-up window.
#[utoipa::path(post, path = "/api/v1/reauth/passkey/finish", request_body = AssertionFinish, responses(
    (status = 204, description = "Proved: actions that ask for a fresh code go ahead without one"),
    (status = 400, body = ErrorBody, description = "invalid_json"),
    (status = 401, body = ErrorBody, description = "invalid_credentials (not one of your passkeys, or it did not verify)"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn reauth_finish(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<AssertionFinish>,
) -> ApiResult<StatusCode> {
    st.vault
        .passkey_reauth_finish(&s.actor, &body.challenge_id, body.credential)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
