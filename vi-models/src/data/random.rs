//! The seeded generator the splits, shuffles and initialisations share: SplitMix64, the same
//! on every platform.

/// A seeded random permutation of `0..n` (Fisher–Yates driven by SplitMix64; `state` advances),
/// the same on every platform.
///
/// # Example
/// ```
/// let (mut a, mut b) = (7, 7);
/// let p = vi_models::data::permutation(5, &mut a);
/// assert_eq!(p, vi_models::data::permutation(5, &mut b));
/// let mut sorted = p.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
/// ```
pub fn permutation(n: usize, state: &mut u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, (split_mix64(state) % (i as u64 + 1)) as usize);
    }
    p
}

/// The next value of the SplitMix64 generator (`state` advances).
pub(crate) fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in `[0, 1)` from SplitMix64.
pub(crate) fn uniform01(state: &mut u64) -> f64 {
    (split_mix64(state) >> 11) as f64 / (1u64 << 53) as f64
}
