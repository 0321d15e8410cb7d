//! Random tensors under `Autodiff`: new leaves, not tracked.

use super::RandomBackend;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};
use burn::tensor::Distribution;

impl<B: RandomBackend, C: CheckpointStrategy> RandomBackend for Autodiff<B, C> {
    fn random_like(like: FloatTensor<Self>, distribution: Distribution) -> FloatTensor<Self> {
        Self::from_inner(B::random_like(Self::inner(like), distribution))
    }
}
