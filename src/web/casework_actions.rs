//! The casework posts of a case page: saving the client's details, adding or
//! correcting a note, adding or changing a hearing or deadline, and renaming or
//! deleting a wrongly uploaded document.
//!
//! Invariants: each post is read through [`PageForm`] (CSRF checked first) and is one
//! `Vault` call, decided and audited there; an edit always names the version its form
//! showed, so a change saved meanwhile by someone else is reported (409) and nothing
//! typed is lost; deleting a document always proves a newly typed code.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::case_page::{Paging, case_response_with};
use super::casework::{DetailsDraft, draft_meta};
use super::error::PageError;
use super::layout::Notice;
use super::parts::change_error;
use super::session::PageForm;
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::vault::{
    CasePatch, EventInput, NoteInput, RenameInput, SessionInfo, StepUp, VaultError, parse_id,
};

/// What a page says when someone else saved the details first.
pub(super) const CONFLICT_NOTICE: &str = "casework-conflict";

/// Redirects to the case with a fixed `done` word.
fn done(case: &str, word: &str, anchor: &str) -> Response {
    let id = parse_id(case).unwrap_or_default();
    super::see_other(&format!("/cases/{id}?done={word}#{anchor}"))
}

/// A refused change: the case page again with the reason (or an error page).
async fn refused(
    st: &AppState,
    s: SessionInfo,
    case: String,
    e: VaultError,
    draft: Option<DetailsDraft>,
) -> Result<Response, PageError> {
    let (status, notice) = change_error(plain(e))?;
    case_response_with(st, s, case, Paging::default(), status, Some(notice), draft).await
}

/// A field's name in a vault message, for people.
fn label(field: &str) -> Option<String> {
    Some(t(match field {
        "client_name" => "casework-label-client-name",
        "date_of_birth" => "casework-label-dob",
        "country_of_birth" => "casework-label-country",
        "notes" => "casework-label-notes",
        "text" => "casework-label-text",
        "date" => "casework-label-date",
        "time" => "casework-label-time",
        "place" => "casework-label-place",
        "description" => "casework-label-description",
        _ => return None,
    }))
}

/// A refused input in plain words (the vault's messages are written for API clients
/// and name fields by their JSON names). Never echoes a value.
fn plain(e: VaultError) -> VaultError {
    let VaultError::BadInput { code, message } = e else {
        return e;
    };
    let words: String = match code {
        "unknown_note" => t("casework-unknown-note"),
        "unknown_event" => t("casework-unknown-event"),
        "invalid_a_number" => t("casework-invalid-a-number"),
        "invalid_filename" => t("casework-invalid-filename"),
        "invalid_field" => {
            let (field, rest) = message.split_once(' ').unwrap_or((message.as_str(), ""));
            match (field, label(field)) {
                ("kind", _) => t("casework-invalid-kind"),
                ("time", _) => t("casework-invalid-time"),
                (_, Some(l)) if rest.contains("required") => {
                    ta("casework-field-needed", &[("name", &l)])
                }
                (_, Some(l)) if rest.contains("YYYY-MM-DD") => {
                    ta("casework-field-full-date", &[("name", &l)])
                }
                (_, Some(l)) if rest.contains("at most") => {
                    let n: String = rest.chars().filter(char::is_ascii_digit).collect();
                    ta("casework-field-too-long", &[("name", &l), ("n", &n)])
                }
                (_, Some(l)) if rest.contains("control characters") => {
                    ta("casework-field-bad-characters", &[("name", &l)])
                }
                _ => t("casework-field-invalid"),
            }
        }
        _ => message,
    };
    VaultError::bad(code, words)
}

#[derive(Deserialize)]
pub(super) struct DetailsForm {
    client_name: Zeroizing<String>,
    #[serde(default)]
    a_number: Zeroizing<String>,
    #[serde(default)]
    date_of_birth: Zeroizing<String>,
    #[serde(default)]
    country_of_birth: Zeroizing<String>,
    #[serde(default)]
    notes: Zeroizing<String>,
    version: String,
}

/// An optional field as the patch wants it: present, and empty clears it.
fn field(v: &Zeroizing<String>) -> Option<Option<String>> {
    Some(Some(v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// `POST /cases/{case}/details`: saves the client's details if nobody changed them
/// since the form was shown.
pub(super) async fn edit_details(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<DetailsForm>,
) -> Result<Response, PageError> {
    let version = match f.version.trim().parse::<i64>() {
        Ok(v) if v >= 1 => v,
        _ => return Err(PageError::BadForm),
    };
    let patch = CasePatch {
        client_name: Some(f.client_name.trim().to_owned()),
        a_number: field(&f.a_number),
        date_of_birth: field(&f.date_of_birth),
        country_of_birth: field(&f.country_of_birth),
        notes: field(&f.notes),
        version: None,
    };
    let typed = || {
        draft_meta(
            &f.client_name,
            &f.a_number,
            &f.date_of_birth,
            &f.country_of_birth,
            &f.notes,
        )
    };
    match st
        .vault
        .edit_case(&s.actor, &case, &patch, Some(version))
        .await
    {
        Ok(v) if v == version => Ok(done(&case, "details_unchanged", "details")),
        Ok(_) => Ok(done(&case, "details_saved", "details")),
        Err(VaultError::Conflict {
            code: "edit_conflict",
            ..
        }) => {
            // The form is shown again with the current details and version, which
            // the page reads afresh; what was typed is listed beside it.
            let draft = DetailsDraft {
                meta: typed(),
                conflict: true,
                version,
            };
            let notice = Notice::Error(t(CONFLICT_NOTICE));
            case_response_with(
                &st,
                s,
                case,
                Paging::default(),
                StatusCode::CONFLICT,
                Some(notice),
                Some(draft),
            )
            .await
        }
        Err(e) => {
            let draft = DetailsDraft {
                meta: typed(),
                conflict: false,
                version,
            };
            refused(&st, s, case, e, Some(draft)).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    text: Zeroizing<String>,
    #[serde(default)]
    corrects: Option<String>,
}

/// `POST /cases/{case}/notes`: a new note, or a correction of one (`corrects`).
pub(super) async fn add_note(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<NoteForm>,
) -> Result<Response, PageError> {
    let corrects = f.corrects.clone().filter(|c| !c.trim().is_empty());
    let word = if corrects.is_some() {
        "note_corrected"
    } else {
        "note_added"
    };
    let input = NoteInput {
        // Line ends as typed (a browser sends CRLF); only the ends are trimmed.
        text: f.text.trim().replace("\r\n", "\n"),
        corrects,
    };
    match st.vault.add_note(&s.actor, &case, &input).await {
        Ok(_) => Ok(done(&case, word, "case-notes")),
        Err(e) => refused(&st, s, case, e, None).await,
    }
}

#[derive(Deserialize)]
pub(super) struct EventForm {
    kind: String,
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    place: Zeroizing<String>,
    #[serde(default)]
    description: Zeroizing<String>,
    #[serde(default)]
    replaces: Option<String>,
}

/// A browser's time field may carry seconds (`09:30:00`); the vault takes `HH:MM`.
fn hh_mm(t: &str) -> Option<String> {
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    Some(
        t.strip_suffix(":00")
            .filter(|_| t.len() == 8)
            .unwrap_or(t)
            .to_owned(),
    )
}

/// `POST /cases/{case}/events`: a new event, or a change of one (`replaces`).
pub(super) async fn add_event(
    State(st): State<AppState>,
    Path(case): Path<String>,
    PageForm(s, f): PageForm<EventForm>,
) -> Result<Response, PageError> {
    let replaces = f.replaces.clone().filter(|r| !r.trim().is_empty());
    let word = if replaces.is_some() {
        "event_changed"
    } else {
        "event_added"
    };
    let text =
        |v: &Zeroizing<String>| Some(v.trim().replace("\r\n", "\n")).filter(|v| !v.is_empty());
    let input = EventInput {
        kind: f.kind.trim().to_owned(),
        date: f.date.trim().to_owned(),
        time: hh_mm(&f.time),
        place: text(&f.place),
        description: text(&f.description),
        replaces,
    };
    match st.vault.add_event(&s.actor, &case, &input).await {
        Ok(_) => Ok(done(&case, word, "events")),
        Err(e) => refused(&st, s, case, e, None).await,
    }
}

#[derive(Deserialize)]
pub(super) struct RenameForm {
    filename: Zeroizing<String>,
}

/// `POST /cases/{case}/documents/{doc}/rename`.
pub(super) async fn rename(
    State(st): State<AppState>,
    Path((case, doc)): Path<(String, String)>,
    PageForm(s, f): PageForm<RenameForm>,
) -> Result<Response, PageError> {
    let input = RenameInput {
        filename: f.filename.trim().to_owned(),
    };
    match st
        .vault
        .rename_document(&s.actor, &case, &doc, &input)
        .await
    {
        Ok(()) => Ok(done(&case, "renamed", "docs")),
        Err(e) => refused(&st, s, case, e, None).await,
    }
}

#[derive(Deserialize)]
pub(super) struct PurgeForm {
    #[serde(default)]
    totp: Zeroizing<String>,
}

/// `POST /cases/{case}/documents/{doc}/purge`: shreds a wrongly uploaded document
/// (policy rule 22), proving the typed code first.
pub(super) async fn purge(
    State(st): State<AppState>,
    Path((case, doc)): Path<(String, String)>,
    PageForm(s, f): PageForm<PurgeForm>,
) -> Result<Response, PageError> {
    // Always a newly typed code: an empty field is refused here rather than left to a
    // fresh session, because this cannot be undone.
    if f.totp.trim().is_empty() {
        return refused(&st, s, case, VaultError::StepUpRequired, None).await;
    }
    let result = st
        .vault
        .purge_document(&s.actor, &case, &doc, StepUp::typed(&f.totp))
        .await;
    match result {
        Ok(_) => Ok(done(&case, "document_deleted", "docs")),
        Err(e) => refused(&st, s, case, e, None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_plain_words() {
        let say = |code, m: &str| match plain(VaultError::bad(code, m.to_owned())) {
            VaultError::BadInput { message, .. } => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            say("invalid_field", "text is required"),
            "The note is needed."
        );
        assert_eq!(
            say("invalid_field", "place may have at most 300 characters"),
            "The place is too long: at most 300 characters."
        );
        assert_eq!(
            say("invalid_field", "date_of_birth must be YYYY-MM-DD"),
            "The date of birth must be a full date."
        );
        assert!(
            say("unknown_note", "corrects must name a note of this case").starts_with("That note")
        );
        assert!(!say("invalid_field", "zzz contains x").contains("zzz"));
    }

    #[test]
    fn times_lose_only_zero_seconds() {
        assert_eq!(hh_mm("09:30:00").as_deref(), Some("09:30"));
        assert_eq!(hh_mm(" 09:30 ").as_deref(), Some("09:30"));
        assert_eq!(hh_mm("09:30:15").as_deref(), Some("09:30:15"));
        assert_eq!(hh_mm(""), None);
    }
}
