//! Sign-in, sign-out, who-am-I, TOTP enrolment, and the step-up helper that the
//! other handlers share.
//!
//! Invariants: the session and device cookies are `HttpOnly; Secure; SameSite=Strict`
//! (the device cookie survives sign-out: it stands for the browser); a sign-in
//! ends the session the browser already had, so a planted token is worthless after it;
//! the client address feeds throttling only; passwords and codes stay in wiping types.
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::{ApiError, ErrorBody};
use super::extract::{EnrollingSession, JsonBody};
use super::{ApiResult, AppState};
use crate::edge::cookie::{COOKIE, device_cookie, device_token};
use crate::vault::{LoginInput, LoginOutcome, UserView};

/// Sign-in request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    username: String,
    #[schema(value_type = String)]
    password: Zeroizing<String>,
    /// The 6-digit code from the authenticator app, or a recovery code; an empty
    /// string counts as absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// Signed-in answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LoginAnswer {
    user: UserView,
    /// True when the account must set up TOTP before anything else.
    must_enrol_totp: bool,
    /// True when the account's role must sign in with a passkey and it has none: the
    /// session can only add one (`POST /api/v1/me/passkeys/register/start`).
    must_add_passkey: bool,
}

impl LoginAnswer {
    fn new(user: UserView, must_enrol_totp: bool, must_add_passkey: bool) -> Self {
        LoginAnswer {
            user,
            must_enrol_totp,
            must_add_passkey,
        }
    }
}

pub(super) fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// `POST /api/v1/login`.
#[utoipa::path(post, path = "/api/v1/login", security(()), request_body = LoginBody, responses(
    (status = 200, body = LoginAnswer, description = "Signed in; the session cookie is set",
        headers(("Set-Cookie" = String, description = "__Host-casevault_session=…; HttpOnly; Secure; SameSite=Strict; Path=/"))),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "invalid_credentials, or totp_required when a code is needed"),
))]
pub(super) async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    ci: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    let client = crate::edge::client_ip(ci.as_deref());
    let out = st
        .vault
        .login(LoginInput {
            username: body.username,
            password: body.password,
            totp: body.totp,
            client,
            device: device_token(&headers),
        })
        .await?;
    Ok(signed_in(&st, &headers, out).await)
}

/// The answer to a completed sign-in (password and code, or passkey): ends the session
/// the browser had, answers [`LoginAnswer`] and sets the session cookie and, for a
/// session that need not enrol, the device cookie.
pub(super) async fn signed_in(st: &AppState, headers: &HeaderMap, out: LoginOutcome) -> Response {
    crate::edge::cookie::end_previous_session(st, headers).await;
    let mut resp = Json(LoginAnswer::new(
        out.user,
        out.must_enrol,
        out.must_add_passkey,
    ))
    .into_response();
    if let Ok(v) = session_cookie(&out.token).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    if let Some(d) = &out.device
        && let Ok(v) = device_cookie(d, st.vault.settings().login.device_days).parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `POST /api/v1/logout`.
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204, description = "Signed out; the session cookie is cleared")))]
pub(super) async fn logout(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> ApiResult<Response> {
    let v = st.vault.clone();
    v.logout(&s).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = clear_cookie().parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who am I.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MeAnswer {
    #[schema(format = Uuid)]
    id: String,
    username: String,
    #[schema(value_type = super::users::Role)]
    role: String,
    office: Option<String>,
    must_enrol_totp: bool,
    /// The session's CSRF token (the pages' forms carry it; the API does not need it).
    csrf_token: String,
}

/// `GET /api/v1/me`.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeAnswer)))]
pub(super) async fn me(EnrollingSession(s): EnrollingSession) -> Json<MeAnswer> {
    Json(MeAnswer {
        id: s.actor.id().to_string(),
        username: s.actor.username().to_string(),
        role: s.actor.role().map(|r| r.to_string()).unwrap_or_default(),
        office: s.actor.office().map(str::to_string),
        must_enrol_totp: s.must_enrol,
        csrf_token: s.csrf.clone(),
    })
}

/// `POST /api/v1/totp/enrol`'s query.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct EnrolParams {
    /// `true`: make a new secret (the app's entry for the old one stops working).
    /// Otherwise an unconfirmed secret is answered again, unchanged.
    new: Option<bool>,
}

/// `POST /api/v1/totp/enrol`: the secret, its otpauth URI and QR code. The secret stays
/// the same until it is confirmed or `?new=true` asks for another.
#[utoipa::path(post, path = "/api/v1/totp/enrol", params(EnrolParams), responses(
    (status = 200, body = crate::vault::Enrolment),
    (status = 400, body = ErrorBody, description = "invalid_query"),
    (status = 409, body = ErrorBody, description = "already_enrolled")))]
pub(super) async fn totp_enrol(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
    q: Result<Query<EnrolParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<crate::vault::Enrolment>> {
    let Query(q) =
        q.map_err(|_| ApiError::bad("invalid_query", "the only query parameter is new=true"))?;
    let new = q.new.unwrap_or(false);
    Ok(Json(st.vault.enrol_totp(&s, new).await?))
}

/// A code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CodeBody {
    /// The first code the authenticator app shows.
    #[schema(value_type = String)]
    totp: Zeroizing<String>,
}

/// Recovery codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

impl RecoveryCodes {
    /// The codes as the API answers them (once).
    pub(super) fn of(codes: &[Zeroizing<String>]) -> Self {
        RecoveryCodes {
            recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// `POST /api/v1/totp/confirm`: the first valid code confirms enrolment.
#[utoipa::path(post, path = "/api/v1/totp/confirm", request_body = CodeBody, responses(
    (status = 200, body = RecoveryCodes),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 409, body = ErrorBody, description = "already_enrolled, or not_enrolling (start with /totp/enrol)")))]
pub(super) async fn totp_confirm(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
    JsonBody(body): JsonBody<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    let codes = st.vault.confirm_totp(&s, &body.totp).await?;
    Ok(Json(RecoveryCodes::of(&codes)))
}

/// Optional step-up code.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StepUpBody {
    /// A fresh authenticator code, when the session proved none within the step-up
    /// window; an empty string counts as absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub(super) totp: Option<Zeroizing<String>>,
}
