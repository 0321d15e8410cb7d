//! Host matrix helpers shared by the linear-algebra tests.

use vi_tests::noise;

/// A random orthogonal matrix (Gram–Schmidt of noise) for building matrices of known spectrum.
pub fn orthogonal(seed: u64, n: usize) -> Vec<f64> {
    let mut q = noise(seed, n * n);
    for i in 0..n {
        for j in 0..i {
            let dot: f64 = (0..n).map(|k| q[i * n + k] * q[j * n + k]).sum();
            for k in 0..n {
                q[i * n + k] -= dot * q[j * n + k];
            }
        }
        let norm = (0..n).map(|k| q[i * n + k].powi(2)).sum::<f64>().sqrt();
        for k in 0..n {
            q[i * n + k] /= norm;
        }
    }
    q
}

/// `L Lᵀ` per batch element, on the host.
pub fn llt(l: &[f64], n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(l.len());
    for block in l.chunks(n * n) {
        let lt: Vec<f64> = (0..n * n)
            .map(|idx| block[(idx % n) * n + idx / n])
            .collect();
        out.extend(matmul(block, &lt, n, n, n));
    }
    out
}

/// `T X` per batch element (`T` `n × n`, `X` `n × k`), on the host.
pub fn batched_matmul(t: &[f64], x: &[f64], n: usize, k: usize) -> Vec<f64> {
    t.chunks(n * n)
        .zip(x.chunks(n * k))
        .flat_map(|(t, x)| matmul(t, x, n, n, k))
        .collect()
}

/// `n × m` → `m × n`.
pub fn transposed(a: &[f64], n: usize, m: usize) -> Vec<f64> {
    (0..n * m).map(|idx| a[(idx % n) * m + idx / n]).collect()
}

pub fn matmul(a: &[f64], b: &[f64], n: usize, m: usize, k: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * k];
    for i in 0..n {
        for j in 0..k {
            c[i * k + j] = (0..m).map(|l| a[i * m + l] * b[l * k + j]).sum();
        }
    }
    c
}
