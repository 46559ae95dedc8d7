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
use crate::vault::{CaseView, LinkInput, LinkView, SessionInfo, VaultError, parse_id};

fn state_words(state: &str) -> &'static str {
    match state {
        "live" => "Works",
        "expired" => "Ended",
        "used_up" => "Used up",
        "stopped" => "Stopped (its maker may no longer add documents here)",
        _ => "Revoked",
    }
}

/// The section on the case page (for those who may make links).
pub(super) fn links_section(s: &SessionInfo, case: &CaseView, links: &[LinkView]) -> Markup {
    html! {
        section aria-labelledby="links" {
            h2 #links { "Links for the client to send documents" }
            p { "A link lets the client send files straight into this case from their phone or computer, without an account. The client sees only your office’s name: nothing of the case. Send it over a channel the client trusts; anyone who has it can add files until it ends, and no one can read anything through it." }
            @if links.is_empty() { p.empty { "No link has been made for this case." } } @else {
                div.table-wrap { table {
                    caption.visually-hidden { "Links of this case" }
                    thead { tr { th scope="col" { "Made" } th scope="col" { "Until" } th scope="col" { "Files" }
                        th scope="col" { "Language" } th scope="col" { "State" } th scope="col" { span.visually-hidden { "Revoke" } } } }
                    tbody { @for l in links { tr {
                        td.date { (day(&l.created_at)) }
                        td.date data-label="Until" { (day(&l.expires_at)) }
                        td data-label="Files" { (l.files_received) " of " (l.max_files) }
                        td data-label="Language" { (if l.language == "es" { "Spanish" } else { "English" }) }
                        td data-label="State" { (state_words(&l.state)) }
                        td { @if l.state == "live" {
                            form.inline method="post" action={ "/cases/" (case.id) "/upload-links/" (l.id) "/revoke" } {
                                (csrf_field(s))
                                button.danger type="submit" { "Revoke" span.visually-hidden { " the link made " (day(&l.created_at)) } }
                            }
                        } }
                    } } }
                } }
            }
            h3 { "Make a link" }
            form.card method="post" action={ "/cases/" (case.id) "/upload-links" } {
                (csrf_field(s))
                div.field {
                    label for="link-days" { "Works for (days, 1 to 30)" }
                    input #link-days name="days" type="number" min="1" max="30" value="7" required;
                }
                div.field {
                    label for="link-files" { "Files it takes (1 to 50)" }
                    input #link-files name="max_files" type="number" min="1" max="50" value="10" required;
                }
                div.field {
                    label for="link-language" { "Language of the client’s page" }
                    select #link-language name="language" {
                        option value="en" { "English" }
                        option value="es" { "Spanish (español)" }
                    }
                }
                button type="submit" { "Make a link" }
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

/// "26 de septiembre de 2026" from the page's "26 September 2026".
fn spanish_day(english: &str) -> String {
    const MONTHS: [(&str, &str); 12] = [
        ("January", "enero"),
        ("February", "febrero"),
        ("March", "marzo"),
        ("April", "abril"),
        ("May", "mayo"),
        ("June", "junio"),
        ("July", "julio"),
        ("August", "agosto"),
        ("September", "septiembre"),
        ("October", "octubre"),
        ("November", "noviembre"),
        ("December", "diciembre"),
    ];
    let mut parts = english.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(m), Some(y), None) => match MONTHS.iter().find(|(en, _)| *en == m) {
            Some((_, es)) => format!("{d} de {es} de {y}"),
            None => english.to_owned(),
        },
        _ => english.to_owned(),
    }
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
    let files = made.max_files;
    let en = format!(
        "Please send the documents for your case to the {office} office through this secure link. It works until {until}, for up to {files} files. No account is needed: {url}"
    );
    let es = format!(
        "Por favor, envíe los documentos de su caso a la oficina de {office} por este enlace seguro. Funciona hasta el {}, para un máximo de {files} archivos. No necesita una cuenta: {url}",
        spanish_day(&until)
    );
    let id = parse_id(&case).unwrap_or_default();
    let body = html! {
        p.crumbs { a href={ "/cases/" (id) "#links" } { "← Back to the case" } }
        h1 { "A link for the client" }
        div.banner role="status" {
            p { strong { "Copy the link now: it is shown only this once." } " It works until " (until) " for up to " (files) " files, and you can revoke it on the case page." }
        }
        div.field {
            label for="link-url" { "The link" }
            input.wide #link-url type="text" readonly value=(url);
        }
        div.field {
            label for="words-en" { "Words to send with it, in English" }
            textarea #words-en readonly rows="4" { (en) }
        }
        div.field lang="es" {
            label for="words-es" { "Words to send with it, in Spanish" }
            textarea #words-es readonly rows="4" { (es) }
        }
        p { "Send it over a channel the client trusts (a text to their own phone, a call where you read it out). Anyone who gets the link can add files to this case until it ends; no one can read anything through it." }
    };
    Ok((
        StatusCode::OK,
        page("A link for the client", Some(&s), None, body),
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

#[cfg(test)]
mod tests {
    #[test]
    fn spanish_dates_read_as_spanish() {
        assert_eq!(
            super::spanish_day("26 September 2026"),
            "26 de septiembre de 2026"
        );
        assert_eq!(super::spanish_day("1 May 2027"), "1 de mayo de 2027");
        assert_eq!(super::spanish_day("2026-09-26"), "2026-09-26");
    }
}
