//! The casework parts of a case page: the "Edit details" form and the history of the
//! client's details, the dated case notes, the hearings and deadlines, and the
//! per-document "Rename" and "Delete (wrong upload)" forms (the posts they make:
//! `casework_actions.rs`).
//!
//! Invariant: each part is shown only when the policy's answer on the case or the
//! document (`CaseView::may`, `DocumentView::may`) allows it, and its data comes from
//! the same audited `Vault` reads as the API; every form carries the CSRF field.
use maud::{Markup, html};
use zeroize::Zeroizing;

use super::case_page::Paging;
use super::error::PageError;
use super::layout::{csrf_field, date_words, day, minute};
use super::parts::code_field;
use crate::edge::AppState;
use crate::i18n::{t, ta};
use crate::vault::{
    CaseMeta, CaseVersions, CaseView, DocumentView, EventList, EventView, NoteList, NoteView,
    PageQuery, SessionInfo,
};

/// The casework a case page shows, each read only when the policy allows it.
#[derive(Default)]
pub(super) struct Casework {
    versions: Option<CaseVersions>,
    notes: Option<NoteList>,
    events: Option<EventList>,
}

/// Notes, events and versions on one case page, at most.
const PAGE_ON_CASE: u64 = 20;
/// Bytes of notes (and of versions) on one case page, at most (before HTML escaping).
const BYTES_ON_CASE: usize = 192 << 10;

impl Casework {
    /// Reads what the actor may see of the case's casework.
    /// One page of each (newest notes, first events, newest versions, unless
    /// `paging` names a later page), so the case page stays small however much a
    /// case holds.
    pub(super) async fn load(
        st: &AppState,
        s: &SessionInfo,
        case: &CaseView,
        paging: &Paging,
    ) -> Result<Casework, PageError> {
        // A note is shown twice (its text and its correction form) and HTML may
        // escape a character into six: a smaller page than the API's keeps the page
        // within a few MiB however long the notes are.
        let page = |after: &Option<String>| PageQuery {
            limit: Some(PAGE_ON_CASE),
            after: after.clone(),
            bytes: Some(BYTES_ON_CASE),
        };
        let mut out = Casework::default();
        if case.may.edit {
            out.versions = Some(
                st.vault
                    .case_versions(&s.actor, &case.id, &page(&paging.versions))
                    .await?,
            );
        }
        if case.may.read_casework {
            out.notes = Some(
                st.vault
                    .list_notes(&s.actor, &case.id, &page(&paging.notes))
                    .await?,
            );
            out.events = Some(
                st.vault
                    .list_events(&s.actor, &case.id, &page(&paging.events))
                    .await?,
            );
        }
        Ok(out)
    }
}

/// What someone typed into "Edit details" that was not saved: shown again so that
/// nothing typed is lost.
pub(super) struct DetailsDraft {
    /// The typed values, as a case's details.
    pub(super) meta: CaseMeta,
    /// Someone else saved first (the form shows their version; the typed values
    /// are listed beside it). Otherwise the form shows the typed values.
    pub(super) conflict: bool,
    /// The version the typed values were based on (named again by the form when it
    /// shows them; after a conflict the form names the current version instead).
    pub(super) version: i64,
}

/// "A012345678" for the stored nine digits.
pub(super) fn a_number_words(a: Option<&str>) -> Option<String> {
    a.map(|a| format!("A{a}"))
}

/// "15 January 2027 at 09:30" (the time only when there is one).
fn at_time(date: &str, time: Option<&str>) -> String {
    match time {
        Some(tm) => format!("{} {} {tm}", date_words(date), t("casework-at")),
        None => date_words(date),
    }
}

/// The value, or a dash for none.
pub(super) fn text_or_dash(v: Option<&str>) -> &str {
    v.filter(|v| !v.is_empty()).unwrap_or("—")
}

/// The fields of the details, in page order: label and value.
fn fields(m: &CaseMeta) -> [(String, Option<String>); 5] {
    [
        (t("casework-field-client-name"), Some(m.client_name.clone())),
        (
            t("casework-field-a-number"),
            a_number_words(m.a_number.as_deref()),
        ),
        (t("casework-field-dob"), m.date_of_birth.clone()),
        (t("casework-field-country"), m.country_of_birth.clone()),
        (t("casework-field-notes"), m.notes.clone()),
    ]
}

/// "Changed on … by …" and the earlier versions with what differed.
pub(super) fn details_history(case: &CaseView, cw: &Casework) -> Markup {
    html! {
        @if let Some(t) = &case.updated_at {
            p.muted.changed { (ta("casework-changed-on", &[("time", &minute(t))])) " "
                strong { (text_or_dash(case.updated_by.as_deref())) } "." }
        }
        @if let Some(v) = cw.versions.as_ref().filter(|v| v.versions.len() > 1) {
            details.history #history open[v.versions.first().is_some_and(|f| f.version != case.version)] {
                summary { @if case.version > 2 { (ta("casework-history-many", &[("n", &(case.version - 1).to_string())])) } @else { (t("casework-history-one")) } }
                ol.history {
                    @for pair in v.versions.windows(2) {
                        li {
                            p { strong { (minute(&pair[0].changed_at)) } " — " (ta("casework-changed-version", &[("name", text_or_dash(Some(&pair[0].changed_by_name))), ("n", &pair[1].version.to_string())])) }
                            ul {
                                @for ((label, new), (_, old)) in fields(&pair[0].metadata).into_iter().zip(fields(&pair[1].metadata)) {
                                    @if new != old {
                                        li { (label) ": " (t("casework-was")) " “" (text_or_dash(old.as_deref())) "”, " (t("casework-became")) " “" (text_or_dash(new.as_deref())) "”" }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(first) = v.versions.last().filter(|f| f.version == 1) {
                        li { p { strong { (minute(&first.changed_at)) } " — " (ta("casework-opened-by", &[("name", text_or_dash(Some(&first.changed_by_name)))])) } }
                    }
                }
                @if let Some(n) = &v.next_after {
                    p.more { a href={ "/cases/" (case.id) "?versions_after=" (n) "#history" } { (t("casework-older-versions")) } }
                }
            }
        }
    }
}

/// The "Edit details" form, prefilled with the current details (or, after a refused
/// edit, with what was typed).
pub(super) fn edit_form(s: &SessionInfo, case: &CaseView, draft: Option<&DetailsDraft>) -> Markup {
    let typed = draft.filter(|d| !d.conflict).map(|d| &d.meta);
    let m = typed.unwrap_or(&case.metadata);
    // After a conflict the form names the version it now shows.
    let version = draft
        .filter(|d| !d.conflict)
        .map_or(case.version, |d| d.version);
    let a = a_number_words(m.a_number.as_deref()).unwrap_or_default();
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        details.edit #edit-details open[draft.is_some()] {
            summary { (t("casework-edit")) }
            @if let Some(d) = draft.filter(|d| d.conflict) {
                div.card.unsaved role="region" aria-label=(t("casework-unsaved")) {
                    h3 { (t("casework-unsaved")) }
                    p.help { (t("casework-unsaved-help")) }
                    dl.meta {
                        @for (label, v) in fields(&d.meta) {
                            div { dt { (label) } dd { (text_or_dash(v.as_deref())) } }
                        }
                    }
                }
            }
            form.card method="post" action={ "/cases/" (case.id) "/details" } {
                (csrf_field(s))
                input type="hidden" name="version" value=(version);
                div.field {
                    label for="edit-client-name" { (t("new-case-client-name")) }
                    input #edit-client-name name="client_name" required maxlength="200" autocomplete="off" value=(m.client_name);
                }
                div.field {
                    label for="edit-a-number" { (t("new-case-a-number")) }
                    input #edit-a-number name="a_number" inputmode="numeric" maxlength="24" autocomplete="off" value=(a) aria-describedby="edit-a-help";
                    p.help #edit-a-help { (t("casework-edit-a-number-help")) }
                }
                div.field {
                    label for="edit-dob" { (t("new-case-dob")) }
                    input #edit-dob name="date_of_birth" type="date" value=(val(&m.date_of_birth));
                }
                div.field {
                    label for="edit-country" { (t("new-case-country")) }
                    input #edit-country name="country_of_birth" maxlength="100" autocomplete="off" value=(val(&m.country_of_birth));
                }
                div.field {
                    label for="edit-notes" { (t("casework-edit-notes")) }
                    textarea #edit-notes name="notes" rows="4" maxlength="20000" { (val(&m.notes)) }
                }
                p.help { (t("casework-edit-kept")) }
                button type="submit" { (t("casework-edit-save")) }
            }
        }
    }
}

fn note_item(s: &SessionInfo, case: &CaseView, n: &NoteView, all: &[NoteView]) -> Markup {
    let find = |id: &Option<String>| id.as_ref().and_then(|id| all.iter().find(|x| &x.id == id));
    let correction = find(&n.corrected_by);
    let corrects = find(&n.corrects);
    html! {
        li.note.corrected[correction.is_some()] id={ "note-" (n.id) } {
            p.note-head {
                strong { (minute(&n.created_at)) } " — " (text_or_dash(Some(&n.author_name)))
                @if let Some(c) = corrects {
                    " · " (t("casework-corrects")) " " a href={ "#note-" (c.id) } { (ta("casework-note-of", &[("time", &minute(&c.created_at))])) }
                }
            }
            @if let Some(c) = correction {
                p.tag { (t("casework-corrected")) }
                p.notes.old { (n.text) }
                p.help { (ta("casework-corrected-on", &[("time", &minute(&c.created_at)), ("name", text_or_dash(Some(&c.author_name)))])) }
                p.notes { (c.text) }
            } @else {
                p.notes { (n.text) }
                @if case.may.add_casework {
                    details.correct {
                        summary { (t("casework-correct")) span.visually-hidden { " " (ta("casework-note-of", &[("time", &minute(&n.created_at))])) } }
                        form method="post" action={ "/cases/" (case.id) "/notes" } {
                            (csrf_field(s))
                            input type="hidden" name="corrects" value=(n.id);
                            div.field {
                                label for={ "correct-" (n.id) } { (t("casework-corrected-note")) }
                                textarea id={ "correct-" (n.id) } name="text" rows="4" maxlength="20000" required { (n.text) }
                                p.help { (t("casework-corrected-help")) }
                            }
                            button type="submit" { (t("casework-save-correction")) }
                        }
                    }
                }
            }
        }
    }
}

/// The dated case notes, newest first, with "Add a note" and "Correct".
pub(super) fn notes_section(s: &SessionInfo, case: &CaseView, cw: &Casework) -> Markup {
    let Some(list) = &cw.notes else {
        return html! {};
    };
    html! {
        section aria-labelledby="case-notes" {
            h2 #case-notes { (t("casework-notes-heading")) }
            @if case.may.add_casework {
                form.card method="post" action={ "/cases/" (case.id) "/notes" } {
                    (csrf_field(s))
                    div.field {
                        label for="note-text" { (t("casework-add-note-label")) }
                        textarea #note-text name="text" rows="3" maxlength="20000" required aria-describedby="note-help" {}
                        p.help #note-help { (t("casework-add-note-help")) }
                    }
                    button type="submit" { (t("casework-add-note")) }
                }
            }
            @if list.notes.is_empty() { p.empty { (t("casework-notes-none")) } } @else {
                ol.notes-list { @for n in &list.notes { (note_item(s, case, n, &list.notes)) } }
            }
            @if let Some(n) = &list.next_after {
                p.more { a href={ "/cases/" (case.id) "?notes_after=" (n) "#case-notes" } { (t("casework-older-notes")) } }
            }
        }
    }
}

/// The kinds of event, as the form offers them.
const KINDS: [(&str, &str); 4] = [
    ("hearing", "event-kind-hearing"),
    ("deadline", "event-kind-deadline-due"),
    ("appointment", "event-kind-appointment"),
    ("other", "event-kind-other"),
];

/// A kind for people.
pub(super) fn kind_words(kind: &str) -> String {
    t(match kind {
        "hearing" => "event-kind-hearing",
        "deadline" => "event-kind-deadline",
        "appointment" => "event-kind-appointment",
        _ => "event-kind-other",
    })
}

fn event_fields(prefix: &str, e: Option<&EventView>) -> Markup {
    let kind = e.map_or("hearing", |e| e.kind.as_str());
    let val = |f: fn(&EventView) -> Option<&str>| e.and_then(f).unwrap_or("").to_owned();
    html! {
        div.field {
            label for={ (prefix) "-kind" } { (t("casework-event-kind")) }
            select id={ (prefix) "-kind" } name="kind" {
                @for (v, label) in KINDS { option value=(v) selected[v == kind] { (t(label)) } }
            }
        }
        div.field {
            label for={ (prefix) "-date" } { (t("casework-event-date")) }
            input id={ (prefix) "-date" } name="date" type="date" required value=(val(|e| Some(e.date.as_str())));
        }
        div.field {
            label for={ (prefix) "-time" } { (t("casework-event-time")) }
            input id={ (prefix) "-time" } name="time" type="time" value=(val(|e| e.time.as_deref()));
        }
        div.field {
            label for={ (prefix) "-place" } { (t("casework-event-place")) }
            input id={ (prefix) "-place" } name="place" maxlength="300" autocomplete="off" value=(val(|e| e.place.as_deref()));
        }
        div.field {
            label for={ (prefix) "-description" } { (t("casework-event-description")) }
            textarea id={ (prefix) "-description" } name="description" rows="2" maxlength="2000" { (val(|e| e.description.as_deref())) }
        }
    }
}

fn event_item(s: &SessionInfo, case: &CaseView, e: &EventView, all: &[EventView]) -> Markup {
    let newer = e
        .replaced_by
        .as_ref()
        .and_then(|id| all.iter().find(|x| &x.id == id));
    let older = e
        .replaces
        .as_ref()
        .and_then(|id| all.iter().find(|x| &x.id == id));
    html! {
        li.event.moved[newer.is_some()] id={ "event-" (e.id) } {
            p.event-when {
                @if newer.is_some() { span.tag { (t("casework-moved")) } " " }
                @let when = html! { time datetime=(e.date) { (date_words(&e.date)) } @if let Some(tm) = &e.time { " " (t("casework-at")) " " (tm) } };
                @if newer.is_some() { s { (when) } } @else { strong { (when) } }
                " — " (kind_words(&e.kind))
                @if let Some(p) = &e.place { " · " (p) }
            }
            @if let Some(d) = &e.description { p.event-what { (d) } }
            @if let Some(n) = newer {
                p.help { (t("casework-replaced-now-on")) " " a href={ "#event-" (n.id) } { (date_words(&n.date)) @if let Some(tm) = &n.time { " " (t("casework-at")) " " (tm) } } "." }
            }
            @if let Some(o) = older {
                p.help { (ta("casework-changed-from", &[("date", &at_time(&o.date, o.time.as_deref())), ("name", text_or_dash(Some(&e.author_name))), ("when", &day(&e.created_at))])) }
            }
            @if newer.is_none() && case.may.add_casework {
                details.change {
                    summary { (t("casework-change")) span.visually-hidden { " " (ta("casework-change-hidden", &[("name", &kind_words(&e.kind)), ("date", &e.date)])) } }
                    form method="post" action={ "/cases/" (case.id) "/events" } {
                        (csrf_field(s))
                        input type="hidden" name="replaces" value=(e.id);
                        (event_fields(&format!("change-{}", e.id), Some(e)))
                        p.help { (t("casework-change-kept")) }
                        button type="submit" { (t("casework-save-change")) }
                    }
                }
            }
        }
    }
}

/// Hearings and deadlines, by date, with "Add" and "Change".
pub(super) fn events_section(s: &SessionInfo, case: &CaseView, cw: &Casework) -> Markup {
    let Some(list) = &cw.events else {
        return html! {};
    };
    html! {
        section aria-labelledby="events" {
            h2 #events { (t("casework-events-heading")) }
            @if list.events.is_empty() { p.empty { (t("casework-events-none")) } } @else {
                ol.events { @for e in &list.events { (event_item(s, case, e, &list.events)) } }
            }
            @if let Some(n) = &list.next_after {
                p.more { a href={ "/cases/" (case.id) "?events_after=" (n) "#events" } { (t("casework-events-more")) } }
            }
            @if case.may.add_casework {
                details.add-event {
                    summary { (t("casework-add-event")) }
                    form.card method="post" action={ "/cases/" (case.id) "/events" } {
                        (csrf_field(s))
                        (event_fields("event", None))
                        button type="submit" { (t("casework-add")) }
                    }
                }
                p.help { (t("casework-events-help-before")) " " a href="/upcoming" { (t("nav-coming-up")) } (t("casework-events-help-after")) }
            }
        }
    }
}

/// The "Rename" and "Delete (wrong upload)" forms of one document row (empty when
/// the policy allows neither).
pub(super) fn document_fixes(s: &SessionInfo, case: &CaseView, d: &DocumentView) -> Markup {
    if !d.may.rename && !d.may.purge {
        return html! {};
    }
    let base = format!("/cases/{}/documents/{}", case.id, d.id);
    html! {
        details.fix {
            summary { (t("casework-fix")) span.visually-hidden { " " (d.filename) } }
            @if d.may.rename {
                form method="post" action={ (base) "/rename" } {
                    (csrf_field(s))
                    div.field {
                        label for={ "rename-" (d.id) } { (t("casework-new-name")) }
                        input id={ "rename-" (d.id) } name="filename" required maxlength="255" autocomplete="off" value=(d.filename);
                    }
                    button.secondary type="submit" { (t("casework-rename")) }
                }
            }
            @if d.may.purge {
                @if case.held {
                    p.help { (t("casework-held-no-delete")) }
                } @else {
                    form method="post" action={ (base) "/purge" } {
                        (csrf_field(s))
                        p.help { (t("casework-wrong-upload")) }
                        (code_field(s, &format!("purge-code-{}", d.id), true, &t("casework-delete-code-help")))
                        button.danger type="submit" { (t("casework-delete")) }
                    }
                }
            }
        }
    }
}

/// What the "Edit details" form posts, as typed.
pub(super) fn draft_meta(
    client_name: &Zeroizing<String>,
    a_number: &Zeroizing<String>,
    date_of_birth: &Zeroizing<String>,
    country_of_birth: &Zeroizing<String>,
    notes: &Zeroizing<String>,
) -> CaseMeta {
    let opt = |v: &Zeroizing<String>| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    CaseMeta {
        client_name: client_name.trim().to_owned(),
        a_number: opt(a_number).map(|a| a.trim_start_matches(['A', 'a']).to_owned()),
        date_of_birth: opt(date_of_birth),
        country_of_birth: opt(country_of_birth),
        notes: opt(notes),
    }
}
