//! The peers' timing protocol: one warm-up call, `inner` calls per repeat sized to ~30 ms,
//! median and minimum over the repeats.

use std::time::Instant;

/// Median and minimum seconds per call.
pub struct Timing {
    pub median_s: f64,
    pub min_s: f64,
    pub repeats: usize,
    pub inner: usize,
}

/// Times `f` as `bench_peers.py`'s `timeit` does.
pub fn timeit(mut f: impl FnMut(), repeats: usize, target_s: f64) -> Timing {
    f();
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-7);
    let inner = ((target_s / once) as usize).clamp(1, 10_000);
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..inner {
                f();
            }
            start.elapsed().as_secs_f64() / inner as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Timing {
        median_s: times[times.len() / 2],
        min_s: times[0],
        repeats,
        inner,
    }
}
