//! Casts only where the dtype differs: Burn's autodiff records a cast (a graph node and a
//! backward step) even to the dtype a tensor already has.

use burn::tensor::{DType, Tensor};

/// `t` in `dtype`, cast only when it differs.
pub(crate) fn in_dtype<const D: usize>(t: Tensor<D>, dtype: DType) -> Tensor<D> {
    if t.dtype() == dtype { t } else { t.cast(dtype) }
}
