use super::Kernel;
use burn::module::Module;
use burn::tensor::Tensor;

/// `k₁(x, x') + k₂(x, x')`.
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, LinearConfig, RbfConfig, SumKernel};
/// let device = Device::default();
/// let k = SumKernel::new(RbfConfig::new(1).init(&device), LinearConfig::new().init(&device));
/// let x = Tensor::<3>::from_data([[[2.0]]], &device);
/// let diag: f32 = k.diagonal(x).into_scalar();
/// assert!((diag - 5.0).abs() < 1e-5); // 1 + 2²
/// ```
#[derive(Module, Debug)]
pub struct SumKernel<A, B> {
    /// `k₁`.
    pub first: A,
    /// `k₂`.
    pub second: B,
}

impl<A: Kernel, B: Kernel> SumKernel<A, B> {
    /// `first + second`.
    pub fn new(first: A, second: B) -> Self {
        Self { first, second }
    }
}

impl<A: Kernel, B: Kernel> Kernel for SumKernel<A, B> {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        self.first.matrix(x1.clone(), x2.clone()) + self.second.matrix(x1, x2)
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        self.first.diagonal(x.clone()) + self.second.diagonal(x)
    }
}

/// `k₁(x, x') · k₂(x, x')` (a product of kernels is a kernel: Schur product theorem).
///
/// # Example
/// ```
/// use burn::tensor::{Device, Tensor};
/// use vi_blocks::gp::kernel::{Kernel, LinearConfig, PeriodicConfig, ProductKernel};
/// let device = Device::default();
/// let k = ProductKernel::new(PeriodicConfig::new(1).init(&device), LinearConfig::new().init(&device));
/// let x = Tensor::<3>::from_data([[[3.0]]], &device);
/// let diag: f32 = k.diagonal(x).into_scalar();
/// assert!((diag - 9.0).abs() < 1e-4);
/// ```
#[derive(Module, Debug)]
pub struct ProductKernel<A, B> {
    /// `k₁`.
    pub first: A,
    /// `k₂`.
    pub second: B,
}

impl<A: Kernel, B: Kernel> ProductKernel<A, B> {
    /// `first · second`.
    pub fn new(first: A, second: B) -> Self {
        Self { first, second }
    }
}

impl<A: Kernel, B: Kernel> Kernel for ProductKernel<A, B> {
    fn matrix(&self, x1: Tensor<3>, x2: Tensor<3>) -> Tensor<3> {
        self.first.matrix(x1.clone(), x2.clone()) * self.second.matrix(x1, x2)
    }

    fn diagonal(&self, x: Tensor<3>) -> Tensor<2> {
        self.first.diagonal(x.clone()) * self.second.diagonal(x)
    }
}
