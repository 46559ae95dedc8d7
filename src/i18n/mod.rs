//! The words people read, in English and Spanish (Project Fluent): `locales/en/` and
//! `locales/es/` hold the same message ids; a page asks for a message by id in the
//! language of the request it is drawing.
//!
//! Invariants: both bundles are compiled in and parsed once; a message missing in
//! Spanish falls back to English, and one missing in both is drawn as `⟦id⟧`, which
//! the tests look for (and `message_ids_match` refuses at build time of the tests). No
//! value a visitor sent is ever a message id.
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// `en` or `es`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// `en` or `es` (and their regional forms: `es-MX`, `en_US`).
    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header that the pages speak,
    /// by its q-values (English when none).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(16) {
            let mut it = part.split(';');
            let Some(lang) = it.next().and_then(Lang::parse) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Es,
            Lang::Es => Lang::En,
        }
    }
}

/// The English messages.
pub const EN_FTL: &str = include_str!("../../locales/en/main.ftl");
/// The Spanish messages.
pub const ES_FTL: &str = include_str!("../../locales/es/main.ftl");

fn bundle(tag: &str, source: &str) -> FluentBundle<FluentResource> {
    // A syntax error keeps the messages that parsed; the parity test names the rest.
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r);
    let lang = tag.parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around values: pages are HTML, escaped by maud.
    b.set_use_isolating(false);
    let _ = b.add_resource(resource);
    b
}

static EN: LazyLock<FluentBundle<FluentResource>> = LazyLock::new(|| bundle("en", EN_FTL));
static ES: LazyLock<FluentBundle<FluentResource>> = LazyLock::new(|| bundle("es", ES_FTL));

fn format(b: &FluentBundle<FluentResource>, id: &str, args: Option<&FluentArgs>) -> Option<String> {
    let pattern = b.get_message(id)?.value()?;
    let mut errors = Vec::new();
    Some(b.format_pattern(pattern, args, &mut errors).into_owned())
}

/// The message `id` in `lang` with named arguments.
pub fn message(lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
    let mut fa = FluentArgs::new();
    for (k, v) in args {
        fa.set(*k, FluentValue::from(*v));
    }
    let args = (!args.is_empty()).then_some(&fa);
    let b: &FluentBundle<FluentResource> = match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
    };
    format(b, id, args)
        .or_else(|| format(&EN, id, args))
        .unwrap_or_else(|| format!("⟦{id}⟧"))
}

tokio::task_local! {
    /// The language of the page being drawn (set per request by the pages' frame).
    pub static LANG: Lang;
}

/// The language of the page being drawn (English outside a page request).
pub fn lang() -> Lang {
    LANG.try_with(|l| *l).unwrap_or_default()
}

/// The message `id` in the page's language.
pub fn t(id: &str) -> String {
    message(lang(), id, &[])
}

/// The message `id` in the page's language, with named arguments.
pub fn ta(id: &str, args: &[(&str, &str)]) -> String {
    message(lang(), id, args)
}

/// The message ids of a Fluent source (for the parity test).
pub fn ids(source: &str) -> std::collections::BTreeSet<String> {
    source
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_match_in_both_languages() {
        let (en, es) = (ids(EN_FTL), ids(ES_FTL));
        assert!(en.len() > 50, "{}", en.len());
        let only_en: Vec<_> = en.difference(&es).collect();
        let only_es: Vec<_> = es.difference(&en).collect();
        assert!(only_en.is_empty(), "only in locales/en: {only_en:?}");
        assert!(only_es.is_empty(), "only in locales/es: {only_es:?}");
        // Every message parses and formats in both languages.
        for id in &en {
            for lang in [Lang::En, Lang::Es] {
                let m = message(
                    lang,
                    id,
                    &[
                        ("name", "x"),
                        ("office", "x"),
                        ("role", "x"),
                        ("zone", "x"),
                        ("n", "2"),
                        ("date", "x"),
                        ("time", "x"),
                        ("wait", "x"),
                        ("id", "x"),
                        ("username", "x"),
                        ("days", "3"),
                        ("when", "x"),
                        ("url", "x"),
                    ],
                );
                assert!(
                    !m.contains('⟦') && !m.trim().is_empty(),
                    "{lang:?} {id}: {m}"
                );
            }
        }
        assert!(
            FluentResource::try_new(EN_FTL.to_string()).is_ok(),
            "en parses"
        );
        assert!(
            FluentResource::try_new(ES_FTL.to_string()).is_ok(),
            "es parses"
        );
    }

    #[test]
    fn accept_language_picks_by_quality() {
        assert_eq!(
            Lang::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Lang::Es
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.5, es;q=0.4"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("de, fr"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.2, es;q=0.9"), Lang::Es);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn a_missing_message_is_marked() {
        assert_eq!(
            message(Lang::Es, "no-such-message", &[]),
            "⟦no-such-message⟧"
        );
        assert_eq!(message(Lang::Es, "nav-cases", &[]), "Casos");
    }
}
