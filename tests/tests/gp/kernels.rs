//! The kernels against closed forms, as positive semi-definite matrices, by finite differences,
//! and `inducing_matrices` against separate calls.

use crate::common::{GradientPairs, Kernel_, host_matrix, inputs, param};
use burn::module::Param;
use burn::tensor::{Device, FloatDType, Tensor};
use proptest::prelude::*;
use vi_blocks::dtype::with_dtype;
use vi_blocks::gp::kernel::{
    Kernel, Linear, LinearConfig, Matern, MaternConfig, Periodic, PeriodicConfig, ProductKernel,
    Rbf, RbfConfig, ScaleKernel, ScaleKernelConfig, Smoothness, SumKernel,
};
use vi_core::gradcheck::gradcheck;
use vi_core::linalg::cholesky;
use vi_tests::{
    assert_all_close, by_dtype, device_tests, dtypes, gradcheck_config, noise, tensor, values,
};

device_tests!(
    kernels_match_closed_forms,
    inducing_matrices_match_separate_calls,
    kernel_matrices_are_psd,
    gradcheck_kernels,
);

/// Each kernel's matrix and diagonal against the formula evaluated here in `f64`, including a
/// batched (two-output) kernel, sums and products.
fn kernels_match_closed_forms(device: Device) {
    for dtype in dtypes(&device) {
        let fx = ClosedForms::new(&device, dtype);
        single_kernels(&fx);
        composite_kernels(&fx);
        batched_kernels(&fx);
        batched_output_scales(&fx);
    }
}

/// ARD lengthscales of the closed-form checks.
const LS: [f64; 3] = [0.7, 1.3, 2.1];
/// The periodic kernel's lengthscales and periods.
const PL: [f64; 3] = [0.9, 1.4, 0.6];
const PP: [f64; 3] = [1.1, 2.5, 0.8];

/// Pairwise inputs (`n = 6`, `m = 5`, `d = 3`) and tolerances of the closed-form checks in one
/// dtype.
struct ClosedForms {
    device: Device,
    dtype: FloatDType,
    n: usize,
    m: usize,
    d: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    ta: Tensor<3>,
    tb: Tensor<3>,
    rtol: f64,
    atol: f64,
}

impl ClosedForms {
    fn new(device: &Device, dtype: FloatDType) -> Self {
        let (n, m, d) = (6, 5, 3);
        let (rtol, atol) = by_dtype(dtype, (1e-12, 1e-12), (1e-4, 1e-5));
        let (a, b, ta, tb) = inputs(device, dtype, n, m, d);
        Self {
            device: device.clone(),
            dtype,
            n,
            m,
            d,
            a,
            b,
            ta,
            tb,
            rtol,
            atol,
        }
    }

    /// `Σ ((x − y)/ℓ)²` with the ARD lengthscales [`LS`].
    fn r2(&self, x: &[f64], y: &[f64]) -> f64 {
        (0..self.d)
            .map(|k| ((x[k] - y[k]) / LS[k]).powi(2))
            .sum::<f64>()
    }

    /// Raw parameters `[1, 1, d]` of the given natural values.
    fn raw(&self, natural: &[f64]) -> Param<Tensor<3>> {
        param(tensor(
            natural
                .iter()
                .map(|&l| vi_core::special::inverse_softplus_f64(l))
                .collect(),
            [1, 1, natural.len()],
            &self.device,
            self.dtype,
        ))
    }

    /// The kernel's matrix `K(a, b)` and diagonal `k(a, a)` against the host values.
    fn check(&self, label: &str, k: &dyn Kernel_, want: Vec<f64>, want_diag: Vec<f64>) {
        let (dtype, rtol, atol) = (self.dtype, self.rtol, self.atol);
        let (ta, tb) = (&self.ta, &self.tb);
        assert_all_close(
            &format!("{label} [{dtype:?}] matrix"),
            &values(k.dyn_matrix(ta.clone(), tb.clone())),
            &want,
            rtol,
            atol,
        );
        assert_all_close(
            &format!("{label} [{dtype:?}] diagonal"),
            &values(k.dyn_diagonal(ta.clone())),
            &want_diag,
            rtol,
            atol,
        );
    }

    /// `x · y`.
    fn dot(&self, x: &[f64], y: &[f64]) -> f64 {
        (0..self.d).map(|k| x[k] * y[k]).sum::<f64>()
    }

    /// The periodic kernel of lengthscales [`PL`] and periods [`PP`] on the host.
    fn periodic(&self, x: &[f64], y: &[f64]) -> f64 {
        let (d, pl, pp) = (self.d, PL, PP);
        (-2.0
            * (0..d)
                .map(|k| {
                    (std::f64::consts::PI * (x[k] - y[k]) / pp[k]).sin().powi(2) / (pl[k] * pl[k])
                })
                .sum::<f64>())
        .exp()
    }

    /// An RBF kernel with the ARD lengthscales [`LS`].
    fn rbf(&self) -> Rbf {
        let mut rbf = with_dtype(RbfConfig::new(self.d).init(&self.device), self.dtype);
        rbf.lengthscale_raw = self.raw(&LS);
        rbf
    }

    /// The linear kernel of variance 1.7.
    fn linear(&self) -> Linear {
        Linear {
            variance_raw: param(tensor(
                vec![vi_core::special::inverse_softplus_f64(1.7)],
                [1, 1, 1],
                &self.device,
                self.dtype,
            )),
        }
    }

    /// An ARD periodic kernel of lengthscales [`PL`] and periods [`PP`].
    fn periodic_kernel(&self) -> Periodic {
        let (device, dtype, d) = (&self.device, self.dtype, self.d);
        let mut per = with_dtype(PeriodicConfig::new(d).with_ard(true).init(device), dtype);
        per.lengthscale_raw = self.raw(&PL);
        per.period_raw = self.raw(&PP);
        per
    }

    /// `1.7 x·x` for each row of `a`.
    fn linear_diagonal(&self) -> Vec<f64> {
        let (a, d) = (&self.a, self.d);
        (0..self.n)
            .map(|i| 1.7 * self.dot(&a[i * d..(i + 1) * d], &a[i * d..(i + 1) * d]))
            .collect()
    }
}

/// RBF, the three Matérn kernels, linear and periodic against their formulas.
fn single_kernels(fx: &ClosedForms) {
    let (a, b, d, n, device, dtype) = (
        fx.a.clone(),
        fx.b.clone(),
        fx.d,
        fx.n,
        fx.device.clone(),
        fx.dtype,
    );
    let r2 = |x: &[f64], y: &[f64]| fx.r2(x, y);
    let check = |label: &str, k: &dyn Kernel_, want, want_diag| fx.check(label, k, want, want_diag);
    let ones = vec![1.0; n];
    let rbf = fx.rbf();
    check(
        "rbf",
        &rbf,
        host_matrix(&a, &b, d, |x, y| (-0.5 * r2(x, y)).exp()),
        ones.clone(),
    );
    for (nu, f) in [
        (Smoothness::Half, (|r: f64| (-r).exp()) as fn(f64) -> f64),
        (Smoothness::ThreeHalves, |r: f64| {
            (1.0 + 3f64.sqrt() * r) * (-3f64.sqrt() * r).exp()
        }),
        (Smoothness::FiveHalves, |r: f64| {
            (1.0 + 5f64.sqrt() * r + 5.0 * r * r / 3.0) * (-5f64.sqrt() * r).exp()
        }),
    ] {
        let mut k = with_dtype(
            MaternConfig::new(d).with_smoothness(nu).init(&device),
            dtype,
        );
        k.lengthscale_raw = fx.raw(&LS);
        check(
            &format!("matern {nu:?}"),
            &k,
            host_matrix(&a, &b, d, |x, y| f(r2(x, y).sqrt())),
            ones.clone(),
        );
    }
    let lin = fx.linear();
    let dot = |x: &[f64], y: &[f64]| fx.dot(x, y);
    let lin_diag = fx.linear_diagonal();
    check(
        "linear",
        &lin,
        host_matrix(&a, &b, d, |x, y| 1.7 * dot(x, y)),
        lin_diag.clone(),
    );
    let per = fx.periodic_kernel();
    let periodic = |x: &[f64], y: &[f64]| fx.periodic(x, y);
    check(
        "periodic",
        &per,
        host_matrix(&a, &b, d, periodic),
        ones.clone(),
    );
}

/// A scaled kernel, a sum and a product against their formulas.
fn composite_kernels(fx: &ClosedForms) {
    let (a, b, d, n, device, dtype) = (
        fx.a.clone(),
        fx.b.clone(),
        fx.d,
        fx.n,
        fx.device.clone(),
        fx.dtype,
    );
    let r2 = |x: &[f64], y: &[f64]| fx.r2(x, y);
    let dot = |x: &[f64], y: &[f64]| fx.dot(x, y);
    let periodic = |x: &[f64], y: &[f64]| fx.periodic(x, y);
    let check = |label: &str, k: &dyn Kernel_, want, want_diag| fx.check(label, k, want, want_diag);
    let (rbf, lin, per) = (fx.rbf(), fx.linear(), fx.periodic_kernel());
    let lin_diag = fx.linear_diagonal();
    let scaled = ScaleKernel {
        base: rbf.clone(),
        outputscale_raw: param(tensor(
            vec![vi_core::special::inverse_softplus_f64(2.5)],
            [1, 1, 1],
            &device,
            dtype,
        )),
    };
    check(
        "scale(rbf)",
        &scaled,
        host_matrix(&a, &b, d, |x, y| 2.5 * (-0.5 * r2(x, y)).exp()),
        vec![2.5; n],
    );
    let sum = SumKernel::new(rbf.clone(), lin.clone());
    let sum_diag: Vec<f64> = lin_diag.iter().map(|v| v + 1.0).collect();
    check(
        "rbf + linear",
        &sum,
        host_matrix(&a, &b, d, |x, y| (-0.5 * r2(x, y)).exp() + 1.7 * dot(x, y)),
        sum_diag,
    );
    let product = ProductKernel::new(per.clone(), lin.clone());
    check(
        "periodic · linear",
        &product,
        host_matrix(&a, &b, d, |x, y| periodic(x, y) * 1.7 * dot(x, y)),
        lin_diag,
    );
}

/// Batched over two outputs: output 1 has twice the lengthscale; inputs shared.
fn batched_kernels(fx: &ClosedForms) {
    let (a, b, d, n, m, device, dtype) = (
        fx.a.clone(),
        fx.b.clone(),
        fx.d,
        fx.n,
        fx.m,
        fx.device.clone(),
        fx.dtype,
    );
    let (ta, rtol, atol) = (&fx.ta, fx.rtol, fx.atol);
    let tb = &fx.tb;
    // Batched over two outputs: output 1 has twice the lengthscale; inputs shared.
    let mut batched = with_dtype(
        RbfConfig::new(d)
            .with_ard(false)
            .with_batch(2)
            .init(&device),
        dtype,
    );
    batched.lengthscale_raw = param(tensor(
        vec![
            vi_core::special::inverse_softplus_f64(0.8),
            vi_core::special::inverse_softplus_f64(1.6),
        ],
        [2, 1, 1],
        &device,
        dtype,
    ));
    let got = values(batched.matrix(ta.clone(), tb.clone()));
    for (o, l) in [(0, 0.8), (1, 1.6)] {
        let want = host_matrix(&a, &b, d, |x, y| {
            (-0.5 * (0..d).map(|k| ((x[k] - y[k]) / l).powi(2)).sum::<f64>()).exp()
        });
        assert_all_close(
            &format!("batched rbf output {o} [{dtype:?}]"),
            &got[o * n * m..(o + 1) * n * m],
            &want,
            rtol,
            atol,
        );
    }
    assert_eq!(batched.diagonal(ta.clone()).dims(), [2, n]);
}

/// Output scales per output over a shared unit-variance kernel: the diagonal is each output's
/// scale, in the scale's batch (and as the matrix's diagonal).
fn batched_output_scales(fx: &ClosedForms) {
    let (d, n, device, dtype) = (fx.d, fx.n, fx.device.clone(), fx.dtype);
    let (ta, rtol, atol) = (&fx.ta, fx.rtol, fx.atol);
    let mut scaled = with_dtype(
        ScaleKernelConfig::new()
            .with_batch(2)
            .init(MaternConfig::new(d).init(&device), &device),
        dtype,
    );
    scaled.outputscale_raw = param(tensor(
        vec![
            vi_core::special::inverse_softplus_f64(0.3),
            vi_core::special::inverse_softplus_f64(2.5),
        ],
        [2, 1, 1],
        &device,
        dtype,
    ));
    let want: Vec<f64> = [0.3, 2.5].iter().flat_map(|&v| vec![v; n]).collect();
    assert_all_close(
        &format!("batched scale diagonal [{dtype:?}]"),
        &values(scaled.diagonal(ta.clone())),
        &want,
        rtol,
        atol,
    );
    let gram = values(scaled.gram(ta.clone()));
    let gram_diagonal: Vec<f64> = (0..2 * n)
        .map(|i| gram[i / n * n * n + i % n * (n + 1)])
        .collect();
    assert_all_close(
        &format!("batched scale gram diagonal [{dtype:?}]"),
        &gram_diagonal,
        &want,
        rtol,
        atol,
    );
}

/// Property: for random inputs and hyper-parameters every kernel's Gram matrix is symmetric,
/// its diagonal equals `diagonal()`, and `K + ε·I` has a Cholesky factor.
fn kernel_matrices_are_psd(device: Device) {
    let dtype = dtypes(&device)[0];
    let eps = by_dtype(dtype, 1e-9, 1e-3);
    let mut runner = vi_tests::proptest_runner("kernel_matrices_are_psd", 64);
    let strategy = (
        1usize..12,
        1usize..4,
        0.2f64..3.0,
        0.2f64..3.0,
        any::<u64>(),
    );
    runner
        .run(&strategy, |(n, d, ls, scale, seed)| {
            let x = tensor(
                noise(seed, n * d).iter().map(|v| 2.0 * v).collect(),
                [1, n, d],
                &device,
                dtype,
            );
            for (name, k) in psd_kernels(&device, dtype, d, ls, scale) {
                check_psd(name, k.as_ref(), &x, eps)?;
            }
            Ok(())
        })
        .unwrap();
}

/// The kernels of the property test, with lengthscale `ls` and scale (output scale, variance,
/// period) `scale` where they have one.
fn psd_kernels(
    device: &Device,
    dtype: FloatDType,
    d: usize,
    ls: f64,
    scale: f64,
) -> Vec<(&'static str, Box<dyn Kernel_>)> {
    let device = device.clone();
    vec![
        (
            "rbf",
            Box::new(with_dtype(
                ScaleKernelConfig::new().with_outputscale(scale).init(
                    RbfConfig::new(d).with_lengthscale(ls).init(&device),
                    &device,
                ),
                dtype,
            )),
        ),
        (
            "matern12",
            Box::new(with_dtype(
                MaternConfig::new(d)
                    .with_smoothness(Smoothness::Half)
                    .with_lengthscale(ls)
                    .init(&device),
                dtype,
            )),
        ),
        (
            "matern32",
            Box::new(with_dtype(
                MaternConfig::new(d)
                    .with_smoothness(Smoothness::ThreeHalves)
                    .with_lengthscale(ls)
                    .init(&device),
                dtype,
            )),
        ),
        (
            "matern52",
            Box::new(with_dtype(
                MaternConfig::new(d).with_lengthscale(ls).init(&device),
                dtype,
            )),
        ),
        (
            "linear",
            Box::new(with_dtype(
                LinearConfig::new().with_variance(scale).init(&device),
                dtype,
            )),
        ),
        (
            "periodic",
            Box::new(with_dtype(
                PeriodicConfig::new(d)
                    .with_lengthscale(ls)
                    .with_period(scale)
                    .init(&device),
                dtype,
            )),
        ),
        (
            "sum",
            Box::new(with_dtype(
                SumKernel::new(
                    RbfConfig::new(d).init(&device),
                    LinearConfig::new().init(&device),
                ),
                dtype,
            )),
        ),
        (
            "product",
            Box::new(with_dtype(
                ProductKernel::new(
                    PeriodicConfig::new(d).init(&device),
                    MaternConfig::new(d).init(&device),
                ),
                dtype,
            )),
        ),
    ]
}

/// `K(x, x)` is symmetric with `diagonal()` on its diagonal, and `K + ε·max|K|·I` factorises.
fn check_psd(
    name: &str,
    k: &dyn Kernel_,
    x: &Tensor<3>,
    eps: f64,
) -> Result<(), proptest::test_runner::TestCaseError> {
    let [_, n, d] = x.dims();
    let device = x.device();
    let gram = k.dyn_matrix(x.clone(), x.clone());
    let g = values(gram.clone());
    let diag = values(k.dyn_diagonal(x.clone()));
    let big = g.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    // The same numbers by two routes (diagonal() and the Gram's; k(x, y) and k(y, x)).
    let tol = by_dtype(x.dtype().into(), 1e-12, 1e-5);
    for i in 0..n {
        prop_assert!(
            (g[i * n + i] - diag[i]).abs() <= tol * big,
            "{name}: diag {i}"
        );
        for j in 0..n {
            prop_assert!(
                (g[i * n + j] - g[j * n + i]).abs() <= tol * big,
                "{name}: not symmetric"
            );
        }
    }
    let shifted = gram
        + Tensor::<2>::eye(n, &device)
            .cast(x.dtype())
            .unsqueeze::<3>()
            .mul_scalar(eps * big);
    prop_assert!(
        cholesky(shifted).is_ok(),
        "{name}: K + εI is not positive definite (n={n}, d={d})"
    );
    Ok(())
}

/// Finite differences through every kernel, with respect to both inputs and every raw
/// hyper-parameter.
fn gradcheck_kernels(device: Device) {
    let ad = device.autodiff();
    let config = gradcheck_config(&ad);
    let dtype = config.dtype;
    let (n, m, d) = (4, 3, 2);
    let x1 = tensor(noise(21, n * d), [1, n, d], &ad, dtype);
    let x2 = tensor(noise(22, m * d), [1, m, d], &ad, dtype);
    let w = tensor(noise(23, n * m), [1, n, m], &ad, dtype);
    for (name, params, build) in gradcheck_cases(&ad, dtype, d) {
        let k = params.len();
        let mut all = params;
        all.extend([x1.clone(), x2.clone(), w.clone()]);
        let report = gradcheck(
            |v| {
                let kernel = build(&v[..k]);
                let diag_w = v[k + 2].clone().slice([0..1, 0..n, 0..1]).reshape([1, n]);
                (kernel.dyn_matrix(v[k].clone(), v[k + 1].clone()) * v[k + 2].clone()).sum()
                    + (kernel.dyn_diagonal(v[k].clone()) * diag_w).sum()
            },
            &all,
            &config,
        );
        assert!(report.passed(), "{name}:\n{report}");
    }
}

/// Builds a kernel from its raw hyper-parameters.
type Build = fn(&[Tensor<3>]) -> Box<dyn Kernel_>;

/// Each kernel of the finite-difference check: name, raw hyper-parameters, builder.
fn gradcheck_cases(
    ad: &Device,
    dtype: FloatDType,
    d: usize,
) -> Vec<(&'static str, Vec<Tensor<3>>, Build)> {
    let ad = ad.clone();
    let raw = |seed, dims: [usize; 3]| {
        tensor(
            noise(seed, dims.iter().product())
                .iter()
                .map(|v| 0.3 * v)
                .collect(),
            dims,
            &ad,
            dtype,
        )
    };
    vec![
        ("rbf", vec![raw(1, [1, 1, d])], |v| {
            Box::new(Rbf {
                lengthscale_raw: param(v[0].clone()),
            })
        }),
        ("matern12", vec![raw(2, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::Half,
            })
        }),
        ("matern32", vec![raw(3, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::ThreeHalves,
            })
        }),
        ("matern52", vec![raw(4, [1, 1, d])], |v| {
            Box::new(Matern {
                lengthscale_raw: param(v[0].clone()),
                smoothness: Smoothness::FiveHalves,
            })
        }),
        ("linear", vec![raw(5, [1, 1, 1])], |v| {
            Box::new(Linear {
                variance_raw: param(v[0].clone()),
            })
        }),
        (
            "periodic",
            vec![
                raw(6, [1, 1, d]).add_scalar(0.5),
                raw(7, [1, 1, d]).add_scalar(1.5),
            ],
            |v| {
                Box::new(Periodic {
                    lengthscale_raw: param(v[0].clone()),
                    period_raw: param(v[1].clone()),
                })
            },
        ),
        (
            "scale(rbf)·linear + matern",
            vec![
                raw(8, [1, 1, d]),
                raw(9, [1, 1, 1]),
                raw(10, [1, 1, 1]),
                raw(11, [1, 1, d]),
            ],
            |v| {
                Box::new(SumKernel::new(
                    ProductKernel::new(
                        ScaleKernel {
                            base: Rbf {
                                lengthscale_raw: param(v[0].clone()),
                            },
                            outputscale_raw: param(v[1].clone()),
                        },
                        Linear {
                            variance_raw: param(v[2].clone()),
                        },
                    ),
                    Matern {
                        lengthscale_raw: param(v[3].clone()),
                        smoothness: Smoothness::FiveHalves,
                    },
                ))
            },
        ),
    ]
}

/// `Kernel::inducing_matrices` (hyper-parameters transformed once) against `gram`, `matrix` and
/// `diagonal` called one by one: values, and gradients in the inducing inputs and every raw
/// hyper-parameter, for the overriding kernels (`Rbf`, `ScaleKernel<Rbf>`) and a default one
/// (`ScaleKernel<Matern>`), with a kernel batch of 2 broadcast against inputs of batch 1.
fn inducing_matrices_match_separate_calls(device: Device) {
    let ad = device.clone().autodiff();
    let (m, n, d) = (5, 7, 3);
    for dtype in dtypes(&device) {
        let tol = by_dtype(dtype, 1e-12, 1e-5);
        let (_, _, z, x) = inputs(&ad, dtype, m, n, d);
        let rbf = with_dtype(RbfConfig::new(d).with_lengthscale(0.8).init(&ad), dtype);
        let matern = with_dtype(MaternConfig::new(d).init(&ad), dtype);
        let scale = ScaleKernelConfig::new().with_outputscale(1.7).with_batch(2);
        let scaled_rbf = with_dtype(scale.init(rbf.clone(), &ad), dtype);
        let scaled_matern = with_dtype(scale.init(matern, &ad), dtype);
        compare_inducing_matrices("Rbf", &rbf, &z, &x, dtype, tol);
        compare_inducing_matrices("ScaleKernel<Rbf>", &scaled_rbf, &z, &x, dtype, tol);
        compare_inducing_matrices("ScaleKernel<Matern>", &scaled_matern, &z, &x, dtype, tol);
    }
}

fn compare_inducing_matrices<K: Kernel>(
    label: &str,
    kernel: &K,
    z: &Tensor<3>,
    x: &Tensor<3>,
    dtype: FloatDType,
    tol: f64,
) {
    let device = z.device();
    let z = z.clone().detach().require_grad();
    let objective = |(kzz, kzx, kxx): (Tensor<3>, Tensor<3>, Tensor<2>)| {
        let weights = |shape: [usize; 3], seed: u64| {
            tensor(noise(seed, shape.iter().product()), shape, &device, dtype)
        };
        let [b, mm, nn] = kzx.dims();
        let values = [kzz.clone(), kzx.clone()]
            .into_iter()
            .chain([kxx.clone().unsqueeze_dim(1)])
            .flat_map(values)
            .collect::<Vec<_>>();
        let loss = (kzz.clone() * weights([b, mm, mm], 31)).sum()
            + (kzx * weights([b, mm, nn], 32)).sum()
            + (kxx.unsqueeze_dim::<3>(1) * weights([b, 1, nn], 33)).sum();
        (values, loss)
    };
    let (together, loss_together) = objective(kernel.inducing_matrices(z.clone(), x.clone()));
    let (apart, loss_apart) = objective((
        kernel.gram(z.clone()),
        kernel.matrix(z.clone(), x.clone()),
        kernel.diagonal(x.clone()),
    ));
    assert_all_close(
        &format!("{label} [{dtype:?}] values"),
        &together,
        &apart,
        tol,
        tol,
    );
    let (g1, g2) = (loss_together.backward(), loss_apart.backward());
    let mut pairs = vec![(
        values(z.grad(&g1).expect("a gradient")),
        values(z.grad(&g2).expect("a gradient")),
    )];
    kernel.visit(&mut GradientPairs {
        grads: (&g1, &g2),
        pairs: &mut pairs,
    });
    assert!(pairs.len() > 1, "{label}: no hyper-parameters visited");
    for (i, (together, apart)) in pairs.iter().enumerate() {
        assert_all_close(
            &format!("{label} [{dtype:?}] gradient {i}"),
            together,
            apart,
            tol,
            tol,
        );
    }
}
