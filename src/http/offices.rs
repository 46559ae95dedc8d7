//! Offices: list with seal state, create, seal, unseal and the panic seal-all.
//! Holds and purge of a whole office are in `admin.rs`.
//!
//! Invariants: the passphrase or identity an office must keep is sent once, in the
//! answer to its creation; unseal takes exactly one of them (after step-up) and holds it
//! only in types that wipe on drop.
use age::secrecy::SecretString;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::ErrorBody;
use super::extract::{JsonBody, Session};
use super::params::{OfficePath, PathParams};
use super::{ApiError, ApiResult, AppState};
use crate::vault::{OfficeMode, ShareProgress, StepUp};

/// An office and its state.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct OfficeState {
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
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
    let offices = st.vault.list_offices(&s.actor).await?;
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
    /// 2 to 32 of `a-z`, `0-9` and `-`, starting with a letter (not `invalid`).
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    slug: String,
    /// When true the server keeps only the public key; unseal takes the identity.
    #[serde(default)]
    office_held: bool,
    /// The office's time zone (an IANA name such as `America/Chicago`; default `UTC`):
    /// the pages show times in it.
    #[serde(default)]
    time_zone: Option<String>,
}

/// What the office must keep (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct OfficeCreated {
    slug: String,
    /// The office's age recipient (public key).
    recipient: String,
    /// The passphrase that unseals the office (passphrase mode; shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    passphrase: Option<String>,
    /// The identity that unseals the office (office-held mode; shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
}

/// `POST /api/v1/offices` (superadmin).
#[utoipa::path(post, path = "/api/v1/offices", request_body = OfficeBody, responses(
    (status = 201, body = OfficeCreated),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_office (not a slug) or invalid_time_zone"),
    (status = 409, body = ErrorBody, description = "exists: an office has that slug")))]
pub(super) async fn create_office(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<OfficeBody>,
) -> ApiResult<(StatusCode, Json<OfficeCreated>)> {
    let mode = if body.office_held {
        OfficeMode::OfficeHeld
    } else {
        OfficeMode::Passphrase
    };
    let slug = body.slug.clone();
    let zone = body
        .time_zone
        .as_deref()
        .unwrap_or(crate::vault::DEFAULT_TIME_ZONE);
    let creds = st
        .vault
        .create_office_in_zone(&s.actor, &body.slug, mode, zone)
        .await?;
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
#[utoipa::path(post, path = "/api/v1/offices/{office}/seal", params(OfficePath), responses(
    (status = 204, description = "Sealed: the office key left memory")))]
pub(super) async fn seal(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
) -> ApiResult<StatusCode> {
    st.vault.seal(&s.actor, &office).await?;
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
    /// One recovery share (`abcd-1of3-…`): each administrator gives one; the answer
    /// says how many are in until the last one unseals.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 200)]
    share: Option<Zeroizing<String>>,
    /// A fresh authenticator code (step-up), unless the session proved one recently.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    totp: Option<Zeroizing<String>>,
}

/// Shares given so far towards an unseal by recovery shares.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ShareProgressDoc {
    have: u8,
    need: u8,
}

/// `POST /api/v1/offices/{office}/unseal` (step-up).
#[utoipa::path(post, path = "/api/v1/offices/{office}/unseal", params(OfficePath), request_body = UnsealBody, responses(
    (status = 202, body = ShareProgressDoc, description = "A recovery share was accepted; more are needed (from other administrators, within 15 minutes)"),
    (status = 204, description = "Unsealed"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_field (give exactly one of passphrase, identity and share), unseal_failed, invalid_share (a typo: the checksum does not match) or invalid_code"),
    (status = 401, body = ErrorBody, description = "step_up_required (repeat with \"totp\"), or unauthenticated"),
    (status = 409, body = ErrorBody, description = "holder_key_waiting, or share_already_given")))]
pub(super) async fn unseal(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<UnsealBody>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let step = StepUp::if_stale(body.totp);
    match (body.passphrase, body.identity, body.share) {
        (Some(p), None, None) | (None, Some(p), None) => {
            let secret = SecretString::from(p.to_string());
            st.vault.unseal(&s.actor, &office, secret, step).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (None, None, Some(share)) => {
            let share = SecretString::from(share.to_string());
            match st
                .vault
                .unseal_by_share(&s.actor, &office, share, step)
                .await?
            {
                ShareProgress::Waiting { have, need } => Ok((
                    StatusCode::ACCEPTED,
                    Json(ShareProgressDoc { have, need }),
                )
                    .into_response()),
                ShareProgress::Unsealed => Ok(StatusCode::NO_CONTENT.into_response()),
            }
        }
        _ => Err(ApiError::bad(
            "invalid_field",
            "give one of \"passphrase\", \"identity\" and \"share\"",
        )),
    }
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
    let sealed = st.vault.seal_all(&s.actor).await?;
    Ok(Json(SealAllAnswer { sealed }))
}

/// An office's time zone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TimeZoneBody {
    /// An IANA name such as `America/Chicago`, or `UTC`.
    #[schema(max_length = 64)]
    time_zone: String,
}

/// `POST /api/v1/offices/{office}/time-zone` (the office's administrator): the zone
/// the pages show the office's times in. Stored times stay UTC.
#[utoipa::path(post, path = "/api/v1/offices/{office}/time-zone", params(OfficePath), request_body = TimeZoneBody, responses(
    (status = 204, description = "Saved"),
    (status = 400, body = ErrorBody, description = "invalid_json or invalid_time_zone"),
    (status = 403, body = ErrorBody, description = "forbidden"),
    (status = 404, body = ErrorBody, description = "not_found")))]
pub(super) async fn set_time_zone(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(b): JsonBody<TimeZoneBody>,
) -> ApiResult<StatusCode> {
    st.vault
        .set_office_time_zone(&s.actor, &office, &b.time_zone)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
