//! Finite-difference gradient checking for any scalar function of tensors.
//!
//! [`gradcheck`] compares the autodiff gradient of `f(x₁, …, x_m)` with central differences
//! `(f(x + h eᵢ) − f(x − h eᵢ)) / 2h` for every element of every input, and reports the worst
//! absolute and relative error per input. Run it in `f64` (the default) wherever the backend
//! supports it; `f32` needs a larger step and looser tolerances ([`GradcheckConfig::f32`]). On
//! wgpu, `f64` has no transcendental functions (`log`, `exp`, `sin` are 32-bit only in WGSL and
//! Vulkan), so check functions that use them in `f32` there.

use burn::tensor::{Device, FloatDType, Tensor, TensorData};

/// Step and tolerances of [`gradcheck`]; an element passes when
/// `|analytic − numeric| ≤ atol + rtol · |numeric|` (torch's `allclose` rule).
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckConfig {
    /// Finite-difference step `h`.
    pub step: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Precision the function is evaluated in.
    pub dtype: FloatDType,
    /// Richardson-extrapolate the central difference from steps `h` and `2h`:
    /// `(4 D(h) − D(2h)) / 3` (the five-point stencil), truncation error `O(h⁴)` instead of
    /// `O(h²)`, for twice the evaluations. In `f32` it allows a step large enough that rounding
    /// of `f` stays small after the division by `h` (see [`GradcheckConfig::f32_fine`]).
    pub richardson: bool,
}

impl Default for GradcheckConfig {
    fn default() -> Self {
        Self {
            step: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            dtype: FloatDType::F64,
            richardson: false,
        }
    }
}

impl GradcheckConfig {
    /// Settings for single precision (backends without `f64`): `h = 1e-2`, `atol = 1e-2`,
    /// `rtol = 1e-2`.
    pub fn f32() -> Self {
        Self {
            step: 1e-2,
            atol: 1e-2,
            rtol: 1e-2,
            dtype: FloatDType::F32,
            richardson: false,
        }
    }

    /// Tighter single-precision settings: the five-point stencil (`richardson`) with
    /// `h = 2⁻⁵`, `atol = rtol = 1e-3`. With `h⁴` truncation the step can stay large, so the
    /// rounding of `f` in `f32` (`≈ 6e-8 |f|`, divided by `h`) stays near `2e-6 |f|`: a
    /// gradient off by 0.1 % fails, where [`Self::f32`] lets 1 % through (the worst error of
    /// a correct gradient in the toolbox's own checks is 2e-4 relative).
    pub fn f32_fine() -> Self {
        Self {
            step: 1.0 / 32.0,
            atol: 1e-3,
            rtol: 1e-3,
            dtype: FloatDType::F32,
            richardson: true,
        }
    }
}

/// The worst element of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct InputReport {
    /// Position of the input in the slice given to [`gradcheck`].
    pub input: usize,
    /// Row-major index of the element with the largest tolerance violation (or error).
    pub worst_element: usize,
    /// Autodiff gradient at that element.
    pub analytic: f64,
    /// Central-difference gradient at that element.
    pub numeric: f64,
    /// Largest `|analytic − numeric|` over the input.
    pub max_abs_error: f64,
    /// Largest `|analytic − numeric| / max(|numeric|, atol)` over the input.
    pub max_rel_error: f64,
    /// Whether every element is within tolerance.
    pub passed: bool,
}

/// What [`gradcheck`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckReport {
    /// One report per input.
    pub inputs: Vec<InputReport>,
}

impl GradcheckReport {
    /// Whether every input passed.
    pub fn passed(&self) -> bool {
        self.inputs.iter().all(|input| input.passed)
    }
}

impl core::fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for r in &self.inputs {
            writeln!(
                f,
                "input {}: {} (max abs err {:.3e}, max rel err {:.3e}; worst element {}: analytic {:.6e}, numeric {:.6e})",
                r.input,
                if r.passed { "ok" } else { "FAILED" },
                r.max_abs_error,
                r.max_rel_error,
                r.worst_element,
                r.analytic,
                r.numeric
            )?;
        }
        Ok(())
    }
}

/// Checks the gradient of the scalar `f` at `inputs` (all of rank `D`; reshape inside `f` for
/// other ranks) on `device`, which must support autodiff (`device.clone().autodiff()`).
///
/// `f` must return a one-element tensor. Inputs are cast to `config.dtype`.
///
/// # Panics
/// When the device does not support `config.dtype` (ask `device.supports_dtype` first), and when
/// `inputs` is empty or `f` returns more than one element.
///
/// # Example
/// ```
/// use burn::tensor::{Device, FloatDType, Tensor};
/// use vi_core::gradcheck::{GradcheckConfig, gradcheck};
/// let device = Device::default().autodiff();
/// let x = Tensor::<1>::from_floats([0.3, -1.2, 2.0], &device);
/// // f(x) = Σ x³ + x₀ x₁
/// let f = |v: Vec<Tensor<1>>| {
///     let x = v[0].clone();
///     (x.clone() * x.clone() * x.clone()).sum() + x.clone().slice([0..1]) * x.slice([1..2])
/// };
/// // f64 where the device has it (wgpu falling back to OpenGL has not), else f32.
/// let config = if device.supports_dtype(FloatDType::F64) {
///     GradcheckConfig::default()
/// } else {
///     GradcheckConfig::f32()
/// };
/// let report = gradcheck(f, &[x], &config);
/// assert!(report.passed(), "{report}");
/// ```
pub fn gradcheck<const D: usize, F>(
    f: F,
    inputs: &[Tensor<D>],
    config: &GradcheckConfig,
) -> GradcheckReport
where
    F: Fn(Vec<Tensor<D>>) -> Tensor<1>,
{
    let device = inputs
        .first()
        .map(Tensor::device)
        .expect("gradcheck needs at least one input");
    assert!(
        device.supports_dtype(config.dtype),
        "gradcheck: the device has no {:?} ({device:?}); check in f32 there (GradcheckConfig::f32)",
        config.dtype
    );
    let values: Vec<Vec<f64>> = inputs
        .iter()
        .map(|x| {
            x.to_data()
                .convert::<f64>()
                .try_into_vec()
                .expect("float input")
        })
        .collect();
    let shapes: Vec<[usize; D]> = inputs.iter().map(Tensor::dims).collect();
    let build = |vals: &[Vec<f64>]| -> Vec<Tensor<D>> {
        vals.iter()
            .zip(&shapes)
            .map(|(v, s)| make(v.clone(), *s, &device, config.dtype))
            .collect()
    };
    let eval = |vals: &[Vec<f64>]| -> f64 { scalar(f(build(vals))) };

    let leaves: Vec<Tensor<D>> = build(&values)
        .into_iter()
        .map(Tensor::require_grad)
        .collect();
    let grads = f(leaves.clone()).backward();
    let analytic: Vec<Vec<f64>> = leaves
        .iter()
        .zip(&values)
        .map(|(leaf, v)| match leaf.grad(&grads) {
            Some(g) => g
                .into_data()
                .convert::<f64>()
                .try_into_vec()
                .expect("float gradient"),
            None => vec![0.0; v.len()],
        })
        .collect();

    let mut reports = Vec::with_capacity(inputs.len());
    for (input, grad) in analytic.iter().enumerate() {
        let mut report = InputReport {
            input,
            worst_element: 0,
            analytic: 0.0,
            numeric: 0.0,
            max_abs_error: 0.0,
            max_rel_error: 0.0,
            passed: true,
        };
        let mut worst_violation = f64::NEG_INFINITY;
        let mut shifted = values.clone();
        for element in 0..values[input].len() {
            let x = values[input][element];
            let mut central = |h: f64| {
                shifted[input][element] = x + h;
                let plus = eval(&shifted);
                shifted[input][element] = x - h;
                let minus = eval(&shifted);
                shifted[input][element] = x;
                (plus - minus) / (2.0 * h)
            };
            let numeric = if config.richardson {
                (4.0 * central(config.step) - central(2.0 * config.step)) / 3.0
            } else {
                central(config.step)
            };
            let error = (grad[element] - numeric).abs();
            let violation = error - (config.atol + config.rtol * numeric.abs());
            report.max_abs_error = report.max_abs_error.max(error);
            report.max_rel_error = report
                .max_rel_error
                .max(error / numeric.abs().max(config.atol));
            if violation.is_nan() || violation > 0.0 {
                report.passed = false;
            }
            if violation > worst_violation || violation.is_nan() {
                worst_violation = if violation.is_nan() {
                    f64::INFINITY
                } else {
                    violation
                };
                report.worst_element = element;
                report.analytic = grad[element];
                report.numeric = numeric;
            }
        }
        reports.push(report);
    }
    GradcheckReport { inputs: reports }
}

fn make<const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    device: &Device,
    dtype: FloatDType,
) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(values, shape), (device, dtype.into()))
}

fn scalar(t: Tensor<1>) -> f64 {
    let v: Vec<f64> = t
        .into_data()
        .convert::<f64>()
        .try_into_vec()
        .expect("float output");
    assert_eq!(
        v.len(),
        1,
        "gradcheck: the function must return a one-element tensor"
    );
    v[0]
}
