//! Unit tests of `documents.rs`.
use super::valid_filename;

#[test]
fn filenames() {
    for ok in [
        "passport.pdf",
        "I-589 form (draft).pdf",
        "Expediente de José.docx",
    ] {
        assert!(valid_filename(ok), "{ok}");
    }
    for bad in [
        "",
        ".",
        "..",
        "../etc/passwd",
        "a/b",
        "a\\b",
        "a\nb",
        "a\u{0}b",
        " lead",
        &"x".repeat(256),
    ] {
        assert!(!valid_filename(bad), "{bad:?}");
    }
}
