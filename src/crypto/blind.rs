//! Blind indexes: equality search over an encrypted field without a plaintext column.
//! The index is a truncated HMAC-SHA256 of the normalised value under a per-office key
//! derived with HKDF from the office identity, so it is only computable while the
//! office is unsealed and means nothing across offices. Each field has its own key,
//! so equal bytes in two fields (a one-word name and one of its words) index apart.
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

/// The per-office index keys (one per indexed field). Wiped on drop.
pub struct BlindIndexKey {
    a_number: Zeroizing<[u8; 32]>,
    client_name: Zeroizing<[u8; 32]>,
    name_token: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexKey([redacted])")
    }
}

/// How many bytes of the HMAC are kept: enough to make collisions between real
/// A-numbers negligible, short enough not to be a perfect fingerprint.
const INDEX_LEN: usize = 16;

impl BlindIndexKey {
    /// HKDF-SHA256(salt = domain label, ikm = office secret, info = field name).
    pub(super) fn derive(ikm: &[u8]) -> Self {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"casevault blind index v1");
        let prk = salt.extract(ikm);
        let field = |info: &[u8]| {
            let mut out = Zeroizing::new([0u8; 32]);
            // HKDF-Expand of 32 bytes from SHA-256 cannot fail (limit is 255 * 32).
            if let Ok(okm) = prk.expand(&[info], hkdf::HKDF_SHA256) {
                let _ = okm.fill(&mut out[..]);
            }
            out
        };
        BlindIndexKey {
            a_number: field(b"a_number"),
            client_name: field(b"client_name"),
            name_token: field(b"client_name_token"),
        }
    }

    fn tag(key: &[u8], value: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        hmac::sign(&key, value).as_ref()[..INDEX_LEN].to_vec()
    }

    /// The index value of an A-number.
    pub fn a_number(&self, a: &ANumber) -> Vec<u8> {
        Self::tag(&self.a_number[..], a.0.as_bytes())
    }

    /// The index value of a client name (see [`normalise_name`]).
    pub fn client_name(&self, name: &str) -> Vec<u8> {
        Self::tag(&self.client_name[..], normalise_name(name).as_bytes())
    }

    /// The index values of the words of a client name (see
    /// [`super::name_tokens`]: folded for case and accents, distinct, bounded), one
    /// per word, in the order of the words.
    pub fn name_tokens(&self, name: &str) -> Vec<Vec<u8>> {
        super::name_tokens(name)
            .iter()
            .map(|w| Self::tag(&self.name_token[..], w.as_bytes()))
            .collect()
    }
}

/// A client name as compared for search: lower case, surrounding white space removed,
/// inner runs of white space as one space ("  María   LÓPEZ " = "maría lópez").
pub fn normalise_name(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An Alien Registration Number, normalised to nine digits.
#[derive(Clone, PartialEq, Eq)]
pub struct ANumber(String);

impl std::fmt::Debug for ANumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ANumber([redacted])")
    }
}

impl ANumber {
    /// Accepts `A123456789`, `A-123-456-789`, `123 456 789`, or eight digits (which
    /// gain a leading 0). Anything else is refused.
    pub fn parse(input: &str) -> Option<Self> {
        let mut s = input.trim();
        if let Some(rest) = s.strip_prefix(['A', 'a']) {
            s = rest;
        }
        let mut digits = String::with_capacity(9);
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '-' | ' ' | '.' => {}
                _ => return None,
            }
        }
        match digits.len() {
            8 => Some(ANumber(format!("0{digits}"))),
            9 => Some(ANumber(digits)),
            _ => None,
        }
    }

    /// The normalised nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_vectors() {
        let nine = ANumber::parse("012345678").unwrap();
        for form in [
            "12345678",
            "A12345678",
            "a012345678",
            "A-012-345-678",
            " 012 345 678 ",
            "A12-345-678",
        ] {
            assert_eq!(ANumber::parse(form).as_ref(), Some(&nine), "{form}");
        }
        assert_eq!(ANumber::parse("A123456789").unwrap().as_str(), "123456789");
        for bad in [
            "",
            "1234567",
            "1234567890",
            "A12345678X",
            "B12345678",
            "12345678;",
        ] {
            assert!(ANumber::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn index_depends_on_value_and_office() {
        let k1 = BlindIndexKey::derive(b"office one secret");
        let k2 = BlindIndexKey::derive(b"office two secret");
        let a = ANumber::parse("A123456789").unwrap();
        let b = ANumber::parse("A123456788").unwrap();
        assert_eq!(k1.a_number(&a).len(), INDEX_LEN);
        assert_eq!(
            k1.a_number(&a),
            k1.a_number(&ANumber::parse("123-456-789").unwrap())
        );
        assert_ne!(k1.a_number(&a), k1.a_number(&b));
        assert_ne!(k1.a_number(&a), k2.a_number(&a));
    }

    #[test]
    fn client_names_index_after_normalisation_and_apart_from_a_numbers() {
        let k = BlindIndexKey::derive(b"office one secret");
        assert_eq!(normalise_name("  María   LÓPEZ\t"), "maría lópez");
        assert_eq!(
            k.client_name("Maria Lopez"),
            k.client_name("  maria   LOPEZ ")
        );
        assert_ne!(k.client_name("Maria Lopez"), k.client_name("Maria Lopes"));
        assert_ne!(
            k.client_name("Maria Lopez"),
            BlindIndexKey::derive(b"office two secret").client_name("Maria Lopez")
        );
        // Same bytes in different fields give different index values.
        let a = ANumber::parse("123456789").unwrap();
        assert_ne!(k.a_number(&a), k.client_name("123456789"));
    }

    #[test]
    fn name_words_index_folded_per_office_and_apart_from_full_names() {
        let k = BlindIndexKey::derive(b"office one secret");
        let t = |n: &str| k.name_tokens(n);
        assert_eq!(t("José Hernández Ruiz").len(), 3);
        assert_eq!(t("Hernández"), t("hernandez"));
        assert_eq!(t("HERNANDEZ")[0], t("José Hernández Ruiz")[1]);
        assert_eq!(t("García-López"), t("garcia lopez"));
        assert_ne!(t("Perez"), t("Peres"));
        assert_eq!(t("Perez")[0].len(), INDEX_LEN);
        // Another office's key gives other values for the same word.
        let other = BlindIndexKey::derive(b"office two secret");
        assert_ne!(t("garcia"), other.name_tokens("garcia"));
        // A word's value never equals the full-name value of the same one-word name.
        assert_ne!(t("garcia")[0], k.client_name("garcia"));
        assert!(t(" - ").is_empty());
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // Sanity check that ring's HMAC-SHA256 is what we think (RFC 4231, test case 2).
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let tag = hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            crate::crypto::hex(tag.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
