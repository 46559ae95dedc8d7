//! A supervisor confirms accounts of their office that an administrator made, enabled
//! or reset (policy rules 16–17): the list on their case page and the form behind it.
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::cases::list_response;
use super::error::PageError;
use super::layout::{Notice, csrf_field};
use super::session::PageForm;
use crate::edge::AppState;
use crate::i18n::t;
use crate::vault::{SessionInfo, UserView, VaultError};

/// A supervisor's list of accounts an administrator made, enabled or reset: they read
/// nothing until the supervisor confirms them (policy rule 16).
pub(super) fn pending_section(s: &SessionInfo, pending: &[UserView]) -> Markup {
    html! {
        section.card aria-labelledby="pending" {
            h2 #pending { (t("pending-heading")) }
            p { (t("pending-intro")) }
            ul { @for u in pending {
                li {
                    strong { (u.username) } @if u.supervisor { " " (t("users-supervisor-mark")) } " "
                    form.inline method="post" action={ "/users/" (u.id) "/confirm" } {
                        (csrf_field(s))
                        (super::parts::code_field(s, &format!("confirm-{}", u.id), false, &t("users-code-confirm")))
                        button type="submit" { (t("users-confirm")) span.visually-hidden { " " (u.username) } }
                    }
                }
            } }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ConfirmForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /users/{user}/confirm`: a supervisor confirms an account of their office.
pub(super) async fn confirm_access(
    State(st): State<AppState>,
    Path(user): Path<String>,
    PageForm(s, f): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    let step = crate::vault::StepUp::typed(&f.totp);
    match st.vault.confirm_access(&s.actor, &user, None, step).await {
        Ok(()) => Ok(super::see_other("/cases?done=access_confirmed")),
        Err(e @ (VaultError::InvalidCode | VaultError::StepUpRequired)) => {
            let (status, _) = crate::edge::status::of(&e);
            list_response(
                &st,
                s,
                None,
                None,
                status,
                Some(Notice::Error(super::error::words(e))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
