//! `vi_core::random`'s bulk draws.

use crate::common::moments;
use burn::tensor::{Device, Tensor};
use vi_core::random::{random, random_like};
use vi_tests::{assert_all_close, device_tests, dtypes, values};

device_tests!(bulk_random_tensors,);

/// `vi_core::random`: normal draws against statrs' CDF (Kolmogorov–Smirnov distance) and their
/// moments, uniform and Bernoulli draws against their moments (5 standard errors), in every
/// dtype; shapes and dtypes follow `like`; the draws are untracked leaves under autodiff.
fn bulk_random_tensors(device: Device) {
    use burn::tensor::Distribution as Noise;
    use statrs::distribution::{ContinuousCDF, Normal as StatNormal};
    let n = 40_000usize;
    for dtype in dtypes(&device) {
        let like = Tensor::<2>::zeros([200, n / 200], (&device, burn::tensor::DType::from(dtype)));
        let z = random_like(&like, Noise::Normal(1.5, 2.0));
        assert_eq!((z.dims(), z.dtype()), (like.dims(), like.dtype()));
        let mut z = values(z);
        let (mean, var) = moments(&z);
        let se = (4.0 / n as f64).sqrt();
        assert!(
            (mean - 1.5).abs() < 5.0 * se,
            "normal mean {mean} [{dtype:?}]"
        );
        assert!(
            (var / 4.0 - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "normal variance {var}"
        );
        z.sort_by(f64::total_cmp);
        let cdf = StatNormal::new(1.5, 2.0).unwrap();
        let ks = z
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let f = cdf.cdf(*x);
                (f - i as f64 / n as f64)
                    .abs()
                    .max((f - (i + 1) as f64 / n as f64).abs())
            })
            .fold(0.0, f64::max);
        // The 0.1 % critical value of the KS statistic is 1.95/√n.
        assert!(
            ks < 1.95 / (n as f64).sqrt(),
            "KS distance {ks} [{dtype:?}]"
        );
        let u = values(random(
            [n],
            Noise::Uniform(-1.0, 3.0),
            (&device, burn::tensor::DType::from(dtype)),
        ));
        assert!(u.iter().all(|x| (-1.0..3.0).contains(x)));
        let (mean, var) = moments(&u);
        assert!(
            (mean - 1.0).abs() < 5.0 * (var / n as f64).sqrt(),
            "uniform mean {mean}"
        );
        assert!(
            (var / (16.0 / 12.0) - 1.0).abs() < 0.05,
            "uniform variance {var}"
        );
        let b = values(random(
            [n],
            Noise::Bernoulli(0.3),
            (&device, burn::tensor::DType::from(dtype)),
        ));
        assert!(b.iter().all(|x| *x == 0.0 || *x == 1.0));
        let (mean, _) = moments(&b);
        assert!(
            (mean - 0.3).abs() < 5.0 * (0.21 / n as f64).sqrt(),
            "Bernoulli mean {mean}"
        );
    }
    let ad = device.autodiff();
    let x = Tensor::<1>::ones([8], &ad).require_grad();
    let eps = random_like(&x, Noise::Normal(0.0, 1.0));
    let grads = (x.clone() * eps.clone()).sum().backward();
    assert_all_close(
        "∂(x·ε)/∂x = ε",
        &values(x.grad(&grads).unwrap()),
        &values(eps),
        0.0,
        0.0,
    );
}
