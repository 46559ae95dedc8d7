//! iCalendar (RFC 5545) for the "Coming up" download: built on request from the
//! decrypted list, sent, never stored.
//!
//! Invariants: every text value is escaped (backslash, semicolon, comma, newline) and
//! every line folded at 75 octets without splitting a character, so no value can add
//! a property or an event of its own; what goes in is chosen by [`Detail`].
use crate::vault::{Upcoming, UpcomingItem};

/// How much of each event leaves the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Kind, date, time, place and the case's short reference; no client name, no
    /// description.
    Minimal,
    /// Also the client's name and the description.
    Full,
}

/// Escapes a TEXT value (RFC 5545 3.3.11); other control characters are dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets (RFC 5545 3.1), with CRLF.
fn line(out: &mut String, text: &str) {
    let mut used = 0;
    for c in text.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

fn kind_word(kind: &str) -> &'static str {
    match kind {
        "hearing" => "Hearing",
        "deadline" => "Deadline",
        "appointment" => "Appointment",
        _ => "Event",
    }
}

fn compact_date(d: &str) -> String {
    d.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn event(out: &mut String, it: &UpcomingItem, detail: Detail, stamp: &str) {
    let e = &it.event;
    let short: String = it.case_id.chars().take(8).collect();
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}@casevault", e.id));
    line(out, &format!("DTSTAMP:{stamp}"));
    let date = compact_date(&e.date);
    match &e.time {
        // A floating local time: the hearing is at 09:30 wherever it is held.
        Some(t) => {
            let hm: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
            line(out, &format!("DTSTART:{date}T{hm}00"));
            line(out, "DURATION:PT1H");
        }
        None => line(out, &format!("DTSTART;VALUE=DATE:{date}")),
    }
    let summary = match detail {
        Detail::Full => format!("{}: {}", kind_word(&e.kind), it.client_name),
        Detail::Minimal => format!("{} (case {short})", kind_word(&e.kind)),
    };
    line(out, &format!("SUMMARY:{}", escape(&summary)));
    if let Some(p) = &e.place {
        line(out, &format!("LOCATION:{}", escape(p)));
    }
    if detail == Detail::Full
        && let Some(d) = &e.description
    {
        line(out, &format!("DESCRIPTION:{}", escape(d)));
    }
    line(out, "END:VEVENT");
}

/// The calendar. `stamp` is the UTC time of the request as `YYYYMMDDTHHMMSSZ`. It
/// carries no link back to the vault: the request's `Host` is the client's to choose,
/// and the vault's address in a calendar service would name the office's vault.
pub fn calendar(list: &Upcoming, detail: Detail, stamp: &str) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//casevault//Coming up//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "X-WR-CALNAME:casevault: coming up");
    for it in &list.events {
        event(&mut out, it, detail, stamp);
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::EventView;

    fn item(name: &str, place: &str, time: Option<&str>) -> UpcomingItem {
        UpcomingItem {
            case_id: "0b5f3a52-8a8f-4c1e-9d4e-1f2a3b4c5d6e".into(),
            office: "bronx".into(),
            client_name: name.into(),
            event: EventView {
                id: "1b5f3a52-8a8f-4c1e-9d4e-1f2a3b4c5d6e".into(),
                kind: "hearing".into(),
                date: "2026-12-15".into(),
                time: time.map(str::to_owned),
                place: Some(place.into()),
                description: Some("bring I-589\nand passport".into()),
                replaces: None,
                replaced_by: None,
                author: "u".into(),
                author_name: "ana".into(),
                created_at: "2026-12-01T00:00:00Z".into(),
            },
        }
    }

    fn list(items: Vec<UpcomingItem>) -> Upcoming {
        Upcoming {
            from: "2026-12-01".into(),
            to: "2026-12-30".into(),
            events: items,
            sealed_offices: vec![],
            truncated: false,
        }
    }

    #[test]
    fn a_value_cannot_add_a_property_or_an_event() {
        let evil = "Court\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:x;y,z\\";
        let cal = calendar(
            &list(vec![item("Maria", evil, Some("09:30"))]),
            Detail::Full,
            "20261201T000000Z",
        );
        // Exactly one event line (the escaped text holds the words, never a line).
        assert_eq!(
            cal.split("\r\n").filter(|l| *l == "BEGIN:VEVENT").count(),
            1,
            "{cal}"
        );
        assert_eq!(
            cal.split("\r\n")
                .filter(|l| l.starts_with("SUMMARY:"))
                .count(),
            1
        );
        let unfolded = cal.replace("\r\n ", "");
        assert!(
            unfolded
                .contains("LOCATION:Court\\nEND:VEVENT\\nBEGIN:VEVENT\\nSUMMARY:x\\;y\\,z\\\\\r\n"),
            "{cal}"
        );
        assert!(cal.contains("DTSTART:20261215T093000"));
        for l in cal.split("\r\n") {
            assert!(l.len() <= 75, "{l:?}");
            assert!(!l.contains('\r') && !l.contains('\n'));
        }
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn minimal_leaves_out_the_name_and_description() {
        let cal = calendar(
            &list(vec![item("Maria Lopez", "Court 3", None)]),
            Detail::Minimal,
            "20261201T000000Z",
        );
        assert!(!cal.contains("Maria"), "{cal}");
        assert!(!cal.contains("I-589"), "{cal}");
        assert!(cal.contains("SUMMARY:Hearing (case 0b5f3a52)"));
        assert!(cal.contains("DTSTART;VALUE=DATE:20261215"));
        assert!(!cal.contains("URL:"), "{cal}");
        let full = calendar(
            &list(vec![item("Maria Lopez", "Court 3", None)]),
            Detail::Full,
            "20261201T000000Z",
        );
        assert!(full.contains("SUMMARY:Hearing: Maria Lopez"));
        assert!(full.contains("DESCRIPTION:bring I-589\\nand passport"));
    }

    #[test]
    fn long_lines_fold_on_character_boundaries() {
        let name = "é".repeat(100);
        let cal = calendar(
            &list(vec![item(&name, "x", None)]),
            Detail::Full,
            "20261201T000000Z",
        );
        for l in cal.split("\r\n") {
            assert!(l.len() <= 75, "{l:?}");
        }
        let unfolded = cal.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:Hearing: {name}")));
    }
}
