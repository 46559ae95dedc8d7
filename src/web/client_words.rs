//! Every word of the client's upload page, in English and in Spanish: two fixed tables
//! keyed by message id (the same ids a Fluent file would use, so the tables can move
//! to `locales/en/` and `locales/es/` as they are). `{office}` and `{n}` are filled in
//! by the page.
//!
//! Invariant: both tables have the same ids and the same placeholders (a test checks);
//! a text never carries anything the visitor sent. Spanish is the plain Spanish of a
//! legal-services office writing to a client: "usted", no legal jargon.

/// The two languages of the client's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// `en` or `es`; anything else is English.
    pub(super) fn parse(code: &str) -> Lang {
        if code.eq_ignore_ascii_case("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// The code of the language (`lang` attribute, `?lang=`).
    pub(super) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The other language (the page's switch).
    pub(super) fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Es,
            Lang::Es => Lang::En,
        }
    }
}

const EN: &[(&str, &str)] = &[
    ("language-name", "English"),
    ("page-title", "Send documents"),
    ("to-office", "To the {office} office"),
    ("heading", "Send your documents"),
    (
        "intro",
        "The person who handles your case asked you to send documents here. Choose one or more files (photos or PDFs) and press Send.",
    ),
    (
        "privacy",
        "Your files are encrypted as they arrive: only your office can open them. This page shows nothing about your case, and files sent earlier cannot be seen here.",
    ),
    (
        "files-left",
        "You can send up to {n} more files with this link.",
    ),
    ("choose", "Choose files"),
    ("choose-help", "You can choose several files at once."),
    ("send", "Send"),
    ("switch", "Ver esta página en español"),
    ("receipt-title", "Files received"),
    ("receipt-heading", "Thank you: we received your files"),
    (
        "receipt-intro",
        "Keep these codes. The person who handles your case sees the same code next to each file.",
    ),
    ("receipt-code", "code"),
    ("send-more", "Send more files"),
    ("gone-title", "This link no longer works"),
    (
        "gone",
        "This link no longer works. Ask your caseworker for a new one.",
    ),
    ("no-file", "Choose a file first, then press Send."),
    (
        "empty",
        "A file was empty (0 bytes) and was not received. Choose the file again.",
    ),
    (
        "too-large",
        "A file was too large and was not received. Ask the person who handles your case how to send it.",
    ),
    (
        "used-up",
        "This link takes no more files. If you need to send more, ask for a new link.",
    ),
    (
        "failed",
        "The sending stopped before the end; that file was not received. Please try again.",
    ),
    (
        "expired-form",
        "This page was open too long. Open the link again and send your files once more.",
    ),
    (
        "busy",
        "The server cannot receive files right now. Please try again later.",
    ),
    (
        "throttled",
        "Too many tries from your connection. Please wait an hour and try again.",
    ),
];

const ES: &[(&str, &str)] = &[
    ("language-name", "Español"),
    ("page-title", "Enviar documentos"),
    ("to-office", "Para la oficina de {office}"),
    ("heading", "Envíe sus documentos"),
    (
        "intro",
        "La persona que lleva su caso le pidió que envíe documentos por aquí. Elija uno o varios archivos (fotos o PDF) y presione Enviar.",
    ),
    (
        "privacy",
        "Sus archivos se cifran al llegar: solo su oficina puede abrirlos. Esta página no muestra nada de su caso, y aquí no se pueden ver los archivos enviados antes.",
    ),
    (
        "files-left",
        "Puede enviar hasta {n} archivos más con este enlace.",
    ),
    ("choose", "Elija los archivos"),
    ("choose-help", "Puede elegir varios archivos a la vez."),
    ("send", "Enviar"),
    ("switch", "View this page in English"),
    ("receipt-title", "Archivos recibidos"),
    ("receipt-heading", "Gracias: recibimos sus archivos"),
    (
        "receipt-intro",
        "Guarde estos códigos. La persona que lleva su caso ve el mismo código junto a cada archivo.",
    ),
    ("receipt-code", "código"),
    ("send-more", "Enviar más archivos"),
    ("gone-title", "Este enlace ya no funciona"),
    (
        "gone",
        "Este enlace ya no funciona. Pídale uno nuevo a la persona que lleva su caso.",
    ),
    (
        "no-file",
        "Primero elija un archivo y luego presione Enviar.",
    ),
    (
        "empty",
        "Un archivo estaba vacío (0 bytes) y no se recibió. Elija el archivo otra vez.",
    ),
    (
        "too-large",
        "Un archivo era demasiado grande y no se recibió. Pregunte a la persona que lleva su caso cómo enviarlo.",
    ),
    (
        "used-up",
        "Este enlace ya no acepta más archivos. Si necesita enviar más, pida un enlace nuevo.",
    ),
    (
        "failed",
        "El envío se interrumpió antes de terminar; ese archivo no se recibió. Inténtelo de nuevo.",
    ),
    (
        "expired-form",
        "Esta página estuvo abierta demasiado tiempo. Abra el enlace otra vez y envíe sus archivos de nuevo.",
    ),
    (
        "busy",
        "El servidor no puede recibir archivos en este momento. Inténtelo más tarde.",
    ),
    (
        "throttled",
        "Demasiados intentos desde su conexión. Espere una hora y vuelva a intentarlo.",
    ),
];

/// The text of message `id` in `lang` (English when a table lacks it, which the test
/// below rules out; the id itself only if neither has it).
pub(super) fn word(lang: Lang, id: &str) -> &'static str {
    let table = match lang {
        Lang::En => EN,
        Lang::Es => ES,
    };
    let find = |t: &[(&'static str, &'static str)]| t.iter().find(|(k, _)| *k == id).map(|e| e.1);
    find(table).or_else(|| find(EN)).unwrap_or("")
}

/// [`word`] with `{office}` and `{n}` filled in.
pub(super) fn fill(lang: Lang, id: &str, office: &str, n: u32) -> String {
    word(lang, id)
        .replace("{office}", office)
        .replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<&str> {
        ["{office}", "{n}"]
            .into_iter()
            .filter(|p| s.contains(p))
            .collect()
    }

    #[test]
    fn both_tables_have_the_same_ids_and_placeholders() {
        assert_eq!(EN.len(), ES.len());
        for ((ke, ve), (ks, vs)) in EN.iter().zip(ES) {
            assert_eq!(ke, ks, "the tables list their ids in the same order");
            assert_eq!(placeholders(ve), placeholders(vs), "{ke}");
            assert!(!ve.is_empty() && !vs.is_empty(), "{ke}");
        }
        let mut ids: Vec<_> = EN.iter().map(|e| e.0).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), EN.len(), "an id is listed twice");
    }

    #[test]
    fn words_are_filled_and_chosen_by_language() {
        assert_eq!(
            fill(Lang::Es, "files-left", "bronx", 3),
            "Puede enviar hasta 3 archivos más con este enlace."
        );
        assert_eq!(word(Lang::En, "send"), "Send");
        assert_eq!(word(Lang::parse("ES"), "send"), "Enviar");
        assert_eq!(Lang::parse("fr"), Lang::En);
        assert_eq!(word(Lang::En, "no-such-id"), "");
    }
}
