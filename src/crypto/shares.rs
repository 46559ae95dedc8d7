//! Recovery shares (issue 23): an office's recovery secret split k of n with Shamir's
//! scheme over GF(256) (the `vsss-rs` crate; nothing of the scheme is ours), each
//! share printed once as a line a person can copy by hand.
//!
//! A share line is `SET-IofK-` followed by the share's 32 bytes and a 4-byte checksum
//! in a 32-letter alphabet without look-alikes (no 0/o, 1/l), in groups of five:
//! `7k3m-2of3-abcde-fghij-…`. The checksum (SHA-256 over the set, the numbers and the
//! bytes) catches a typo before any share is combined; the set names which recovery
//! set the share belongs to, so that shares of an earlier set are refused by name.
//!
//! Invariant: a recovery secret and a share's bytes live only in buffers wiped on drop.
use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{CryptoError, HolderKey, ShredKey, sha256};

/// The alphabet of share lines (the one generated passphrases use).
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// Bytes of a recovery secret.
const SECRET_LEN: usize = 32;
/// Bytes of a share's checksum.
const CHECK_LEN: usize = 4;
/// At most this many shares in a set.
pub const MAX_SHARES: u8 = 16;

/// A recovery secret: the key that wraps the office's recovery identity.
pub struct RecoverySecret(Zeroizing<[u8; SECRET_LEN]>);

impl std::fmt::Debug for RecoverySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoverySecret([redacted])")
    }
}

impl RecoverySecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        RecoverySecret(Zeroizing::new(super::random_bytes::<SECRET_LEN>()))
    }

    fn key(&self) -> Result<ShredKey, CryptoError> {
        ShredKey::from_bytes(&self.0[..])
    }

    /// Wraps the recovery identity under this secret, bound to `context`.
    pub fn wrap(&self, identity: &HolderKey, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key()?
            .seal(context, identity.secret_text().expose_secret().as_bytes())
    }

    /// Opens a recovery identity wrapped with [`RecoverySecret::wrap`].
    pub fn open(&self, wrapped: &[u8], context: &[u8]) -> Result<HolderKey, CryptoError> {
        let plain = self.key()?.open(context, wrapped)?;
        HolderKey::from_secret_text(&plain)
    }

    /// Splits the secret into `n` shares of which any `k` rebuild it; `set` names
    /// the set in every line (four letters of the alphabet).
    pub fn split(&self, k: u8, n: u8, set: &str) -> Result<Vec<Zeroizing<String>>, CryptoError> {
        if !(2..=n).contains(&k) || n > MAX_SHARES || !valid_set(set) {
            return Err(CryptoError::InvalidKey);
        }
        let shares =
            vsss_rs::Gf256::split_bytes(usize::from(k), usize::from(n), &self.0[..], SystemRng)
                .map_err(|_| CryptoError::InvalidKey)?;
        shares
            .into_iter()
            .map(|s| {
                let s = Zeroizing::new(s);
                match s.split_first() {
                    Some((&number, bytes)) if bytes.len() == SECRET_LEN => {
                        Ok(format_line(set, number, k, bytes))
                    }
                    _ => Err(CryptoError::InvalidKey),
                }
            })
            .collect()
    }

    /// Rebuilds the secret from at least `k` distinct shares of one set. A wrong
    /// combination gives a wrong secret, which then opens nothing.
    pub fn combine(shares: &[&Share]) -> Result<Self, CryptoError> {
        let raw: Vec<Vec<u8>> = shares
            .iter()
            .map(|s| {
                let mut v = Vec::with_capacity(SECRET_LEN + 1);
                v.push(s.number);
                v.extend_from_slice(&s.bytes[..]);
                v
            })
            .collect();
        let raw = Zeroizing::new(raw);
        let secret = Zeroizing::new(
            vsss_rs::Gf256::combine_bytes(&raw[..]).map_err(|_| CryptoError::DecryptionFailed)?,
        );
        if secret.len() != SECRET_LEN {
            return Err(CryptoError::DecryptionFailed);
        }
        let mut out = Zeroizing::new([0u8; SECRET_LEN]);
        out.copy_from_slice(&secret);
        Ok(RecoverySecret(out))
    }
}

/// One share, read from its line and checked.
pub struct Share {
    /// The set it belongs to.
    pub set: String,
    /// Its number (1 to n).
    pub number: u8,
    /// How many shares rebuild the secret.
    pub threshold: u8,
    bytes: Zeroizing<[u8; SECRET_LEN]>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Share({}-{}of{}, [redacted])",
            self.set, self.number, self.threshold
        )
    }
}

/// Why a share line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareError {
    /// Not the shape of a share line at all.
    Malformed,
    /// The shape is right but the checksum does not match: a typo.
    Checksum,
}

impl Share {
    /// Reads a share line; case, spaces and line breaks do not matter.
    pub fn parse(line: &str) -> Result<Share, ShareError> {
        let clean: Zeroizing<String> = Zeroizing::new(
            line.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect(),
        );
        let mut parts = clean.split('-');
        let set = parts
            .next()
            .filter(|s| valid_set(s))
            .ok_or(ShareError::Malformed)?;
        let (number, threshold) = parts
            .next()
            .and_then(|p| p.split_once("of"))
            .and_then(|(i, k)| Some((i.parse::<u8>().ok()?, k.parse::<u8>().ok()?)))
            .filter(|(i, k)| *i >= 1 && (2..=MAX_SHARES).contains(k))
            .ok_or(ShareError::Malformed)?;
        let payload: Zeroizing<String> = Zeroizing::new(parts.collect());
        let bytes = decode(&payload).ok_or(ShareError::Malformed)?;
        if bytes.len() != SECRET_LEN + CHECK_LEN {
            return Err(ShareError::Malformed);
        }
        let (data, check) = bytes.split_at(SECRET_LEN);
        if checksum(set, number, threshold, data)[..] != check[..] {
            return Err(ShareError::Checksum);
        }
        let mut out = Zeroizing::new([0u8; SECRET_LEN]);
        out.copy_from_slice(data);
        Ok(Share {
            set: set.to_string(),
            number,
            threshold,
            bytes: out,
        })
    }
}

impl Share {
    /// The share's commitment: what the vault keeps of each share it printed, so that
    /// a share someone made up (with a checksum that fits) is refused by name.
    pub fn commitment(&self) -> [u8; 32] {
        let mut msg = Zeroizing::new(Vec::with_capacity(80));
        msg.extend_from_slice(b"casevault recovery share commitment v1\0");
        msg.extend_from_slice(self.set.as_bytes());
        msg.push(self.number);
        msg.push(self.threshold);
        msg.extend_from_slice(&self.bytes[..]);
        sha256(&msg)
    }
}

/// A set name: four letters of the alphabet, derived from an id.
pub fn set_name(id: &str) -> String {
    let h = sha256(id.as_bytes());
    h.iter()
        .take(4)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn valid_set(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| ALPHABET.contains(&b))
}

fn checksum(set: &str, number: u8, threshold: u8, data: &[u8]) -> [u8; CHECK_LEN] {
    let mut msg = Zeroizing::new(Vec::with_capacity(64));
    msg.extend_from_slice(b"casevault recovery share v1\0");
    msg.extend_from_slice(set.as_bytes());
    msg.push(number);
    msg.push(threshold);
    msg.extend_from_slice(data);
    let h = sha256(&msg);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&h[..CHECK_LEN]);
    out
}

fn format_line(set: &str, number: u8, k: u8, data: &[u8]) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_LEN + CHECK_LEN));
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(&checksum(set, number, k, data));
    let text = encode(&bytes);
    let mut line = Zeroizing::new(format!("{set}-{number}of{k}"));
    for chunk in text.as_bytes().chunks(5) {
        line.push('-');
        line.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    line
}

/// Base32 in the share alphabet (5 bits per letter, the last letter zero-padded).
fn encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 8 / 5 + 1));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // The last letter's spare bits are zero in a line we printed.
    (acc == 0).then_some(out)
}

/// The operating system's random source (ring), as the `rand_core` generator the
/// sharing crate takes. Like every key this program makes, it stops the process
/// rather than hand out weak bytes if the system has none.
struct SystemRng;

impl rand_core::TryRng for SystemRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_le_bytes(super::random_bytes::<4>()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_le_bytes(super::random_bytes::<8>()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        super::fill_random(dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for SystemRng {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(lines: &[Zeroizing<String>]) -> Vec<Share> {
        lines.iter().map(|l| Share::parse(l).unwrap()).collect()
    }

    #[test]
    fn any_k_shares_rebuild_the_secret_and_k_minus_one_do_not() {
        let s = RecoverySecret::generate();
        let lines = s.split(3, 5, &set_name("x")).unwrap();
        assert_eq!(lines.len(), 5);
        let shares = parse_all(&lines);
        for pick in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            let chosen: Vec<&Share> = pick.iter().map(|&i| &shares[i]).collect();
            let back = RecoverySecret::combine(&chosen).unwrap();
            assert_eq!(&back.0[..], &s.0[..]);
        }
        // Two of three: whatever comes out is not the secret.
        let two: Vec<&Share> = vec![&shares[0], &shares[1]];
        if let Ok(back) = RecoverySecret::combine(&two) {
            assert_ne!(&back.0[..], &s.0[..]);
        }
    }

    #[test]
    fn a_typo_is_caught_by_the_checksum() {
        let s = RecoverySecret::generate();
        let lines = s.split(2, 3, "abcd").unwrap();
        let line = lines[0].to_string();
        assert!(Share::parse(&line.to_uppercase()).is_ok());
        assert!(Share::parse(&line.replace('-', " - ")).is_ok());
        // Change each letter of the payload in turn: every change is caught.
        let start = "abcd-1of2-".len();
        for (i, c) in line.char_indices().skip(start) {
            if c == '-' {
                continue;
            }
            let other = if c == 'a' { 'b' } else { 'a' };
            let mut typo = line.clone();
            typo.replace_range(i..i + 1, &other.to_string());
            assert!(Share::parse(&typo).is_err(), "{typo}");
        }
        // The number or the set changed: caught too.
        assert!(Share::parse(&line.replacen("1of2", "2of2", 1)).is_err());
        assert!(Share::parse(&line.replacen("abcd", "abce", 1)).is_err());
        assert_eq!(
            Share::parse("not a share").unwrap_err(),
            ShareError::Malformed
        );
    }

    #[test]
    fn the_recovery_identity_opens_only_with_the_secret() {
        let s = RecoverySecret::generate();
        let id = HolderKey::generate();
        let wrapped = s.wrap(&id, b"ctx").unwrap();
        assert_eq!(
            s.open(&wrapped, b"ctx").unwrap().recipient(),
            id.recipient()
        );
        assert!(s.open(&wrapped, b"other").is_err());
        assert!(RecoverySecret::generate().open(&wrapped, b"ctx").is_err());
        assert!(s.split(1, 3, "abcd").is_err());
        assert!(s.split(4, 3, "abcd").is_err());
        assert!(s.split(2, MAX_SHARES + 1, "abcd").is_err());
    }
}
