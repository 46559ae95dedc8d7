//! Office key custody (issue 23): the key holders of an office, invitations, a
//! holder's own key, removal and rotation.
//!
//! Invariants: a holder's passphrase is sent once, in the answer that sets up their
//! key; a secret a request proves is held only in types that wipe on drop; no answer
//! carries a recipient or any key material.
use age::secrecy::SecretString;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::auth::StepUpBody;
use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{OfficePath, PathParams};
use super::{ApiResult, AppState};
use crate::vault::{HolderView, StepUp};

/// A key holder.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HolderDoc {
    #[schema(format = Uuid)]
    id: String,
    /// The account; absent for the office passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// `office` (the office passphrase) or `passphrase`.
    kind: String,
    /// `invited` (no key yet), `waiting` (key set up; joins at the next unseal) or
    /// `active`.
    state: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    /// Their key also opens with one of their passkeys (unseal by passkey).
    passkey: bool,
}

impl From<HolderView> for HolderDoc {
    fn from(h: HolderView) -> Self {
        HolderDoc {
            id: h.id,
            username: h.username,
            kind: h.kind,
            state: h.state,
            created_at: h.created_at,
            last_used_at: h.last_used_at,
            passkey: h.passkey,
        }
    }
}

/// The key holders of an office.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HolderList {
    holders: Vec<HolderDoc>,
}

/// `GET /api/v1/offices/{office}/holders` (the office's administrators).
#[utoipa::path(get, path = "/api/v1/offices/{office}/holders", params(OfficePath), responses(
    (status = 200, body = HolderList),
    (status = 403, body = ErrorBody, description = "forbidden: not an administrator of this office")))]
pub(super) async fn list(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
) -> ApiResult<Json<HolderList>> {
    let holders = st.vault.list_holders(&s.actor, &office).await?;
    Ok(Json(HolderList {
        holders: holders.into_iter().map(HolderDoc::from).collect(),
    }))
}

/// An invitation to hold the office key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct InviteBody {
    /// An administrator of this office.
    #[schema(max_length = 64)]
    username: String,
    /// The inviter's proof: their own holder passphrase, or the office passphrase.
    /// Not needed while the office is unsealed by recovery shares.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    passphrase: Option<Zeroizing<String>>,
    /// A fresh authenticator code, unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// An invitation made.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Invited {
    #[schema(format = Uuid)]
    id: String,
    /// Always `invited`: the person sets up their own key next.
    state: &'static str,
}

/// `POST /api/v1/offices/{office}/holders` (step-up; proves a holder secret).
#[utoipa::path(post, path = "/api/v1/offices/{office}/holders", params(OfficePath), request_body = InviteBody, responses(
    (status = 201, body = Invited),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_holder (not an administrator of this office), unseal_failed (the passphrase proves no holder secret), passphrase_required or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "already_holder, or office_held")))]
pub(super) async fn invite(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<InviteBody>,
) -> ApiResult<(StatusCode, Json<Invited>)> {
    let proof = body.passphrase.map(|p| SecretString::from(p.to_string()));
    let step = StepUp::if_stale(body.totp);
    let id = st
        .vault
        .invite_holder(&s.actor, &office, &body.username, proof, step)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Invited {
            id,
            state: "invited",
        }),
    ))
}

/// Setting up one's own holder key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HolderKeyBody {
    /// The office that invited you.
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: String,
    /// A fresh authenticator code, unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// Your holder key: its passphrase is shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct HolderKeyDoc {
    #[schema(format = Uuid)]
    id: String,
    /// Your own passphrase for the office key. Shown once; write it down and keep it
    /// apart from your password.
    passphrase: String,
    /// `active` (the office was unsealed: your key opens it now) or `waiting` (it
    /// joins at the next unseal by another holder).
    state: &'static str,
}

/// `POST /api/v1/me/holder-key` (step-up; invited administrators).
#[utoipa::path(post, path = "/api/v1/me/holder-key", request_body = HolderKeyBody, responses(
    (status = 201, body = HolderKeyDoc),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "not_invited: no invitation waits for you in that office")))]
pub(super) async fn set_up_key(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<HolderKeyBody>,
) -> ApiResult<(StatusCode, Json<HolderKeyDoc>)> {
    let step = StepUp::if_stale(body.totp);
    let issued = st
        .vault
        .set_up_holder_key(&s.actor, &body.office, step)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(HolderKeyDoc {
            id: issued.id,
            passphrase: crate::vault::expose(&issued.passphrase).to_string(),
            state: issued.state,
        }),
    ))
}

/// `{office}` and `{holder}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct HolderPath {
    /// The office's slug.
    #[param(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: String,
    /// The holder's id (a UUID).
    #[param(format = Uuid)]
    holder: String,
}

/// What a rotation did.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RotationDoc {
    /// Whether the office key was replaced (removing a holder who was only invited
    /// does not replace it).
    rotated: bool,
    /// Cases re-wrapped to the new office key.
    cases: u64,
}

impl From<crate::vault::Rotation> for RotationDoc {
    fn from(r: crate::vault::Rotation) -> Self {
        RotationDoc {
            rotated: r.rotated,
            cases: r.cases,
        }
    }
}

/// `DELETE /api/v1/offices/{office}/holders/{holder}` (step-up; office unsealed).
#[utoipa::path(delete, path = "/api/v1/offices/{office}/holders/{holder}", params(HolderPath), request_body = StepUpBody, responses(
    (status = 200, body = RotationDoc, description = "Removed, and the office key rotated: their passphrase opens nothing from now on"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 404, body = ErrorBody, description = "not_found"),
    (status = 409, body = ErrorBody, description = "last_holder (nobody else could unseal), office_held or office_key_rotated"),
    (status = 423, body = ErrorBody, description = "office_sealed: unseal the office first")))]
pub(super) async fn remove(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(HolderPath { office, holder }): PathParams<HolderPath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<RotationDoc>> {
    let step = StepUp::if_stale(body.totp);
    let r = st
        .vault
        .remove_holder(&s.actor, &office, &holder, step)
        .await?;
    Ok(Json(r.into()))
}

/// `POST /api/v1/offices/{office}/rotate` (step-up; office unsealed).
#[utoipa::path(post, path = "/api/v1/offices/{office}/rotate", params(OfficePath), request_body = StepUpBody, responses(
    (status = 200, body = RotationDoc),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "office_held or office_key_rotated"),
    (status = 423, body = ErrorBody, description = "office_sealed: unseal the office first")))]
pub(super) async fn rotate(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<StepUpBody>,
) -> ApiResult<Json<RotationDoc>> {
    let step = StepUp::if_stale(body.totp);
    let r = st.vault.rotate_office(&s.actor, &office, step).await?;
    Ok(Json(r.into()))
}

/// Recovery shares to make.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoveryBody {
    /// How many shares unseal the office (at least 2).
    #[schema(minimum = 2, maximum = 16)]
    threshold: u8,
    /// How many shares to make (at least the threshold, at most 16).
    #[schema(minimum = 2, maximum = 16)]
    shares: u8,
    /// Your own holder passphrase, or the office passphrase.
    #[schema(value_type = String)]
    passphrase: Zeroizing<String>,
    /// A fresh authenticator code, unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// The shares, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RecoveryDoc {
    /// One line per share. Hand each to a different person, on paper; any
    /// `threshold` of them unseal the office. They are never shown again, and making
    /// shares again replaces these (and rotates the office key).
    shares: Vec<String>,
}

/// `POST /api/v1/offices/{office}/recovery` (step-up; proves a holder secret; office
/// unsealed).
#[utoipa::path(post, path = "/api/v1/offices/{office}/recovery", params(OfficePath), request_body = RecoveryBody, responses(
    (status = 201, body = RecoveryDoc),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_recovery, unseal_failed (the passphrase proves no holder secret) or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "office_held or office_key_rotated"),
    (status = 423, body = ErrorBody, description = "office_sealed: unseal the office first")))]
pub(super) async fn recovery(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<RecoveryBody>,
) -> ApiResult<(StatusCode, Json<RecoveryDoc>)> {
    let proof = SecretString::from(body.passphrase.to_string());
    let step = StepUp::if_stale(body.totp);
    let lines = st
        .vault
        .make_recovery(&s.actor, &office, body.threshold, body.shares, proof, step)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecoveryDoc {
            shares: lines.iter().map(|l| l.to_string()).collect(),
        }),
    ))
}
