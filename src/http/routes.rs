//! Route table and handlers. Each handler: parse, one vault call, answer.
use age::secrecy::SecretString;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::ApiError;
use super::extract::{COOKIE, EnrollingSession, JsonBody, Session};
use super::{AppState, blocking};
use crate::vault::{
    CaseInput, CaseSummary, CaseView, DocumentView, LoginInput, NewUser, OfficeMode, UserView,
};

type ApiResult<T> = Result<T, ApiError>;

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/totp/enrol", post(totp_enrol))
        .route("/totp/confirm", post(totp_confirm))
        .route("/cases", get(list_cases).post(create_case))
        .route("/cases/{case}", get(get_case))
        .route(
            "/cases/{case}/documents",
            get(list_documents).post(super::transfer::upload),
        )
        .route(
            "/cases/{case}/documents/{doc}",
            get(super::transfer::download),
        )
        .route("/cases/{case}/shares", post(create_share))
        .route("/cases/{case}/shares/{share}", delete(revoke_share))
        .route("/cases/{case}/assignments", post(assign_case))
        .route("/offices", get(list_offices).post(create_office))
        .route("/offices/{office}/seal", post(seal))
        .route("/offices/{office}/unseal", post(unseal))
        .route("/seal-all", post(seal_all))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{user}/disable", post(disable_user))
        .route("/users/{user}/enable", post(enable_user))
        .route("/users/{user}/reset-password", post(reset_password))
        .route("/users/{user}/reset-totp", post(reset_totp))
        .route("/openapi.json", get(super::openapi::openapi_json))
        .merge(super::admin::api())
        .fallback(|| async { ApiError::not_found() })
}

pub(super) fn root() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// `GET /healthz`: 200, reveals nothing.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The server is up")))]
pub(super) async fn healthz() -> &'static str {
    "ok"
}

// ---------- sign-in ----------

/// Sign-in request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    username: String,
    #[schema(value_type = String)]
    password: Zeroizing<String>,
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
}

fn client_addr(headers: &HeaderMap, ci: Option<&crate::app::ClientAddr>) -> String {
    let _ = headers;
    ci.map(|c| c.0.ip().to_string()).unwrap_or_default()
}

pub(super) fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// `POST /api/v1/login`.
#[utoipa::path(post, path = "/api/v1/login", request_body = LoginBody, responses(
    (status = 200, body = LoginAnswer, description = "Signed in; the session cookie is set"),
    (status = 401, body = super::error::ErrorBody, description = "invalid_credentials, or totp_required when a code is needed"),
    (status = 429, body = super::error::ErrorBody, description = "too many attempts"),
))]
pub(super) async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    ci: Option<axum::Extension<crate::app::ClientAddr>>,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    let client = client_addr(&headers, ci.as_deref());
    let out = st
        .vault
        .login(LoginInput {
            username: body.username,
            password: body.password,
            totp: body.totp,
            client,
        })
        .await?;
    super::extract::end_previous_session(&st, &headers).await;
    let mut resp = Json(LoginAnswer {
        user: out.user,
        must_enrol_totp: out.must_enrol,
    })
    .into_response();
    if let Ok(v) = session_cookie(&out.token).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `POST /api/v1/logout`.
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204, description = "Signed out")))]
pub(super) async fn logout(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> ApiResult<Response> {
    let v = st.vault.clone();
    blocking(move || v.logout(&s)).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = clear_cookie().parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Who am I.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MeAnswer {
    id: String,
    username: String,
    role: String,
    office: Option<String>,
    must_enrol_totp: bool,
    csrf_token: String,
}

/// `GET /api/v1/me`.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeAnswer)))]
pub(super) async fn me(EnrollingSession(s): EnrollingSession) -> Json<MeAnswer> {
    Json(MeAnswer {
        id: s.actor.id.clone(),
        username: s.actor.username.clone(),
        role: s.actor.role.clone(),
        office: s.actor.office.clone(),
        must_enrol_totp: s.must_enrol,
        csrf_token: s.csrf.clone(),
    })
}

/// `POST /api/v1/totp/enrol`: a new secret, its otpauth URI and QR code.
#[utoipa::path(post, path = "/api/v1/totp/enrol", responses((status = 200, body = crate::vault::Enrolment)))]
pub(super) async fn totp_enrol(
    State(st): State<AppState>,
    EnrollingSession(s): EnrollingSession,
) -> ApiResult<Json<crate::vault::Enrolment>> {
    let v = st.vault.clone();
    Ok(Json(blocking(move || v.enrol_totp(&s)).await?))
}

/// A code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CodeBody {
    #[schema(value_type = String)]
    totp: Zeroizing<String>,
}

/// Recovery codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// `POST /api/v1/totp/confirm`: the first valid code confirms enrolment.
#[utoipa::path(post, path = "/api/v1/totp/confirm", request_body = CodeBody, responses((status = 200, body = RecoveryCodes)))]
pub(super) async fn totp_confirm(
    State(st): State<AppState>,
    EnrollingSession(mut s): EnrollingSession,
    JsonBody(body): JsonBody<CodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    let v = st.vault.clone();
    let codes = blocking(move || v.confirm_totp(&mut s, &body.totp)).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
    }))
}

/// Proves a fresh code in the session when the body carries one.
pub(super) async fn maybe_step_up(
    st: &AppState,
    s: &mut crate::vault::SessionInfo,
    totp: Option<Zeroizing<String>>,
) -> ApiResult<()> {
    if let Some(code) = totp
        && !s.actor.fresh
    {
        let v = st.vault.clone();
        let mut sess = s.clone();
        let sess = blocking(move || v.step_up(&mut sess, &code).map(|_| sess)).await?;
        *s = sess;
    }
    Ok(())
}

// ---------- cases ----------

/// `?a_number=` or `?client_name=` (blind-index searches; one at a time).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseQuery {
    /// A-number in any usual spelling (`A012345678`, `012-345-678`, 8 digits).
    a_number: Option<String>,
    /// Client name; compared ignoring case and extra spaces.
    client_name: Option<String>,
}

/// The case list.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CaseList {
    cases: Vec<CaseSummary>,
}

/// `GET /api/v1/cases`.
#[utoipa::path(get, path = "/api/v1/cases", params(CaseQuery), responses((status = 200, body = CaseList)))]
pub(super) async fn list_cases(
    State(st): State<AppState>,
    Session(s): Session,
    q: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CaseList>> {
    let Query(q) = q.map_err(|_| {
        ApiError::bad(
            "invalid_query",
            "the query parameters are a_number or client_name",
        )
    })?;
    let v = st.vault.clone();
    let cases =
        blocking(move || v.search_cases(&s.actor, q.a_number.as_deref(), q.client_name.as_deref()))
            .await?;
    Ok(Json(CaseList { cases }))
}

/// New case body (see CaseInput).
#[derive(Deserialize, utoipa::ToSchema)]
// Never built or read: it only describes the request body to OpenAPI.
#[allow(dead_code)]
pub(super) struct CaseInputDoc {
    office: String,
    client_name: String,
    a_number: Option<String>,
    date_of_birth: Option<String>,
    country_of_birth: Option<String>,
    notes: Option<String>,
}

/// An id.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct IdAnswer {
    id: String,
}

/// `POST /api/v1/cases`.
#[utoipa::path(post, path = "/api/v1/cases", request_body = CaseInputDoc, responses((status = 201, body = IdAnswer)))]
pub(super) async fn create_case(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<CaseInput>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    let v = st.vault.clone();
    let id = blocking(move || v.create_case(&s.actor, &body)).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })))
}

/// `GET /api/v1/cases/{case}`.
#[utoipa::path(get, path = "/api/v1/cases/{case}", responses(
    (status = 200, body = CaseView), (status = 404, body = super::error::ErrorBody), (status = 423, body = super::error::ErrorBody)))]
pub(super) async fn get_case(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
) -> ApiResult<Json<CaseView>> {
    let v = st.vault.clone();
    Ok(Json(blocking(move || v.get_case(&s.actor, &case)).await?))
}

/// The document list.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct DocumentList {
    documents: Vec<DocumentView>,
}

/// `GET /api/v1/cases/{case}/documents`.
#[utoipa::path(get, path = "/api/v1/cases/{case}/documents", responses((status = 200, body = DocumentList)))]
pub(super) async fn list_documents(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
) -> ApiResult<Json<DocumentList>> {
    let v = st.vault.clone();
    let documents = blocking(move || v.list_documents(&s.actor, &case)).await?;
    Ok(Json(DocumentList { documents }))
}

/// A share.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShareBody {
    username: String,
    permission: String,
    expires_at: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// `POST /api/v1/cases/{case}/shares` (step-up).
#[utoipa::path(post, path = "/api/v1/cases/{case}/shares", request_body = ShareBody, responses((status = 201, body = IdAnswer)))]
pub(super) async fn create_share(
    State(st): State<AppState>,
    Session(mut s): Session,
    Path(case): Path<String>,
    JsonBody(body): JsonBody<ShareBody>,
) -> ApiResult<(StatusCode, Json<IdAnswer>)> {
    maybe_step_up(&st, &mut s, body.totp).await?;
    let v = st.vault.clone();
    let id = blocking(move || {
        v.share_case(
            &s.actor,
            &case,
            &body.username,
            &body.permission,
            &body.expires_at,
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })))
}

/// Optional step-up code.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StepUpBody {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub(super) totp: Option<Zeroizing<String>>,
}

/// `DELETE /api/v1/cases/{case}/shares/{share}`.
#[utoipa::path(delete, path = "/api/v1/cases/{case}/shares/{share}", responses((status = 204)))]
pub(super) async fn revoke_share(
    State(st): State<AppState>,
    Session(mut s): Session,
    Path((case, share)): Path<(String, String)>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<StatusCode> {
    maybe_step_up(&st, &mut s, body.totp).await?;
    let v = st.vault.clone();
    blocking(move || v.revoke_share(&s.actor, &case, &share)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assignment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssignBody {
    user_id: String,
}

/// `POST /api/v1/cases/{case}/assignments` (office admin).
#[utoipa::path(post, path = "/api/v1/cases/{case}/assignments", request_body = AssignBody, responses((status = 204)))]
pub(super) async fn assign_case(
    State(st): State<AppState>,
    Session(s): Session,
    Path(case): Path<String>,
    JsonBody(body): JsonBody<AssignBody>,
) -> ApiResult<StatusCode> {
    let v = st.vault.clone();
    blocking(move || v.assign_case(&s.actor, &case, &body.user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- offices ----------

/// An office and its state.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct OfficeState {
    slug: String,
    sealed: bool,
}

/// Offices.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct OfficeList {
    offices: Vec<OfficeState>,
}

/// `GET /api/v1/offices`: slugs and seal state (any signed-in user).
#[utoipa::path(get, path = "/api/v1/offices", responses((status = 200, body = OfficeList)))]
pub(super) async fn list_offices(
    State(st): State<AppState>,
    Session(s): Session,
) -> ApiResult<Json<OfficeList>> {
    let v = st.vault.clone();
    let offices = blocking(move || v.list_offices(&s.actor)).await?;
    Ok(Json(OfficeList {
        offices: offices
            .into_iter()
            .map(|(slug, sealed)| OfficeState { slug, sealed })
            .collect(),
    }))
}

/// New office.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OfficeBody {
    slug: String,
    /// When true the server keeps only the public key; unseal takes the identity.
    #[serde(default)]
    office_held: bool,
}

/// What the office must keep (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct OfficeCreated {
    slug: String,
    recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
}

/// `POST /api/v1/offices` (superadmin).
#[utoipa::path(post, path = "/api/v1/offices", request_body = OfficeBody, responses((status = 201, body = OfficeCreated)))]
pub(super) async fn create_office(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<OfficeBody>,
) -> ApiResult<(StatusCode, Json<OfficeCreated>)> {
    let v = st.vault.clone();
    let mode = if body.office_held {
        OfficeMode::OfficeHeld
    } else {
        OfficeMode::Passphrase
    };
    let slug = body.slug.clone();
    let creds = blocking(move || v.create_office(&s.actor, &body.slug, mode, None)).await?;
    Ok((
        StatusCode::CREATED,
        Json(OfficeCreated {
            slug,
            recipient: creds.recipient.clone(),
            passphrase: creds
                .passphrase
                .as_ref()
                .map(|p| crate::vault::expose(p).to_string()),
            identity: creds
                .identity
                .as_ref()
                .map(|p| crate::vault::expose(p).to_string()),
        }),
    ))
}

/// `POST /api/v1/offices/{office}/seal`.
#[utoipa::path(post, path = "/api/v1/offices/{office}/seal", responses((status = 204)))]
pub(super) async fn seal(
    State(st): State<AppState>,
    Session(s): Session,
    Path(office): Path<String>,
) -> ApiResult<StatusCode> {
    let v = st.vault.clone();
    blocking(move || v.seal(&s.actor, &office)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unseal.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UnsealBody {
    /// The office passphrase (passphrase mode).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    passphrase: Option<Zeroizing<String>>,
    /// The office identity `AGE-SECRET-KEY-1…` (office-held mode).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    identity: Option<Zeroizing<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// `POST /api/v1/offices/{office}/unseal` (step-up).
#[utoipa::path(post, path = "/api/v1/offices/{office}/unseal", request_body = UnsealBody, responses((status = 204), (status = 400, body = super::error::ErrorBody)))]
pub(super) async fn unseal(
    State(st): State<AppState>,
    Session(mut s): Session,
    Path(office): Path<String>,
    JsonBody(body): JsonBody<UnsealBody>,
) -> ApiResult<StatusCode> {
    let secret = match (body.passphrase, body.identity) {
        (Some(p), None) | (None, Some(p)) => SecretString::from(p.to_string()),
        _ => {
            return Err(ApiError::bad(
                "invalid_field",
                "give either \"passphrase\" or \"identity\"",
            ));
        }
    };
    maybe_step_up(&st, &mut s, body.totp).await?;
    let v = st.vault.clone();
    blocking(move || v.unseal(&s.actor, &office, secret)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Panic-seal answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SealAllAnswer {
    sealed: Vec<String>,
}

/// `POST /api/v1/seal-all`: panic seal.
#[utoipa::path(post, path = "/api/v1/seal-all", responses((status = 200, body = SealAllAnswer)))]
pub(super) async fn seal_all(
    State(st): State<AppState>,
    Session(s): Session,
) -> ApiResult<Json<SealAllAnswer>> {
    let v = st.vault.clone();
    let sealed = blocking(move || v.seal_all(&s.actor)).await?;
    Ok(Json(SealAllAnswer { sealed }))
}

// ---------- users ----------

/// Users.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserList {
    users: Vec<UserView>,
}

/// `GET /api/v1/users`.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = UserList)))]
pub(super) async fn list_users(
    State(st): State<AppState>,
    Session(s): Session,
) -> ApiResult<Json<UserList>> {
    let v = st.vault.clone();
    let users = blocking(move || v.list_users(&s.actor)).await?;
    Ok(Json(UserList { users }))
}

/// New user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
    username: String,
    role: String,
    #[serde(default)]
    office: Option<String>,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    supervisor: bool,
    #[schema(value_type = String)]
    password: Zeroizing<String>,
}

/// `POST /api/v1/users`.
#[utoipa::path(post, path = "/api/v1/users", request_body = UserBody, responses((status = 201, body = UserView)))]
pub(super) async fn create_user(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(b): JsonBody<UserBody>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let u = st
        .vault
        .create_user(
            &s.actor,
            NewUser {
                username: b.username,
                role: b.role,
                office: b.office,
                org: b.org,
                supervisor: b.supervisor,
                password: b.password,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// `POST /api/v1/users/{user}/disable`: the account can no longer sign in; its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{user}/disable", responses((status = 204)))]
pub(super) async fn disable_user(
    State(st): State<AppState>,
    Session(s): Session,
    Path(user): Path<String>,
) -> ApiResult<StatusCode> {
    let v = st.vault.clone();
    blocking(move || v.set_user_disabled(&s.actor, &user, true)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{user}/enable`.
#[utoipa::path(post, path = "/api/v1/users/{user}/enable", responses((status = 204)))]
pub(super) async fn enable_user(
    State(st): State<AppState>,
    Session(s): Session,
    Path(user): Path<String>,
) -> ApiResult<StatusCode> {
    let v = st.vault.clone();
    blocking(move || v.set_user_disabled(&s.actor, &user, false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    #[schema(value_type = String)]
    password: Zeroizing<String>,
}

/// `POST /api/v1/users/{user}/reset-password`: sets a new password and ends the user's sessions.
#[utoipa::path(post, path = "/api/v1/users/{user}/reset-password", request_body = PasswordBody, responses((status = 204)))]
pub(super) async fn reset_password(
    State(st): State<AppState>,
    Session(s): Session,
    Path(user): Path<String>,
    JsonBody(b): JsonBody<PasswordBody>,
) -> ApiResult<StatusCode> {
    st.vault.reset_password(&s.actor, &user, b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{user}/reset-totp`: the user must enrol again.
#[utoipa::path(post, path = "/api/v1/users/{user}/reset-totp", responses((status = 204)))]
pub(super) async fn reset_totp(
    State(st): State<AppState>,
    Session(s): Session,
    Path(user): Path<String>,
) -> ApiResult<StatusCode> {
    let v = st.vault.clone();
    blocking(move || v.reset_totp(&s.actor, &user)).await?;
    Ok(StatusCode::NO_CONTENT)
}
