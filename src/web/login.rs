//! Sign-in, sign-out and the forced TOTP enrolment.
//!
//! The sign-in form comes before any session, so its CSRF defence is a
//! double-submit token: `GET /login` sets a random value in a `__Host-` cookie
//! (`Secure`, `HttpOnly`, `SameSite=Strict`, host-only, so neither another site
//! nor a sibling subdomain can set or read it) and in a hidden field; the post must
//! carry both, equal. A post whose `Origin` names another origin is refused too.
//! (Only as a second check: with `no-referrer` browsers send `Origin: null`.)
//! Errors never say which of username, password or code was wrong.
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::PageError;
use super::layout::{Notice, csrf_field, done_message, page};
use super::session::{EnrolSession, check_csrf, ct_eq};
use crate::edge::AppState;
use crate::edge::cookie::{COOKIE, cookie_value, device_cookie, device_token, session_token};
use crate::i18n::t;
use crate::policy::Role;
use crate::vault::{LoginInput, Refusal, SessionInfo, VaultError};

/// The pre-session CSRF cookie of the sign-in form.
pub const LOGIN_COOKIE: &str = "__Host-casevault_login";

/// Where a role starts.
pub(crate) fn home(role: Option<Role>) -> &'static str {
    match role {
        Some(Role::Admin | Role::Superadmin) => "/admin",
        Some(Role::Auditor) => "/audit",
        _ => "/cases",
    }
}

async fn current_session(st: &AppState, headers: &HeaderMap) -> Option<SessionInfo> {
    let token = session_token(headers)?;
    st.vault.session(&token).await.ok()
}

/// `GET /`: signed-in visitors go to their start page, others to sign in.
pub(super) async fn root(State(st): State<AppState>, headers: HeaderMap) -> Response {
    match current_session(&st, &headers).await {
        Some(s) if s.must_enrol => super::see_other("/enrol"),
        Some(s) => super::see_other(home(s.actor.role())),
        None => super::see_other("/login"),
    }
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    done: Option<String>,
}

fn login_form(token: &str, username: &str) -> Markup {
    html! {
        h1 { (t("login-heading")) }
        form.card method="post" action="/login" {
            input type="hidden" name="login_csrf" value=(token);
            div.field {
                label for="username" { (t("login-username")) }
                input #username name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value=(username);
            }
            div.field {
                label for="password" { (t("login-password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
            }
            div.field {
                label for="totp" { (t("login-code")) }
                input #totp name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="12" aria-describedby="totp-help";
                p.help #totp-help { (t("login-code-help")) }
            }
            button type="submit" { (t("login-submit")) }
        }
        // Shown by the passkey script where the browser can use passkeys.
        section.passkey.card hidden aria-labelledby="passkey-heading" {
            h2 #passkey-heading { (t("login-passkey-heading")) }
            p.help { (t("login-passkey-help")) }
            button #passkey-signin type="button" { (t("login-passkey-button")) }
            p #passkey-status role="alert" hidden {}
        }
    }
}

fn login_response(status: StatusCode, notice: Option<Notice>, username: &str) -> Response {
    let token = crate::crypto::random_token();
    let mut resp = (
        status,
        page(
            &t("login-title"),
            None,
            notice.as_ref(),
            login_form(&token, username),
        ),
    )
        .into_response();
    let cookie = format!("{LOGIN_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /login`.
pub(super) async fn login_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<axum::extract::Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(s) = current_session(&st, &headers).await {
        return super::see_other(if s.must_enrol {
            "/enrol"
        } else {
            home(s.actor.role())
        });
    }
    let notice = q.ok().and_then(|q| done_message(q.0.done.as_deref()));
    login_response(StatusCode::OK, notice, "")
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    login_csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: Zeroizing<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// False when the request's `Origin` names another origin than this server.
/// Browsers send `Origin: null` on our own forms, because every page asks for
/// `Referrer-Policy: no-referrer`; so this check only refuses a foreign origin
/// named outright, and the double-submit token is the real defence.
fn same_origin(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()));
    match (
        origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://")),
        host,
    ) {
        (Some(o), Some(h)) => o.eq_ignore_ascii_case(&h),
        _ => false,
    }
}

/// `POST /login`.
pub(super) async fn login_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ci: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let cookie = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    let token_ok = !cookie.is_empty() && ct_eq(cookie.as_bytes(), f.login_csrf.as_bytes());
    let client = crate::edge::client_ip(ci.as_deref());
    if !token_ok || !same_origin(&headers, &uri) {
        let v = st.vault.clone();
        v.audit_refusal(&client, Refusal::SignInForm).await?;
        return Err(PageError::Csrf);
    }
    let totp = Some(f.totp.clone()).filter(|c| !c.trim().is_empty());
    let username = f.username.clone();
    let out = match st
        .vault
        .login(LoginInput {
            username: f.username,
            password: f.password,
            totp,
            client,
            device: device_token(&headers),
        })
        .await
    {
        Ok(out) => out,
        Err(VaultError::InvalidCredentials | VaultError::TotpRequired) => {
            // Deliberately one message for all three: it must not tell which was wrong.
            return Ok(login_response(
                StatusCode::UNAUTHORIZED,
                Some(Notice::Error(t("login-failed"))),
                &username,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    crate::edge::cookie::end_previous_session(&st, &headers).await;
    let to = if out.must_enrol {
        "/enrol"
    } else {
        home(Role::parse(&out.user.role))
    };
    let mut resp = super::see_other(to);
    let h = resp.headers_mut();
    let device = out
        .device
        .as_ref()
        .map(|d| device_cookie(d, st.vault.settings().login.device_days));
    for c in [
        format!(
            "{COOKIE}={}; HttpOnly; Secure; SameSite=Strict; Path=/",
            out.token.as_str()
        ),
        format!("{LOGIN_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0"),
    ]
    .into_iter()
    .chain(device)
    {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// The sign-out form: only its token.
#[derive(Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /logout` (also from the enrolment page, before TOTP is set up).
pub(super) async fn logout(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
    Form(f): Form<LogoutForm>,
) -> Result<Response, PageError> {
    check_csrf(&st, &s, f.csrf.as_deref(), "logout").await?;
    let v = st.vault.clone();
    v.logout(&s).await?;
    let mut resp = super::see_other("/login?done=signed_out");
    let c = format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The QR code as inline SVG, without the XML prolog. It is generated here from
/// the otpauth URI (no visitor input reaches its markup), so it is safe to embed.
fn qr(svg: &str) -> Markup {
    let start = svg.find("<svg").unwrap_or(0);
    let svg = svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    );
    PreEscaped(svg)
}

fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn enrol_response(
    st: &AppState,
    s: SessionInfo,
    status: StatusCode,
    notice: Option<Notice>,
    new: bool,
) -> Result<Response, PageError> {
    let s2 = s.clone();
    let e = st.vault.enrol_totp(&s2, new).await?;
    let body = html! {
        h1 { (t("enrol-heading")) }
        p { (t("enrol-intro")) }
        ol.steps {
            li { (t("enrol-install")) }
            li {
                p { (t("enrol-scan")) }
                div.qr { (qr(&e.qr_svg)) }
                p { (t("enrol-key")) }
                p { code.secret { (grouped(&e.secret)) } }
            }
            li {
                p { (t("enrol-type-code")) }
                form.card method="post" action="/enrol" {
                    (csrf_field(&s))
                    div.field {
                        label for="totp" { (t("enrol-code")) }
                        input #totp name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                    }
                    button type="submit" { (t("enrol-confirm")) }
                }
            }
        }
        form method="post" action="/enrol/new" {
            (csrf_field(&s))
            p { (t("enrol-start-over")) " "
                button.secondary type="submit" { (t("enrol-new-key")) }
                " " (t("enrol-new-key-after")) }
        }
        form method="post" action="/logout" {
            (csrf_field(&s))
            p { (t("enrol-not-now")) " " button.secondary type="submit" { (t("sign-out")) } }
        }
    };
    Ok((status, page(&t("enrol-title"), None, notice.as_ref(), body)).into_response())
}

/// `GET /enrol`: the secret with its QR code (the same one until it is confirmed or
/// the person asks for a new one).
pub(super) async fn enrol_page(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
) -> Result<Response, PageError> {
    if !s.must_enrol {
        return Ok(super::see_other(home(s.actor.role())));
    }
    enrol_response(&st, s, StatusCode::OK, None, false).await
}

/// `POST /enrol/new`: a new secret (the person asked for one).
pub(super) async fn enrol_new(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
    Form(f): Form<EnrolForm>,
) -> Result<Response, PageError> {
    check_csrf(&st, &s, f.csrf.as_deref(), "enrol").await?;
    if !s.must_enrol {
        return Ok(super::see_other(home(s.actor.role())));
    }
    let notice = Notice::Done(t("enrol-new-key-done"));
    enrol_response(&st, s, StatusCode::OK, Some(notice), true).await
}

#[derive(Deserialize)]
pub(super) struct EnrolForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /enrol`: the first valid code confirms; the recovery codes are shown once.
pub(super) async fn enrol_confirm(
    State(st): State<AppState>,
    EnrolSession(s): EnrolSession,
    Form(f): Form<EnrolForm>,
) -> Result<Response, PageError> {
    check_csrf(&st, &s, f.csrf.as_deref(), "enrol").await?;
    if !s.must_enrol {
        return Ok(super::see_other(home(s.actor.role())));
    }
    let codes = match st.vault.confirm_totp(&s, f.totp.trim()).await {
        Ok(c) => c,
        Err(VaultError::InvalidCode | VaultError::BadInput { .. }) => {
            return enrol_response(
                &st,
                s,
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(t("enrol-code-mismatch"))),
                false,
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let body = html! {
        h1 { (t("enrol-codes-heading")) }
        p { (t("enrol-codes-intro")) }
        p { strong { (t("account-codes-save")) } }
        ul.codes { @for c in &codes { li { code { (c.as_str()) } } } }
        p { a.button href=(home(s.actor.role())) { (t("enrol-codes-continue")) } }
    };
    Ok(page(&t("enrol-codes-title"), None, None, body).into_response())
}
