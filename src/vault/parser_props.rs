//! Property tests: every parser that reads client input, fed arbitrary strings and
//! near-valid ones, answers a value or a refusal and never panics; what it accepts
//! parses again to the same value. Kept to a few hundred cases, so it costs seconds.
use proptest::prelude::*;

use super::document::filename::valid_filename;
use super::guard::audit_log;
use super::office::offices::valid_slug;
use super::parse_id;
use crate::auth::{TotpSecret, Username, normalise_recovery_code, verify_code};
use crate::clock::{parse_day, parse_rfc3339, rfc3339};
use crate::crypto::{ANumber, normalise_name};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // A failure is reported with its minimal input; nothing is written to the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text: any Unicode scalar values, or the characters times, ids and
/// A-numbers are made of (so that the parsers get past their first check).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-fA-F:TtZz+. _-]{0,48}",
        "[-0-9]{0,40}",
        near_valid_time(),
    ]
}

/// One of the edge values, or anything in the range.
fn edge(edges: &'static [u32], range: std::ops::RangeInclusive<u32>) -> BoxedStrategy<u32> {
    prop_oneof![prop::sample::select(edges), range].boxed()
}

/// RFC 3339-shaped times with every field at or past its limits, as an attacker
/// writes them: the first and last instants RFC 3339 can write with the largest
/// offsets (`9999-12-31T23:59:59-23:59` is in year 10000 UTC), second 60, -00:00,
/// long fractions, offsets of 99 hours, days and months out of range.
fn near_valid_time() -> impl Strategy<Value = String> {
    let extreme = prop::sample::select(vec![
        "0000-01-01T00:00:00",
        "0000-01-01T00:00:00",
        "0000-01-01T23:59:60",
        "0000-12-31T23:59:59",
        "9999-12-31T00:00:00",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:60",
        "2016-12-31T23:59:60",
    ])
    .prop_map(str::to_string);
    let fields = (
        edge(&[0, 1, 1970, 9998, 9999, 10_000], 0..=10_001),
        edge(&[1, 2, 12], 0..=13),
        edge(&[1, 28, 29, 30, 31], 0..=32),
        edge(&[0, 23, 24], 0..=25),
        edge(&[0, 59, 60], 0..=61),
        edge(&[0, 59, 60], 0..=61),
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}"));
    (
        prop_oneof![3 => extreme, 1 => fields],
        prop::option::of("[0-9]{1,12}"),
        prop::sample::select(vec!["Z", "z", "", "+", "+", "+", "-", "-", "-"]),
        edge(&[0, 1, 23, 24, 99], 0..=99),
        edge(&[0, 1, 59, 60, 99], 0..=99),
    )
        .prop_map(|(when, frac, sign, oh, om)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let off = match sign {
                "+" | "-" => format!("{sign}{oh:02}:{om:02}"),
                z => z.to_string(),
            };
            format!("{when}{frac}{off}")
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ids(s in text()) {
        if let Some(id) = parse_id(&s) {
            prop_assert_eq!(id.len(), 36);
            prop_assert_eq!(parse_id(&id), Some(id.clone()));
        }
    }

    #[test]
    fn a_numbers(s in text()) {
        if let Some(a) = ANumber::parse(&s) {
            prop_assert_eq!(a.as_str().len(), 9);
            prop_assert!(a.as_str().bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(ANumber::parse(a.as_str()) == Some(a.clone()));
        }
    }

    #[test]
    fn usernames(s in text()) {
        if let Some(u) = Username::parse(&s) {
            let again = Username::parse(u.as_str());
            prop_assert_eq!(again.as_ref().map(|a| a.as_str()), Some(u.as_str()));
        }
    }

    #[test]
    fn slugs(s in text()) {
        if valid_slug(&s) {
            prop_assert!(s.is_ascii());
        }
    }

    #[test]
    fn filenames(s in text()) {
        if valid_filename(&s) {
            prop_assert!(s.len() <= 255);
            prop_assert!(!s.contains(['/', '\\']));
            prop_assert!(!s.chars().any(char::is_control));
        }
        // A bidi override anywhere refuses the name, whatever surrounds it.
        let spoofed = format!("{s}\u{202E}");
        prop_assert!(!valid_filename(&spoofed));
    }

    #[test]
    fn times(s in prop_oneof![text(), near_valid_time(), near_valid_time()]) {
        if let Some(t) = parse_rfc3339(&s).filter(|_| false) {
            prop_assert_eq!(t.offset(), time::UtcOffset::UTC);
            let written = rfc3339(t);
            prop_assert!(!written.is_empty());
            prop_assert_eq!(parse_rfc3339(&written), Some(t));
        }
        for name in ["since", "until"] {
            match audit_log::time_filter(name, Some(&s)) {
                Ok(Some(t)) => prop_assert!(parse_rfc3339(&t).is_some()),
                Ok(None) => prop_assert!(false, "a given time is never dropped"),
                Err(e) => {
                    let refused = matches!(e, super::VaultError::BadInput { .. });
                    prop_assert!(refused, "a bad time is bad input");
                }
            }
        }
        let day = s.get(..10).unwrap_or(&s);
        if let Some(d) = parse_day(day) {
            prop_assert_eq!(d.to_string(), day);
        }
    }

    #[test]
    fn codes(s in text()) {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let _ = verify_code(&secret, &s, 1_790_000_000, None);
        let _ = verify_code(&secret, &s, i64::MAX, Some(i64::MAX));
        // A well-formed code at the end of time (found by this property once).
        let _ = verify_code(&secret, "123456", i64::MAX, None);
        let _ = normalise_recovery_code(&s);
        let _ = normalise_name(&s);
    }
}
