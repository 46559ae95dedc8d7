//! Page parts that more than one page uses: the authenticator-code field and the
//! step-up it feeds, the fixed notices for refused changes, and the small form and
//! query types. Page files import these from here, not from each other.
use axum::http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::layout::Notice;
use crate::vault::{SessionInfo, VaultError};

/// The notice for a refused purge (409 `legal_hold`).
pub(super) const CASE_HOLD_NOTICE: &str = "This case is under a legal hold; lift the hold first.";

/// The same when the hold is on the whole office.
pub(super) const CASE_IN_HELD_OFFICE_NOTICE: &str =
    "This case's office is under a legal hold; lift the office's hold first.";

/// A refused purge of a whole office: a hold covers it or one of its cases.
pub(super) const OFFICE_HOLD_NOTICE: &str =
    "A legal hold covers this office or one of its cases; lift the holds first.";

/// The code field of a form that needs a fresh second factor: shown when the
/// session's code is older than the step-up window (or always, with `always`).
pub(super) fn code_field(s: &SessionInfo, id: &str, always: bool, help: &str) -> Markup {
    html! {
        @if always || !s.actor.fresh() {
            div.field {
                label for=(id) { (crate::i18n::t("code-field-label")) }
                input.code id=(id) name="totp" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6" required aria-describedby={ (id) "-help" };
                p.help id={ (id) "-help" } { (help) }
            }
        }
    }
}

/// What a refused change says on the page it came from, with its status.
pub(super) fn change_error(e: VaultError) -> Result<(StatusCode, Notice), PageError> {
    match e {
        e @ (VaultError::InvalidCode | VaultError::StepUpRequired) => {
            let (status, _) = crate::edge::status::of(&e);
            Ok((status, Notice::Error(super::error::words(e))))
        }
        VaultError::LegalHold => Ok((StatusCode::CONFLICT, Notice::Error(CASE_HOLD_NOTICE.into()))),
        VaultError::BadInput { message: m, .. } | VaultError::Conflict { message: m, .. } => Ok((
            StatusCode::BAD_REQUEST,
            Notice::Error(super::error::field_words(&m)),
        )),
        other => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct DoneQuery {
    pub(super) done: Option<String>,
}

/// A form with no fields but its CSRF token.
#[derive(Deserialize)]
pub(super) struct Nothing {}
