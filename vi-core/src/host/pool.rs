//! The parallelism policy of the host kernels: when a loop over independent blocks goes
//! through rayon's pool (so `RAYON_NUM_THREADS` or an installed pool sets the thread count).

/// Whether a loop over `blocks` independent blocks should go through rayon's pool: not for a
/// single block, nor with a one-thread pool, where a call from outside the pool only adds a
/// cross-thread hand-off and wake-up (about 10 µs: more than a small kernel itself).
pub(crate) fn use_pool(blocks: usize) -> bool {
    blocks > 1 && rayon::current_num_threads() > 1
}
