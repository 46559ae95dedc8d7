//! Changes to one case from its page: sharing with a partner (and revoking),
//! closing it, and the upload form for browsers without JavaScript.
//!
//! Invariants: each change is one `Vault` call, decided and audited there; a code
//! typed into a form is proved with `Vault::step_up` first, and a form without one
//! leaves the vault to ask for it; the multipart upload checks its CSRF field
//! (bounded in size) before reading the file, then streams the file like the API.
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::cases::case_response;
use super::error::PageError;
use super::layout::Notice;
use super::session::{PageForm, PageSession, check_csrf};
use crate::edge::AppState;
use crate::vault::{SessionInfo, StepUp, UploadMeta, VaultError, parse_id};

#[derive(Deserialize)]
pub(super) struct ShareForm {
    username: String,
    permission: String,
    until: String,
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
                f.username.trim(),
                &f.permission,
                &expires,
                step,
            )
            .await
    }
    .await;
    finish(&st, s, case, result.map(|_| ()), "shared").await
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

/// `POST /cases/{case}/close`: closes the case (its retention period starts).
pub(super) async fn close(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, _): PageForm<super::parts::Nothing>,
) -> Result<Response, PageError> {
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
                StatusCode::UNAUTHORIZED,
                Some(Notice::Error(
                    "Enter the 6-digit code from your authenticator app.".into(),
                )),
            )
            .await
        }
        Err(VaultError::BadInput { message: m, .. } | VaultError::Conflict { message: m, .. }) => {
            case_response(st, s, case, StatusCode::BAD_REQUEST, Some(Notice::Error(m))).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A small text field of a multipart form, or None when it is longer than `max`
/// bytes (read chunk by chunk, so an oversized field is never buffered whole).
async fn bounded_text(mut f: axum::extract::multipart::Field<'_>, max: usize) -> Option<String> {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = f.chunk().await {
        if buf.len() + chunk.len() > max {
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).ok()
}

/// `POST /cases/{case}/documents`: the upload form without JavaScript
/// (`multipart/form-data`: the `csrf` field first, then `file`). The file part is
/// streamed into the vault like an API upload; nothing is buffered whole.
pub(super) async fn upload_form(
    State(st): State<AppState>,
    PageSession(s): PageSession,
    Path(case): Path<String>,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    let first = mp.next_field().await.map_err(|_| PageError::BadForm)?;
    let token = match first {
        Some(f) if f.name() == Some("csrf") => bounded_text(f, 128).await,
        _ => None,
    };
    check_csrf(&st, &s, token.as_deref(), "upload").await?;
    let Some(field) = mp.next_field().await.map_err(|_| PageError::BadForm)? else {
        return Err(PageError::BadForm);
    };
    let filename = field
        .file_name()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
        .filter(|n| !n.is_empty());
    let Some(filename) = filename else {
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
        content_type: field.content_type().map(str::to_string),
        declared_size: None,
    };
    let result = match st.vault.store_document(&s.actor, &case, meta, field).await {
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
