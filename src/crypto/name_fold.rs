//! The words of a client's name as search compares them: folded for case and accents
//! ("Hernández" = "HERNANDEZ" = "hernandez"), split on everything that is not a letter
//! or a digit ("García-López" is "garcia" and "lopez"; "O'Brien" is "o" and "brien").
//!
//! This is folding, not cryptography: it only decides which spellings are one word.
//! Each word is then blind-indexed on its own ([`super::BlindIndexKey::name_tokens`]).
//! Invariant: the index and every search fold with this one function, so what is
//! indexed and what is searched agree; the number and length of words are bounded, so
//! a name costs a bounded number of index rows and HMACs.
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// At most this many words of a name are indexed (the first ones, after folding and
/// removing repeats); a search with more words is refused.
pub const MAX_NAME_TOKENS: usize = 12;
/// A word is compared on its first this many characters (after folding).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Letters that carry their mark in the letter itself, so that Unicode decomposition
/// leaves them whole: the ones found in names written with the Latin alphabet.
fn fold_letter(c: char, out: &mut String) {
    match c {
        'ß' => out.push_str("ss"),
        'æ' => out.push_str("ae"),
        'œ' => out.push_str("oe"),
        'þ' => out.push_str("th"),
        'ø' => out.push('o'),
        'đ' | 'ð' => out.push('d'),
        'ł' => out.push('l'),
        'ı' => out.push('i'),
        'ħ' => out.push('h'),
        'ŧ' => out.push('t'),
        _ => out.push(c),
    }
}

/// The name lower-cased, decomposed for compatibility (NFKD: "ﬁ" is "fi", "Ｊ" is
/// "j") with its combining marks dropped ("é" is "e", "ñ" is "n"), and the letters
/// decomposition leaves whole folded by hand ("ø" is "o", "ß" is "ss").
pub fn fold_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name
        .chars()
        .flat_map(char::to_lowercase)
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
    {
        fold_letter(c, &mut out);
    }
    out
}

/// The distinct words of a name, folded, in the order they first appear: at most
/// [`MAX_NAME_TOKENS`] of them (a longer name keeps its first ones), each cut to
/// [`MAX_TOKEN_CHARS`] characters. Empty when the name has no letter or digit.
pub fn name_tokens(name: &str) -> Vec<String> {
    first_words(name, MAX_NAME_TOKENS)
}

/// How many distinct words a search names, counted up to one more than
/// [`MAX_NAME_TOKENS`]: enough to refuse a search that names too many.
pub fn count_name_tokens(name: &str) -> usize {
    first_words(name, MAX_NAME_TOKENS + 1).len()
}

fn first_words(name: &str, limit: usize) -> Vec<String> {
    let folded = fold_name(name);
    let mut out: Vec<String> = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()) {
        if out.len() == limit {
            break;
        }
        let word: String = word.chars().take(MAX_TOKEN_CHARS).collect();
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Vec<String> {
        name_tokens(name)
    }

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(t("José Hernández Ruiz"), ["jose", "hernandez", "ruiz"]);
        assert_eq!(t("JOSÉ HERNÁNDEZ RUIZ"), t("jose hernandez ruiz"));
        assert_eq!(fold_name("á"), "a");
        assert_eq!(fold_name("Ñuñez"), "nunez");
        assert_eq!(fold_name("Müller"), "muller");
        assert_eq!(fold_name("François"), "francois");
        assert_eq!(fold_name("Gonçalves"), "goncalves");
        assert_eq!(fold_name("Łukasz Øster Straße"), "lukasz oster strasse");
        // Precomposed and decomposed é are one letter.
        assert_eq!(fold_name("Jose\u{301}"), fold_name("José"));
        // Full-width letters (compatibility forms) are the ordinary ones.
        assert_eq!(fold_name("ＪＯＳＥ"), "jose");
    }

    #[test]
    fn words_split_on_spaces_hyphens_apostrophes_and_punctuation() {
        assert_eq!(t("García-López"), ["garcia", "lopez"]);
        assert_eq!(t("  María \t  LÓPEZ  "), ["maria", "lopez"]);
        assert_eq!(t("O'Brien, Sean"), ["o", "brien", "sean"]);
        assert_eq!(t("N’Diaye Jr."), ["n", "diaye", "jr"]);
        assert_eq!(t("Ana–María"), ["ana", "maria"]);
        // Nothing but separators: no word at all.
        assert!(t("  - ' , . ").is_empty());
        assert!(t("").is_empty());
    }

    #[test]
    fn other_scripts_keep_their_letters() {
        assert_eq!(t("Иван Петров"), ["иван", "петров"]);
        assert_eq!(t("王 小明"), ["王", "小明"]);
        assert_ne!(t("Иван"), t("Ivan"));
    }

    #[test]
    fn repeats_are_one_word_and_words_are_bounded() {
        assert_eq!(t("Maria maria MARÍA Lopez"), ["maria", "lopez"]);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        let words = t(&many);
        assert_eq!(words.len(), MAX_NAME_TOKENS);
        assert_eq!(words[0], "w0");
        assert_eq!(count_name_tokens(&many), MAX_NAME_TOKENS + 1);
        assert_eq!(count_name_tokens("Maria maria Lopez"), 2);
        let long = "a".repeat(500);
        assert_eq!(t(&long)[0].chars().count(), MAX_TOKEN_CHARS);
        assert_eq!(t(&long), t(&"A".repeat(MAX_TOKEN_CHARS)));
    }

    #[test]
    fn different_names_stay_different() {
        assert_ne!(t("Maria Lopez"), t("Maria Lopes"));
        assert_ne!(t("Perez"), t("Peres"));
    }
}
