//! Checks on free text a person typed (names, notes, places, reasons, usernames,
//! filenames): the one list of characters that make text read as something else.
//!
//! Invariant: text stored or shown to another person has no invisible formatting
//! character: no bidi override that turns `invoice\u{202E}fdp.exe` into
//! `invoiceexe.pdf`, no zero-width character that makes two names look alike, no line
//! or paragraph separator that splits a line where the reader sees none.

/// What a refusal says of invisible formatting characters (never the text itself).
pub const INVISIBLE_FORMAT: &str =
    "invisible formatting characters (such as right-to-left overrides or zero-width spaces)";

/// Whether `c` is a format character (Unicode general category Cf), a line or
/// paragraph separator (Zl, Zp), or one of the few letters and marks that render as
/// nothing at all (the Hangul fillers, the braille blank, the combining grapheme
/// joiner): a name made of them looks empty. The standard library has no general-category lookup
/// and one table is not worth a dependency: these are the Cf ranges of Unicode 15.1
/// (`DerivedGeneralCategory.txt`), plus U+2028 and U+2029.
pub fn is_invisible_format(c: char) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),   // soft hyphen
        (0x0600, 0x0605),   // Arabic number signs
        (0x061C, 0x061C),   // Arabic letter mark
        (0x06DD, 0x06DD),   // Arabic end of ayah
        (0x070F, 0x070F),   // Syriac abbreviation mark
        (0x0890, 0x0891),   // Arabic pound and piastre marks above
        (0x08E2, 0x08E2),   // Arabic disputed end of ayah
        (0x034F, 0x034F),   // combining grapheme joiner (Mn, but shows nothing)
        (0x115F, 0x1160),   // Hangul choseong and jungseong fillers (Lo, blank)
        (0x180E, 0x180E),   // Mongolian vowel separator
        (0x200B, 0x200F),   // zero-width space, joiners, LRM, RLM
        (0x2028, 0x2029),   // line and paragraph separators (Zl, Zp)
        (0x202A, 0x202E),   // bidi embeddings and overrides
        (0x2060, 0x2064),   // word joiner, invisible operators
        (0x2066, 0x206F),   // bidi isolates, deprecated format characters
        (0x2800, 0x2800),   // braille pattern blank (So, blank)
        (0x3164, 0x3164),   // Hangul filler (Lo, blank)
        (0xFEFF, 0xFEFF),   // zero-width no-break space (byte order mark)
        (0xFFA0, 0xFFA0),   // halfwidth Hangul filler (Lo, blank)
        (0xFFF9, 0xFFFB),   // interlinear annotation
        (0x110BD, 0x110BD), // Kaithi number sign
        (0x110CD, 0x110CD), // Kaithi number sign above
        (0x13430, 0x1343F), // Egyptian hieroglyph format controls
        (0x1BCA0, 0x1BCA3), // shorthand format controls
        (0x1D173, 0x1D17A), // musical symbol format controls
        (0xE0001, 0xE0001), // language tag
        (0xE0020, 0xE007F), // tag characters
    ];
    let c = u32::from(c);
    RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Whether `s` holds a character of [`is_invisible_format`].
pub fn has_invisible_format(s: &str) -> bool {
    s.chars().any(is_invisible_format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_characters_and_separators_are_found_and_ordinary_text_is_not() {
        for c in [
            '\u{202E}', '\u{200B}', '\u{2066}', '\u{FEFF}', '\u{2028}', '\u{2029}', '\u{00AD}',
        ] {
            assert!(is_invisible_format(c), "{:04X}", u32::from(c));
            assert!(has_invisible_format(&format!("José{c}Ruiz")));
        }
        for s in [
            "José Hernández Ruiz",
            "Nguyễn Văn An",
            "محمد",
            "line\nbreak\ttab",
        ] {
            assert!(!has_invisible_format(s), "{s}");
        }
    }
}
