//! Changes to one case from its page: sharing with a partner (and revoking),
//! closing it, and the upload form for browsers without JavaScript.
//!
//! Invariants: each change is one `Vault` call, decided and audited there; a code
//! typed into a form is proved with `Vault::step_up` first, and a form without one
//! leaves the vault to ask for it; the multipart upload (read by `multipart.rs`,
//! which holds a small fixed amount whatever is sent) checks its CSRF field and
//! decides on the case before reading the file, then streams the file like the API.
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::case_page::{Paging, case_response};
use super::error::PageError;
use super::layout::{Notice, csrf_field, page};
use super::multipart;
use super::session::{PageForm, PageSession, check_csrf};
use crate::edge::AppState;
use crate::vault::{SessionInfo, StepUp, UploadMeta, VaultError, parse_id};

/// The CSRF field of the upload form: a token is far shorter.
const CSRF_FIELD_MAX: usize = 128;

#[derive(Deserialize)]
pub(super) struct ShareForm {
    username: String,
    permission: String,
    until: String,
    /// The "also notes and events" checkbox (present when ticked).
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /cases/{case}/shares` (step-up).
pub(super) async fn share(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<ShareForm>,
) -> Result<Response, PageError> {
    let result = async {
        let date = f.until.trim();
        if crate::clock::parse_day(date).is_none() {
            return Err(VaultError::bad(
                "invalid_time",
                "Choose the last day the partner may see the case.",
            ));
        }
        let expires = format!("{date}T23:59:59Z");
        let step = StepUp::typed(&f.totp);
        st.vault
            .share_case(
                &s.actor,
                &case,
                &crate::vault::ShareInput {
                    username: f.username.trim().to_owned(),
                    permission: f.permission.clone(),
                    expires_at: expires,
                    notes: f.notes.is_some(),
                },
                step,
            )
            .await
    }
    .await;
    let done = match &result {
        Ok(o) if o.changed => "share_changed",
        _ => "shared",
    };
    finish(&st, s, case, result.map(|_| ()), done).await
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /cases/{case}/shares/{share}/revoke` (step-up).
pub(super) async fn revoke(
    State(st): State<AppState>,
    Path((case, share)): Path<(String, String)>,
    PageForm(s, f): PageForm<RevokeForm>,
) -> Result<Response, PageError> {
    let result = st
        .vault
        .revoke_share(&s.actor, &case, &share, StepUp::typed(&f.totp))
        .await;
    finish(&st, s, case, result, "revoked").await
}

#[derive(Deserialize)]
pub(super) struct CloseForm {
    /// `yes` once the person has read what closing means.
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /cases/{case}/close`: first a page that asks (it cannot be reopened; the date
/// retention will delete it), then, confirmed, closes the case.
pub(super) async fn close(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<CloseForm>,
) -> Result<Response, PageError> {
    if f.confirm.as_deref() != Some("yes") {
        // Read as the case page reads it: a case the caller may not see is "Not found".
        let view = st.vault.get_case(&s.actor, &case).await?;
        let days = st.vault.settings().retention.closed_case_days;
        let zone = super::layout::zone();
        let delete_on = st.vault.clock().now() + time::Duration::days(i64::from(days));
        let body = html! {
            p.crumbs { a href={ "/cases/" (view.id) } { "← Back to the case" } }
            h1 { "Close the case of " (view.metadata.client_name) "?" }
            div.banner.held role="alert" {
                p { strong { "A closed case cannot be reopened." } }
                p { "It stays readable until retention deletes it for good, with every document, on "
                    strong { (zone.long_date(delete_on)) } " (" (days) " days from today), unless an administrator places a legal hold on it first." }
            }
            form method="post" action={ "/cases/" (view.id) "/close" } {
                (csrf_field(&s))
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Yes, close this case" }
                " "
                a.button.secondary href={ "/cases/" (view.id) } { "No, keep it open" }
            }
        };
        return Ok(page("Close this case?", Some(&s), None, body).into_response());
    }
    let c = case.clone();
    let result = st.vault.close_case(&s.actor, &c).await;
    finish(&st, s, case, result, "closed").await
}

/// After a change on a case: redirect with a fixed message, or show the case again
/// with what went wrong.
async fn finish(
    st: &AppState,
    s: SessionInfo,
    case: String,
    result: Result<(), VaultError>,
    done: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => {
            let id = parse_id(&case).unwrap_or_default();
            Ok(super::see_other(&format!("/cases/{id}?done={done}")))
        }
        Err(e @ VaultError::InvalidCode) => {
            case_response(
                st,
                s,
                case,
                Paging::default(),
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(super::error::words(e))),
            )
            .await
        }
        Err(VaultError::StepUpRequired) => {
            case_response(
                st,
                s,
                case,
                Paging::default(),
                StatusCode::UNAUTHORIZED,
                Some(Notice::Error(
                    "Enter the 6-digit code from your authenticator app.".into(),
                )),
            )
            .await
        }
        Err(VaultError::BadInput { message: m, .. } | VaultError::Conflict { message: m, .. }) => {
            case_response(
                st,
                s,
                case,
                Paging::default(),
                StatusCode::BAD_REQUEST,
                Some(Notice::Error(super::error::field_words(&m))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /cases/{case}/documents`: the upload form without JavaScript
/// (`multipart/form-data`: the `csrf` field first, then `file`). Each step happens
/// before any more of the body is read: the session; the CSRF token (the first
/// field, at most 128 bytes); the decision on the case; the file part's header
/// (bounded); then the file is streamed into the vault like an API upload. Nothing is
/// buffered whole.
pub(super) async fn upload_form(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    Path(case): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let boundary = multipart::boundary(content_type).ok_or(PageError::BadForm)?;
    let mut form = multipart::Form::new(body.into_data_stream(), &boundary);
    let token = match form.next_part().await.map_err(|_| PageError::BadForm)? {
        Some(p) if p.name.as_deref() == Some("csrf") && p.filename.is_none() => form
            .read_small(CSRF_FIELD_MAX)
            .await
            .ok()
            .and_then(|t| String::from_utf8(t).ok()),
        _ => None,
    };
    check_csrf(&st, &s, token.as_deref(), "upload").await?;
    let upload = match st.vault.permit_upload(&s.actor, &case).await {
        Ok(up) => up,
        Err(e) => return finish(&st, s, case, Err(e), "uploaded").await,
    };
    let part = match form.next_part().await {
        Ok(Some(part)) => part,
        Ok(None) | Err(_) => {
            st.vault.abandon_upload(upload, "incomplete").await?;
            return Err(PageError::BadForm);
        }
    };
    let filename = part
        .filename
        .as_deref()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
        .filter(|n| !n.is_empty());
    let Some(filename) = filename else {
        st.vault.abandon_upload(upload, "no_file").await?;
        return finish(
            &st,
            s,
            case,
            Err(VaultError::bad(
                "missing_file",
                "Choose a file to upload first.",
            )),
            "uploaded",
        )
        .await;
    };
    let meta = UploadMeta {
        filename,
        content_type: part.content_type,
        declared_size: None,
    };
    let stored = st.vault.store_permitted(upload, meta, form.content()).await;
    let result = match stored {
        Ok(_) => Ok(()),
        // Shown on the case page as a notice, like every other refused upload.
        Err(e @ VaultError::TooLarge(_)) => Err(VaultError::bad("too_large", e.to_string())),
        Err(VaultError::BadInput {
            code: "incomplete", ..
        }) => Err(VaultError::bad(
            "upload_failed",
            "The upload did not complete; nothing was stored. Try again.",
        )),
        Err(e) => Err(e),
    };
    finish(&st, s, case, result, "uploaded").await
}
