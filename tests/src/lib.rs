//! Shared support for the cross-crate tests: the devices compiled in, the golden-value loader and
//! tolerance checks.

use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use serde_json::Value;
use std::path::PathBuf;
use vi_core::gradcheck::GradcheckConfig;

#[cfg(test)]
mod selftest;

/// Instantiates each listed `fn name(device: Device)` once per compiled backend, as
/// `flex::name`, `ndarray::name`, `wgpu::name` and `cuda::name`.
#[macro_export]
macro_rules! device_tests {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "flex")]
        mod flex {
            $( #[test] fn $name() { super::$name($crate::device("flex")) } )*
        }
        #[cfg(feature = "ndarray")]
        mod ndarray {
            $( #[test] fn $name() { super::$name($crate::device("ndarray")) } )*
        }
        #[cfg(feature = "wgpu")]
        mod wgpu {
            $( #[test] fn $name() { super::$name($crate::device("wgpu")) } )*
        }
        #[cfg(feature = "cuda")]
        mod cuda {
            $( #[test] fn $name() { super::$name($crate::device("cuda")) } )*
        }
    };
}

/// The device of a compiled backend by name (`flex`, `ndarray`, `wgpu`, `cuda`).
///
/// `wgpu` is the device on Vulkan (Metal on macOS), not wherever wgpu would fall back to: the
/// adapter and graphics API are printed once per test binary, and a machine without a Vulkan
/// driver fails each wgpu test at once with the command that installs one
/// ([`vi_core::device::WgpuDeviceError`]) instead of deep in a kernel.
pub fn device(name: &str) -> Device {
    #[cfg(feature = "wgpu")]
    if name == "wgpu" {
        return wgpu_device();
    }
    vi_core::device::by_name(name).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Device {
    static REPORTED: std::sync::Once = std::sync::Once::new();
    let (device, adapter) = vi_core::device::wgpu_native().unwrap_or_else(|e| panic!("{e}"));
    REPORTED.call_once(|| eprintln!("wgpu tests run on {adapter}"));
    device
}

/// Whether the device stores and computes `f64` (what it reports, e.g. the wgpu adapter's
/// `SHADER_F64`), saying so on stderr when `test`'s `f64` cases are skipped for want of it.
pub fn has_f64(device: &Device, test: &str) -> bool {
    let supported = device.supports_dtype(FloatDType::F64);
    if !supported {
        eprintln!("{test}: f64 cases skipped, the device has no f64 ({device:?})");
    }
    supported
}

/// Float precisions the device computes in: `f64` where it is fully supported, always `f32`.
///
/// wgpu reports `f64` storage and arithmetic, but Vulkan's and WGSL's `log`/`exp` are 32-bit only
/// (lavapipe returns garbage for `f64`), so wgpu is tested in `f32` here; its `f64` kernels are
/// covered by the kernel tests in `vi-core` and, for the fused ops free of transcendental
/// functions, by the `f64` cases that ask [`has_f64`].
pub fn dtypes(device: &Device) -> Vec<FloatDType> {
    let mut out = Vec::new();
    if device.supports_dtype(FloatDType::F64) && !is_wgpu(device) {
        out.push(FloatDType::F64);
    }
    out.push(FloatDType::F32);
    out
}

/// Whether the device's `f64` `exp` and `ln` are `f64`: measured at a few points against the
/// host (`1e-14` relative). Vulkan's are 32-bit only, and lavapipe's return garbage in `f64`.
pub fn f64_transcendentals(device: &Device) -> bool {
    if !device.supports_dtype(FloatDType::F64) {
        return false;
    }
    let x = vec![0.0, 0.75, -3.5, 11.25];
    let t = tensor(x.clone(), [x.len()], device, FloatDType::F64);
    let (exp, ln) = (values(t.clone().exp()), values(t.exp().log()));
    let close = |got: f64, want: f64| (got - want).abs() <= 1e-14 * want.abs().max(1.0);
    x.iter()
        .enumerate()
        .all(|(i, &v)| close(exp[i], v.exp()) && close(ln[i], v))
}

/// `f64`'s value (a tolerance, a step) for `f64` tensors, `f32`'s otherwise: single precision
/// needs the looser one.
pub fn by_dtype<T>(dtype: FloatDType, f64: T, f32: T) -> T {
    if dtype == FloatDType::F64 { f64 } else { f32 }
}

/// Whether the device is a wgpu device.
pub fn is_wgpu(device: &Device) -> bool {
    {
        let name = format!("{device:?}").to_lowercase();
        name.contains("wgpu") || name.contains("cube")
    }
}

/// Deterministic pseudo-random numbers (SplitMix64 → uniform(−1, 1)).
pub fn noise(seed: u64, len: usize) -> Vec<f64> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// `../shared` beside the workspace root (override with `VI_SHARED_DIR`).
pub fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("VI_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let dir = root.join("..").join("shared");
    assert!(
        dir.join("golden").is_dir(),
        "shared data not found: looked for {} (set VI_SHARED_DIR to override)",
        dir.join("golden").display()
    );
    dir
}

/// A golden-value file of `shared/golden/`.
pub struct Golden {
    cases: Vec<Value>,
}

impl Golden {
    /// Loads `shared/golden/<file>`; panics with the path when it is missing or malformed.
    pub fn load(file: &str) -> Self {
        let path = shared_dir().join("golden").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read golden file {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("malformed golden file {}: {e}", path.display()));
        let cases = doc["cases"]
            .as_array()
            .expect("golden file has cases")
            .clone();
        Self { cases }
    }

    /// Every case.
    pub fn cases(&self) -> impl Iterator<Item = Case<'_>> {
        self.cases.iter().map(|value| Case { value })
    }
}

/// One golden case.
pub struct Case<'a> {
    value: &'a Value,
}

/// A golden tensor: row-major values and shape.
#[derive(Debug, Clone)]
pub struct GoldenTensor {
    pub data: Vec<f64>,
    pub shape: Vec<usize>,
}

impl GoldenTensor {
    /// The tensor on `device` in `dtype`.
    pub fn to_tensor<const D: usize>(&self, device: &Device, dtype: FloatDType) -> Tensor<D> {
        Tensor::<D>::from_data(
            TensorData::new(self.data.clone(), self.shape.clone()),
            (device, dtype.into()),
        )
    }

    /// Largest magnitude.
    pub fn max_abs(&self) -> f64 {
        self.data.iter().fold(0.0, |m, x| m.max(x.abs()))
    }
}

impl Case<'_> {
    pub fn name(&self) -> &str {
        self.value["name"].as_str().expect("case name")
    }

    fn tensor(&self, group: &str, key: &str) -> GoldenTensor {
        let v = &self.value[group][key];
        assert!(!v.is_null(), "case {} has no {group}.{key}", self.name());
        GoldenTensor {
            data: v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect(),
            shape: v["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect(),
        }
    }

    pub fn input(&self, key: &str) -> GoldenTensor {
        self.tensor("inputs", key)
    }

    pub fn output(&self, key: &str) -> GoldenTensor {
        self.tensor("outputs", key)
    }

    /// `(rtol, atol)` of the case; a case with a `note` (ill-conditioned) gets
    /// `atol · max|want|` and `rtol = 1e-4` as the golden README prescribes.
    pub fn tolerance(&self, want: &GoldenTensor) -> (f64, f64) {
        let tol = &self.value["tolerance"];
        let (rtol, atol) = (tol["rtol"].as_f64().unwrap(), tol["atol"].as_f64().unwrap());
        if tol.get("note").is_some() {
            (1e-4, atol * want.max_abs())
        } else {
            (rtol, atol)
        }
    }

    /// Whether the case is an f64-only stress case.
    pub fn is_stress(&self) -> bool {
        self.value["tolerance"].get("note").is_some()
    }
}

/// Tolerances for a dtype: the case's own in `f64`; in `f32` the golden README's
/// (`rtol 1e-4, atol 1e-5·max` for values, `rtol 1e-3, atol 1e-4·max` for gradients).
pub fn tolerance(
    case: &Case<'_>,
    want: &GoldenTensor,
    dtype: FloatDType,
    gradient: bool,
) -> (f64, f64) {
    match (dtype, gradient) {
        (FloatDType::F64, _) => case.tolerance(want),
        (_, false) => (1e-4, 1e-5 * want.max_abs()),
        (_, true) => (1e-3, 1e-4 * want.max_abs()),
    }
}

/// Values of a tensor as `f64`.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec()
        .expect("float tensor")
}

/// Asserts `|got − want| ≤ atol + rtol·|want|` elementwise (torch's `allclose`), naming the worst
/// element.
pub fn assert_close(label: &str, got: &[f64], want: &GoldenTensor, rtol: f64, atol: f64) {
    assert_eq!(
        got.len(),
        want.data.len(),
        "{label}: length {} vs {}",
        got.len(),
        want.data.len()
    );
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(&want.data).enumerate() {
        let excess = (g - w).abs() - (atol + rtol * w.abs());
        if (excess.is_nan() || excess > 0.0)
            && worst.is_none_or(|(_, e)| excess > e || excess.is_nan())
        {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{label}: element {i} (of shape {:?}) is {} but should be {} (rtol {rtol:e}, atol {atol:e})",
            want.shape, got[i], want.data[i]
        );
    }
}

/// Asserts two float slices agree to `atol + rtol·|b|`.
pub fn assert_all_close(label: &str, a: &[f64], b: &[f64], rtol: f64, atol: f64) {
    let want = GoldenTensor {
        data: b.to_vec(),
        shape: vec![b.len()],
    };
    assert_close(label, a, &want, rtol, atol);
}

/// A batch of SPD matrices `X Xᵀ / n + ridge I`, row-major.
pub fn random_spd(seed: u64, batch: usize, n: usize, ridge: f64) -> Vec<f64> {
    let x = noise(seed, batch * n * n);
    let mut a = vec![0.0; batch * n * n];
    for b in 0..batch {
        let xb = &x[b * n * n..(b + 1) * n * n];
        for i in 0..n {
            for j in 0..n {
                let dot: f64 = (0..n).map(|k| xb[i * n + k] * xb[j * n + k]).sum();
                a[b * n * n + i * n + j] = dot / n as f64 + if i == j { ridge } else { 0.0 };
            }
        }
    }
    a
}

/// A tensor from row-major `data` on `device` in `dtype`.
pub fn tensor<const D: usize>(
    data: Vec<f64>,
    shape: [usize; D],
    device: &Device,
    dtype: FloatDType,
) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(data, shape), (device, dtype.into()))
}

/// `f64` gradcheck settings where the device computes in `f64`, else `f32`'s.
pub fn gradcheck_config(device: &Device) -> GradcheckConfig {
    by_dtype(
        dtypes(device)[0],
        GradcheckConfig::default(),
        GradcheckConfig::f32(),
    )
}

/// Standard normal draws (Box–Muller on the shared uniform stream).
pub fn gaussian(seed: u64, len: usize) -> Vec<f64> {
    noise(seed, len + len % 2)
        .chunks(2)
        .flat_map(|u| {
            let (u1, u2) = ((u[0] + 1.0) / 2.0 * 0.999_999 + 1e-7, (u[1] + 1.0) / 2.0);
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            [r * t.cos(), r * t.sin()]
        })
        .take(len)
        .collect()
}

/// Three equiprobable classes `x | c ~ N(μ_c, I)` in 2-D, centres on a circle of radius 1.5,
/// and the Bayes posterior `p(c | x) ∝ exp(−½‖x − μ_c‖²)` of each row.
pub fn three_blobs(seed: u64, n: usize) -> (vi_models::data::ClassificationTable, Vec<f64>) {
    let centre = |c: usize| {
        let t = std::f64::consts::TAU * c as f64 / 3.0;
        [1.5 * t.cos(), 1.5 * t.sin()]
    };
    let z = gaussian(seed, 2 * n);
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let x: Vec<f64> = (0..n)
        .flat_map(|i| {
            let m = centre(labels[i]);
            [m[0] + z[2 * i], m[1] + z[2 * i + 1]]
        })
        .collect();
    let posterior = (0..n)
        .flat_map(|i| {
            let logits: Vec<f64> = (0..3)
                .map(|c| {
                    let m = centre(c);
                    -0.5 * ((x[2 * i] - m[0]).powi(2) + (x[2 * i + 1] - m[1]).powi(2))
                })
                .collect();
            let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
            logits.into_iter().map(move |l| (l - lse).exp())
        })
        .collect();
    let names = vec!["a".into(), "b".into(), "c".into()];
    (
        vi_models::data::ClassificationTable {
            x,
            d: 2,
            labels,
            class_names: names,
        },
        posterior,
    )
}

/// The README's Rust snippets, compiled and run as doc tests (`cargo test -p vi-tests --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// A proptest runner with a fixed seed, so that a failure reproduces: the seed is the FNV-1a hash
/// of `test` unless `VI_PROPTEST_SEED` (decimal or `0x` hex) overrides it, and is printed with
/// the case count. No failure files are written (the printed seed replays the run).
///
/// # Panics
/// When `VI_PROPTEST_SEED` is set but not a number.
pub fn proptest_runner(test: &str, cases: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let seed = match std::env::var("VI_PROPTEST_SEED") {
        Ok(text) => parse_seed(&text)
            .unwrap_or_else(|| panic!("VI_PROPTEST_SEED={text:?} is not a decimal or 0x number")),
        Err(_) => test.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        }),
    };
    eprintln!(
        "{test}: proptest seed {seed:#x}, {cases} cases (replay: VI_PROPTEST_SEED={seed:#x})"
    );
    // ChaCha takes 32 seed bytes: the seed's SplitMix64 stream.
    let bytes: Vec<u8> = (1..=4u64)
        .flat_map(|i| {
            let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)).to_le_bytes()
        })
        .collect();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

fn parse_seed(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The gradient checks to run on `device`: where it computes in `f64`, the `f64` check and the
/// five-point `f32` one ([`GradcheckConfig::f32_fine`]: the single precision every benchmark
/// trains in); elsewhere (wgpu, where `f64` has no transcendental functions) the `f32` one.
pub fn gradcheck_configs(device: &Device) -> Vec<GradcheckConfig> {
    if dtypes(device)[0] == FloatDType::F64 {
        vec![GradcheckConfig::default(), GradcheckConfig::f32_fine()]
    } else {
        vec![GradcheckConfig::f32()]
    }
}
