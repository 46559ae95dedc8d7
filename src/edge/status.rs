//! The one place that picks an HTTP status (and the API's error code) for a
//! [`VaultError`]. The API's JSON error (`http::error`) and the pages' error page
//! (`web::error`) both ask here, so a page and the API never disagree about what
//! happened. It lives beside them rather than inside `http/` so that `web/` need not
//! import `http/`.
use axum::http::StatusCode;

use crate::vault::VaultError;

/// The status and machine-readable code a client gets for `e`.
pub fn of(e: &VaultError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match e {
        VaultError::NotFound => (S::NOT_FOUND, "not_found"),
        VaultError::Forbidden => (S::FORBIDDEN, "forbidden"),
        VaultError::StepUpRequired => (S::UNAUTHORIZED, "step_up_required"),
        VaultError::InvalidCode => (S::BAD_REQUEST, "invalid_code"),
        VaultError::WrongPassphrase => (S::BAD_REQUEST, "unseal_failed"),
        VaultError::LegalHold => (S::CONFLICT, "legal_hold"),
        VaultError::OfficeSealed(_) => (S::LOCKED, "office_sealed"),
        VaultError::BadInput { code, .. } => (S::BAD_REQUEST, code),
        VaultError::Conflict { code, .. } => (S::CONFLICT, code),
        VaultError::Unauthenticated => (S::UNAUTHORIZED, "unauthenticated"),
        VaultError::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials"),
        VaultError::TotpRequired => (S::UNAUTHORIZED, "totp_required"),
        VaultError::PasskeyRequired => (S::UNAUTHORIZED, "passkey_required"),
        VaultError::Throttled(_) | VaultError::NetworkThrottled(_) | VaultError::Busy(_) => {
            (S::TOO_MANY_REQUESTS, "too_many_attempts")
        }
        VaultError::TooLarge(_) => (S::PAYLOAD_TOO_LARGE, "too_large"),
        VaultError::StoreUnavailable(_) => (S::SERVICE_UNAVAILABLE, "store_unavailable"),
        VaultError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_internal_faults_are_5xx() {
        let client_side = [
            VaultError::NotFound,
            VaultError::Forbidden,
            VaultError::StepUpRequired,
            VaultError::InvalidCode,
            VaultError::WrongPassphrase,
            VaultError::LegalHold,
            VaultError::OfficeSealed("bronx".into()),
            VaultError::bad("invalid_field", "x"),
            VaultError::conflict("exists", "x"),
            VaultError::Unauthenticated,
            VaultError::InvalidCredentials,
            VaultError::TotpRequired,
            VaultError::Throttled(3),
            VaultError::TooLarge(1),
        ];
        for e in &client_side {
            assert!(of(e).0.is_client_error(), "{e:?}");
        }
        assert!(of(&VaultError::Internal("x".into())).0.is_server_error());
    }
}
