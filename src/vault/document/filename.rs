//! The one check every filename passes before it is stored: the API upload's
//! `?filename=`, the page upload's file part, and whatever later renames a document.
//!
//! Invariant: a stored filename reads as what it is. It has no path separator, no
//! control character and no invisible formatting character: no bidi override that
//! shows `invoice\u{202E}fdp.exe` as `invoiceexe.pdf`, no zero-width character that
//! makes two names look alike, no line or paragraph separator.

/// Checks a filename: 1 to 255 bytes, not `.`/`..`, no surrounding spaces, no `/` or
/// `\`, no control characters (general category Cc) and no invisible format
/// characters (Cf, and the separators Zl and Zp).
pub(crate) fn valid_filename(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control() || crate::text::is_invisible_format(c))
        && name.trim() == name
}

/// The message a refused filename answers (it never repeats the name).
pub(crate) const INVALID_FILENAME: &str = "a filename must be 1 to 255 bytes without slashes, \
     backslashes, control characters or invisible formatting characters (such as \
     right-to-left overrides or zero-width spaces)";

#[cfg(test)]
mod tests {
    use super::valid_filename;

    #[test]
    fn invisible_format_characters_are_refused() {
        for c in [
            '\u{AD}',
            '\u{61C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2028}',
            '\u{2029}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0001}',
            '\u{E007F}',
            '\u{7F}',
            '\u{85}',
            '\u{9F}',
        ] {
            let name = format!("invoice{c}fdp.exe");
            assert!(!valid_filename(&name), "U+{:04X}", u32::from(c));
        }
        assert!(!valid_filename("\u{FEFF}letter.pdf"));
    }

    #[test]
    fn visible_text_in_any_script_is_kept() {
        for ok in [
            "عقد الإيجار.pdf",
            "דרכון.pdf",
            "Nguyễn Văn A — hộ chiếu.pdf",
            "护照 扫描件.jpg",
            "résumé (1).docx",
            "😀 photo.png",
        ] {
            assert!(valid_filename(ok), "{ok}");
        }
    }
}
