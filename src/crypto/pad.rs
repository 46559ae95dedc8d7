//! Padmé padding (Nikitin et al., PETS 2019): stored payload sizes reveal at most
//! O(log log L) bits of the real length, with at most 12 % overhead.

/// The Padmé-padded length for a real length `len`.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::padme;

    #[test]
    fn vectors() {
        // Hand-computed from the paper's definition.
        assert_eq!(padme(0), 0);
        assert_eq!(padme(1), 1);
        assert_eq!(padme(2), 2);
        assert_eq!(padme(9), 10);
        assert_eq!(padme(100), 104);
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(65_535), 65_536);
        assert_eq!(padme(65_537), 67_584);
        assert_eq!(padme(1 << 30), 1 << 30);
        assert_eq!(padme((1 << 30) + 1), (1 << 30) + (1 << 25));
    }

    #[test]
    fn never_shrinks_and_overhead_is_bounded() {
        for len in (0..200_000u64).step_by(37) {
            let p = padme(len);
            assert!(p >= len);
            assert!(p - len <= len / 8 + 1, "len {len} padded to {p}");
        }
    }

    #[test]
    fn many_lengths_share_a_padded_size() {
        let distinct: std::collections::BTreeSet<u64> = (60_000..70_000u64).map(padme).collect();
        assert!(distinct.len() < 20, "{} distinct sizes", distinct.len());
    }
}
