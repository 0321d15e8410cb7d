//! Golden values of `linalg.json`.

use burn::tensor::{Device, FloatDType};
use vi_core::linalg::{Side, Triangle, cholesky, cholesky_solve, logdet, solve_triangular};
use vi_tests::{Case, Golden, assert_close, device_tests, dtypes, tolerance, values};

device_tests!(golden_linalg,);

/// Every case of `linalg.json`: values and gradients.
fn golden_linalg(device: Device) {
    let golden = Golden::load("linalg.json");
    let ad = device.clone().autodiff();
    for dtype in dtypes(&device) {
        for case in golden.cases() {
            if dtype != FloatDType::F64 && case.is_stress() {
                continue; // f64-only stress cases (see the golden README)
            }
            let name = format!("{} [{dtype:?}]", case.name());
            let check = |label: &str, got: Vec<f64>, key: &str, gradient: bool| {
                let want = case.output(key);
                let (rtol, atol) = tolerance(&case, &want, dtype, gradient);
                assert_close(&format!("{name} {label}"), &got, &want, rtol, atol);
            };
            let kind = case.name().split('_').next().unwrap();
            match case.name() {
                n if n.starts_with("cholesky_solve") => {
                    cholesky_solve_case(&case, &ad, dtype, &check)
                }
                n if n.starts_with("cholesky") => cholesky_case(&case, &ad, dtype, &check),
                n if n.starts_with("trisolve") => {
                    let triangle = if n.starts_with("trisolve_lower") {
                        Triangle::Lower
                    } else {
                        Triangle::Upper
                    };
                    trisolve_case(&case, &ad, dtype, triangle, &check)
                }
                n if n.starts_with("logdet") => logdet_case(&case, &ad, dtype, &check),
                other => panic!("unknown golden case {other} ({kind})"),
            }
        }
    }
}

/// A golden check: label, values, output key, whether they are gradients.
type Check<'a> = &'a dyn Fn(&str, Vec<f64>, &str, bool);

/// `X = cholesky_solve(chol(A), R)` and its gradients in `A` (symmetric) and `R`.
fn cholesky_solve_case(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
    let r = case.input("R").to_tensor::<3>(&ad, dtype).require_grad();
    let w = case.input("Wx").to_tensor::<3>(&ad, dtype);
    let x = cholesky_solve(cholesky(a.clone()).unwrap(), r.clone()).unwrap();
    let grads = (x.clone() * w).sum().backward();
    check("X", values(x), "X", false);
    check(
        "grad_A",
        values(a.grad(&grads).unwrap()),
        "grad_A_sym",
        true,
    );
    check("grad_R", values(r.grad(&grads).unwrap()), "grad_R", true);
}

/// `L = chol(A)`, `f = Σ W ∘ L` and the gradient in `A` (symmetric).
fn cholesky_case(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
    let w = case.input("W").to_tensor::<3>(&ad, dtype);
    let l = cholesky(a.clone()).unwrap();
    let f = (l.clone() * w).sum();
    let grads = f.clone().backward();
    check("L", values(l), "L", false);
    check("f", values(f), "f", false);
    check(
        "grad_A",
        values(a.grad(&grads).unwrap()),
        "grad_A_sym",
        true,
    );
}

/// `X = T⁻¹ R` and its gradients in `T` and `R`.
fn trisolve_case(
    case: &Case<'_>,
    ad: &Device,
    dtype: FloatDType,
    triangle: Triangle,
    check: Check,
) {
    let ad = ad.clone();
    let t = case.input("T").to_tensor::<3>(&ad, dtype).require_grad();
    let r = case.input("R").to_tensor::<3>(&ad, dtype).require_grad();
    let w = case.input("Wx").to_tensor::<3>(&ad, dtype);
    let x = solve_triangular(t.clone(), r.clone(), triangle, false, Side::Left).unwrap();
    let grads = (x.clone() * w).sum().backward();
    check("X", values(x), "X", false);
    check("grad_T", values(t.grad(&grads).unwrap()), "grad_T", true);
    check("grad_R", values(r.grad(&grads).unwrap()), "grad_R", true);
}

/// `logdet(A)` and its gradient (symmetric).
fn logdet_case(case: &Case<'_>, ad: &Device, dtype: FloatDType, check: Check) {
    let ad = ad.clone();
    let a = case.input("A").to_tensor::<3>(&ad, dtype).require_grad();
    let ld = logdet::<3, 1>(a.clone()).unwrap();
    let grads = ld.clone().sum().backward();
    check("logdet", values(ld), "logdet", false);
    check(
        "grad_A",
        values(a.grad(&grads).unwrap()),
        "grad_A_sym",
        true,
    );
}
