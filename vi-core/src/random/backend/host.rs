//! The CPU sampler: a 64-bit key from the backend's own stream, then xoshiro256++ per chunk of
//! [`CHUNK`] values (keyed by the chunk index), rayon over the chunks.

use crate::host::{HostFloat, use_pool};
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, Distribution, FloatDType, Shape, TensorData};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution as _, StandardNormal, StandardUniform};
use rayon::prelude::*;

/// Values per independently keyed generator.
const CHUNK: usize = 1 << 14;

/// [`super::RandomBackend::random_like`] on the host.
pub(crate) fn random_like<B: Backend>(
    like: FloatTensor<B>,
    distribution: Distribution,
) -> FloatTensor<B> {
    let (shape, dtype, device) = (like.shape(), like.dtype(), like.device());
    let key = stream_key::<B>(&device);
    let data = if dtype == DType::F64 {
        fill::<f64>(shape, distribution, key)
    } else {
        fill::<f32>(shape, distribution, key)
    };
    let out = B::float_from_data(data, &device);
    match dtype {
        DType::F64 | DType::F32 => out,
        other => B::float_cast(out, FloatDType::from(other)),
    }
}

/// 64 bits from four uniform draws of the backend's stream (so `device.seed` governs them).
fn stream_key<B: Backend>(device: &B::Device) -> u64 {
    let draws = B::float_random(
        Shape::new([4]),
        Distribution::Default,
        device,
        FloatDType::F32,
    );
    let data = burn_std::reader::try_read_sync(B::float_into_data(draws))
        .expect("random: could not read the key synchronously")
        .expect("random: could not read the key");
    data.convert::<f64>()
        .iter::<f64>()
        .fold(0x9E37_79B9_7F4A_7C15, |key, v| {
            splitmix(key ^ (v * 9_007_199_254_740_992.0) as u64)
        })
}

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fill<T>(shape: Shape, distribution: Distribution, key: u64) -> TensorData
where
    T: HostFloat,
    StandardNormal: rand_distr::Distribution<T>,
    StandardUniform: rand_distr::Distribution<T>,
{
    let mut out = vec![T::from_f64(0.0); shape.num_elements()];
    let fill_chunk = |(chunk, values): (usize, &mut [T])| {
        let mut rng = SmallRng::seed_from_u64(splitmix(key ^ chunk as u64));
        match distribution {
            Distribution::Normal(mean, std) => {
                let (mean, std) = (T::from_f64(mean), T::from_f64(std));
                for v in values {
                    let z: T = StandardNormal.sample(&mut rng);
                    *v = mean + std * z;
                }
            }
            Distribution::Uniform(low, high) => {
                let (low, width) = (T::from_f64(low), T::from_f64(high - low));
                for v in values {
                    let u: T = rng.random();
                    *v = low + width * u;
                }
            }
            Distribution::Default => {
                for v in values {
                    *v = rng.random();
                }
            }
            Distribution::Bernoulli(p) => {
                let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
                for v in values {
                    *v = if rng.random::<f64>() < p { one } else { zero };
                }
            }
        }
    };
    // Chunks are keyed by their index, so both loops give the same values.
    if use_pool(out.len().div_ceil(CHUNK)) {
        out.par_chunks_mut(CHUNK).enumerate().for_each(fill_chunk);
    } else {
        out.chunks_mut(CHUNK).enumerate().for_each(fill_chunk);
    }
    TensorData::new(out, shape)
}
