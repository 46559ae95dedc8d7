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

/// A client's filename made storable instead of refused (a client sending through a
/// link cannot be asked to rename a file): only its last path segment, every
/// character [`valid_filename`] refuses turned into `_`, spaces trimmed, at most 255
/// bytes; `document` when nothing is left.
pub fn client_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let mut out = String::new();
    for c in base.chars() {
        let c = if c.is_control() || crate::text::is_invisible_format(c) {
            '_'
        } else {
            c
        };
        if out.len() + c.len_utf8() > 255 {
            break;
        }
        out.push(c);
    }
    let out = out.trim();
    if out.is_empty() || out == "." || out == ".." {
        "document".to_string()
    } else {
        out.to_string()
    }
}

/// The message a refused filename answers (it never repeats the name).
pub(crate) const INVALID_FILENAME: &str = "a filename must be 1 to 255 bytes without slashes, \
     backslashes, control characters or invisible formatting characters (such as \
     right-to-left overrides or zero-width spaces)";

#[cfg(test)]
mod tests {
    use super::{client_filename, valid_filename};

    #[test]
    fn a_clients_filename_is_made_storable() {
        for (raw, want) in [
            ("C:\\Users\\ana\\pasaporte.jpg", "pasaporte.jpg"),
            ("a/b/acta de nacimiento.pdf", "acta de nacimiento.pdf"),
            ("inv\u{202E}fdp.exe", "inv_fdp.exe"),
            ("  ", "document"),
            ("..", "document"),
            ("x\ny.pdf", "x_y.pdf"),
        ] {
            let got = client_filename(raw);
            assert_eq!(got, want, "{raw:?}");
            assert!(valid_filename(&got));
        }
        let long = "é".repeat(300);
        let got = client_filename(&long);
        assert!(got.len() <= 255 && valid_filename(&got));
    }

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
