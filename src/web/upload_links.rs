//! The case page's "Links for the client to send documents": make a link (days,
//! files, language), see its address once with the words to send with it in both
//! languages, list the case's links and revoke one.
//!
//! Invariants: each change is one `Vault` call, decided and audited there; a link's
//! address is shown on the page that answers its making and on no other page (the
//! list never has it); the words to send are fixed text with the office, the date,
//! the number of files and the address filled in, nothing about the client.
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::case_page::{Paging, case_response};
use super::error::PageError;
use super::layout::{Notice, csrf_field, day, page};
use super::session::PageForm;
use crate::edge::AppState;
use crate::i18n::{LANG, Lang, message, t, ta};
use crate::vault::{CaseView, LinkInput, LinkView, SessionInfo, VaultError, parse_id};

fn state_words(state: &str) -> String {
    t(match state {
        "live" => "links-state-live",
        "expired" => "links-state-expired",
        "used_up" => "links-state-used-up",
        "stopped" => "links-state-stopped",
        _ => "links-state-revoked",
    })
}

/// The section on the case page (for those who may make links).
pub(super) fn links_section(s: &SessionInfo, case: &CaseView, links: &[LinkView]) -> Markup {
    html! {
        section aria-labelledby="links" {
            h2 #links { (t("links-heading")) }
            p { (t("links-intro")) }
            @if links.is_empty() { p.empty { (t("links-none")) } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { (t("links-caption")) }
                    thead { tr { th scope="col" { (t("links-col-made")) } th scope="col" { (t("links-col-until")) } th scope="col" { (t("links-col-files")) }
                        th scope="col" { (t("links-col-language")) } th scope="col" { (t("links-col-state")) } th scope="col" { span.visually-hidden { (t("links-col-revoke")) } } } }
                    tbody { @for l in links { tr {
                        td.date { (day(&l.created_at)) }
                        td.date data-label=(t("links-col-until")) { (day(&l.expires_at)) }
                        td data-label=(t("links-col-files")) { (ta("links-files-of", &[("n", &l.files_received.to_string()), ("days", &l.max_files.to_string())])) }
                        td data-label=(t("links-col-language")) { (t(if l.language == "es" { "links-language-es" } else { "links-language-en" })) }
                        td data-label=(t("links-col-state")) { (state_words(&l.state)) }
                        td { @if l.state == "live" {
                            form.inline method="post" action={ "/cases/" (case.id) "/upload-links/" (l.id) "/revoke" } {
                                (csrf_field(s))
                                button.danger type="submit" { (t("links-revoke")) span.visually-hidden { " " (ta("links-revoke-hidden", &[("date", &day(&l.created_at))])) } }
                            }
                        } }
                    } } }
                } }
            }
            h3 { (t("links-make-heading")) }
            form.card method="post" action={ "/cases/" (case.id) "/upload-links" } {
                (csrf_field(s))
                div.field {
                    label for="link-days" { (t("links-days")) }
                    input #link-days name="days" type="number" min="1" max="30" value="7" required;
                }
                div.field {
                    label for="link-files" { (t("links-files")) }
                    input #link-files name="max_files" type="number" min="1" max="50" value="10" required;
                }
                div.field {
                    label for="link-language" { (t("links-language")) }
                    select #link-language name="language" {
                        option value="en" { (t("links-option-en")) }
                        option value="es" { (t("links-option-es")) }
                    }
                }
                button type="submit" { (t("links-make")) }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct MakeForm {
    days: String,
    max_files: String,
    language: String,
}

/// A number typed into a form (anything else reads as out of range).
fn typed(n: &str) -> Option<u32> {
    Some(n.trim().parse::<u32>().unwrap_or(u32::MAX))
}

/// `POST /cases/{case}/upload-links`: makes the link and shows its address, once.
pub(super) async fn make(
    State(st): State<AppState>,
    Path(case): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    PageForm(s, f): PageForm<MakeForm>,
) -> Result<Response, PageError> {
    let input = LinkInput {
        expires_in_days: typed(&f.days),
        max_files: typed(&f.max_files),
        language: Some(f.language.clone()),
    };
    let made = match st.vault.make_upload_link(&s.actor, &case, input).await {
        Ok(m) => m,
        Err(VaultError::BadInput { message: m, .. }) => {
            let notice = Notice::Error(super::error::field_words(&m));
            return case_response(
                &st,
                s,
                case,
                Paging::default(),
                StatusCode::BAD_REQUEST,
                Some(notice),
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    };
    let url = format!(
        "{}/u/{}",
        crate::edge::public_base(&st.vault, &headers, &uri),
        made.token.as_str()
    );
    let office = made.office.clone();
    let until = day(&made.expires_at);
    let files = made.max_files.to_string();
    // The words to send are in both languages, whatever the page's language.
    let words = |lang: Lang| {
        let until = LANG.sync_scope(lang, || day(&made.expires_at));
        let args = [
            ("office", office.as_str()),
            ("date", &until),
            ("n", &files),
            ("url", &url),
        ];
        message(lang, "links-words", &args)
    };
    let (en, es) = (words(Lang::En), words(Lang::Es));
    let id = parse_id(&case).unwrap_or_default();
    let body = html! {
        p.crumbs { a href={ "/cases/" (id) "#links" } { (t("links-back")) } }
        h1 { (t("links-made-heading")) }
        div.banner role="status" {
            p { strong { (t("links-copy-now")) } " " (ta("links-works-until", &[("date", &until), ("n", &files)])) }
        }
        div.field {
            label for="link-url" { (t("links-the-link")) }
            input.wide #link-url type="text" readonly value=(url);
        }
        div.field {
            label for="words-en" { (t("links-words-en")) }
            textarea #words-en readonly rows="4" { (en) }
        }
        div.field lang="es" {
            label for="words-es" { (t("links-words-es")) }
            textarea #words-es readonly rows="4" { (es) }
        }
        p { (t("links-send-how")) }
    };
    Ok((
        StatusCode::OK,
        page(&t("links-made-title"), Some(&s), None, body),
    )
        .into_response())
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {}

/// `POST /cases/{case}/upload-links/{link}/revoke`.
pub(super) async fn revoke(
    State(st): State<AppState>,
    Path((case, link)): Path<(String, String)>,
    PageForm(s, _): PageForm<RevokeForm>,
) -> Result<Response, PageError> {
    st.vault.revoke_upload_link(&s.actor, &case, &link).await?;
    let id = parse_id(&case).unwrap_or_default();
    Ok(super::see_other(&format!(
        "/cases/{id}?done=link_revoked#links"
    )))
}
