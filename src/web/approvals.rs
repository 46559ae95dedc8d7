//! Two-person approvals on the Office page (issue 26): a pending request shows to its
//! requester ("waiting for a second administrator") and to the people who may answer
//! it, with what it will do in plain words and an Approve / Deny form that asks for
//! their code every time.
//!
//! Invariant: the page only offers; the vault decides who may answer (never the
//! requester, in any session) and audits every answer.
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::admin::office_response;
use super::error::PageError;
use super::layout::csrf_field;
use super::parts::{Nothing, change_error, code_field};
use super::session::PageForm;
use crate::edge::AppState;
use crate::vault::{ApprovalView, SessionInfo, StepUp, VaultError};

/// The pending requests the caller made or may answer; nothing when there are none.
pub(super) fn section(s: &SessionInfo, list: &[ApprovalView]) -> Markup {
    let pending: Vec<&ApprovalView> = list.iter().filter(|a| a.status == "pending").collect();
    html! {
        @if !pending.is_empty() {
            section.card.pending aria-labelledby="approvals" {
                h2 #approvals { "Waiting for approval" }
                @for a in &pending {
                    div.approval id={ "approval-" (a.id) } {
                        p { strong { (a.words) } }
                        p.help { "Asked by " (a.requester) " at " (a.created_at) "; expires at " (a.expires_at) ". Approvals: " (a.approvals) " of " (a.needed) "." }
                        @if a.mine {
                            p.state.held { "Waiting for a second administrator. Nothing has been done yet." }
                            form method="post" action={ "/admin/approvals/" (a.id) "/withdraw" } {
                                (csrf_field(s))
                                button.secondary type="submit" { "Withdraw this request" }
                            }
                        } @else if a.may_approve {
                            p { "If you approve, this happens at once and cannot be undone. Approve only if you know why it was asked for." }
                            form method="post" action={ "/admin/approvals/" (a.id) "/approve" } {
                                (csrf_field(s))
                                (code_field(s, &format!("approve-code-{}", a.id), true, "Approving needs a fresh code from your authenticator."))
                                button.danger type="submit" { "Approve" }
                            }
                            form method="post" action={ "/admin/approvals/" (a.id) "/deny" } {
                                (csrf_field(s))
                                (code_field(s, &format!("deny-code-{}", a.id), true, "Denying needs a fresh code too."))
                                button.secondary type="submit" { "Deny" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

async fn answered(
    st: &AppState,
    s: SessionInfo,
    result: Result<ApprovalView, VaultError>,
    done: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(super::see_other(&format!("/admin?done={done}"))),
        Err(e) => {
            let (status, notice) = change_error(e)?;
            office_response(st, s, status, Some(notice)).await
        }
    }
}

/// `POST /admin/approvals/{id}/approve` (a code every time).
pub(super) async fn approve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PageForm(s, f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let r = if f.totp.trim().is_empty() {
        Err(VaultError::StepUpRequired)
    } else {
        st.vault
            .approve_request(&s.actor, &id, StepUp::typed(&f.totp))
            .await
    };
    answered(&st, s, r, "approval_approved").await
}

/// `POST /admin/approvals/{id}/deny` (a code every time).
pub(super) async fn deny(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PageForm(s, f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let r = if f.totp.trim().is_empty() {
        Err(VaultError::StepUpRequired)
    } else {
        st.vault
            .deny_request(&s.actor, &id, StepUp::typed(&f.totp))
            .await
    };
    answered(&st, s, r, "approval_denied").await
}

/// `POST /admin/approvals/{id}/withdraw` (the requester).
pub(super) async fn withdraw(
    State(st): State<AppState>,
    Path(id): Path<String>,
    PageForm(s, _): PageForm<Nothing>,
) -> Result<Response, PageError> {
    let r = st.vault.withdraw_request(&s.actor, &id).await;
    answered(&st, s, r, "approval_withdrawn").await
}
