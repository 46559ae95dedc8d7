//! Unseal with a passkey (issue 23): setting a holder key up for a passkey's PRF, and
//! the unseal itself. Each is a start (a step-up request, plus the PRF salt to evaluate)
//! and a finish (the assertion and the PRF result).
//!
//! Invariant: the PRF result is decoded into a wiped buffer and handed to the vault;
//! no answer carries it.
use age::secrecy::SecretString;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, Session};
use super::params::{OfficePath, PathParams};
use super::passkeys::Empty;
use super::{ApiResult, AppState};
use crate::vault::HolderPasskeyChallenge;

/// A step-up request for the office key, with the PRF salt.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub(super) struct PrfChallenge {
    challenge_id: String,
    /// `PublicKeyCredentialRequestOptions` as JSON.
    #[schema(value_type = Object)]
    publicKey: serde_json::Value,
    /// Evaluate the passkey's PRF with this (`extensions.prf.eval.first`), base64url.
    prf_salt: String,
}

impl From<HolderPasskeyChallenge> for PrfChallenge {
    fn from(c: HolderPasskeyChallenge) -> Self {
        PrfChallenge {
            challenge_id: c.challenge.challenge_id,
            publicKey: c.challenge.public_key,
            prf_salt: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.prf_salt),
        }
    }
}

/// Which office.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OfficeBody {
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: String,
}

/// The assertion and the PRF result.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PrfFinish {
    challenge_id: String,
    /// The browser's `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
    /// `getClientExtensionResults().prf.results.first`, base64url (32 bytes).
    #[schema(value_type = String)]
    prf: Zeroizing<String>,
}

/// Setting up: also which office, and the holder's passphrase.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HolderPrfFinish {
    #[schema(pattern = "^[a-z][a-z0-9-]{1,31}$")]
    office: String,
    challenge_id: String,
    /// The browser's `PublicKeyCredential.toJSON()`.
    #[schema(value_type = Object)]
    credential: serde_json::Value,
    /// `getClientExtensionResults().prf.results.first`, base64url (32 bytes).
    #[schema(value_type = String)]
    prf: Zeroizing<String>,
    /// Your holder passphrase (it stays valid; the passkey is a second way in).
    #[schema(value_type = String)]
    passphrase: Zeroizing<String>,
}

fn prf_bytes(text: &str) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map(Zeroizing::new)
        .map_err(|_| {
            ApiError::bad(
                "invalid_prf",
                "\"prf\" is the passkey's PRF result: 32 bytes, base64url",
            )
        })
}

/// `POST /api/v1/me/holder-key/passkey/start`.
#[utoipa::path(post, path = "/api/v1/me/holder-key/passkey/start", request_body = OfficeBody, responses(
    (status = 200, body = PrfChallenge),
    (status = 400, body = ErrorBody, description = "invalid_json, no_passkey (the account has none) or passkeys_unavailable"),
    (status = 409, body = ErrorBody, description = "not_a_holder: set up your holder key first"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn setup_start(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<OfficeBody>,
) -> ApiResult<Json<PrfChallenge>> {
    let c = st
        .vault
        .holder_passkey_start(&s.actor, &body.office)
        .await?;
    Ok(Json(c.into()))
}

/// `POST /api/v1/me/holder-key/passkey/finish`.
#[utoipa::path(post, path = "/api/v1/me/holder-key/passkey/finish", request_body = HolderPrfFinish, responses(
    (status = 204, description = "Your passkey now unseals the office too"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_prf or unseal_failed (the passphrase is not your holder passphrase)"),
    (status = 401, body = ErrorBody, description = "invalid_credentials (not one of your passkeys, or it did not verify)"),
    (status = 409, body = ErrorBody, description = "not_a_holder"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn setup_finish(
    State(st): State<AppState>,
    Session(s): Session,
    JsonBody(body): JsonBody<HolderPrfFinish>,
) -> ApiResult<StatusCode> {
    let prf = prf_bytes(&body.prf)?;
    let pass = SecretString::from(body.passphrase.to_string());
    st.vault
        .holder_passkey_finish(
            &s.actor,
            &body.office,
            &body.challenge_id,
            body.credential,
            prf,
            pass,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/offices/{office}/unseal/passkey/start`.
#[utoipa::path(post, path = "/api/v1/offices/{office}/unseal/passkey/start", params(OfficePath), request_body = Empty, responses(
    (status = 200, body = PrfChallenge),
    (status = 400, body = ErrorBody, description = "invalid_json, no_passkey or passkeys_unavailable"),
    (status = 409, body = ErrorBody, description = "no_passkey_key: your holder key is not set up for a passkey"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn unseal_start(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(_): JsonBody<Empty>,
) -> ApiResult<Json<PrfChallenge>> {
    let c = st.vault.unseal_passkey_start(&s.actor, &office).await?;
    Ok(Json(c.into()))
}

/// `POST /api/v1/offices/{office}/unseal/passkey/finish`.
#[utoipa::path(post, path = "/api/v1/offices/{office}/unseal/passkey/finish", params(OfficePath), request_body = PrfFinish, responses(
    (status = 204, description = "Unsealed"),
    (status = 400, body = ErrorBody, description = "invalid_json, invalid_prf or unseal_failed (another passkey, or its PRF does not open your key)"),
    (status = 401, body = ErrorBody, description = "invalid_credentials (not one of your passkeys, or it did not verify)"),
    (status = 409, body = ErrorBody, description = "no_passkey_key or office_held"),
    (status = 429, body = ErrorBody, description = "too_many_attempts")))]
pub(super) async fn unseal_finish(
    State(st): State<AppState>,
    Session(s): Session,
    PathParams(OfficePath { office }): PathParams<OfficePath>,
    JsonBody(body): JsonBody<PrfFinish>,
) -> ApiResult<StatusCode> {
    let prf = prf_bytes(&body.prf)?;
    st.vault
        .unseal_passkey_finish(&s.actor, &office, &body.challenge_id, body.credential, prf)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
