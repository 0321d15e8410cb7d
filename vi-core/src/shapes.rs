//! Output shapes shared by the backend extensions' Fusion descriptions.

use burn::tensor::Shape;

/// The `[1]` shape of a summed value (the Fusion backend's output description).
#[cfg_attr(not(feature = "fusion"), allow(dead_code))]
pub(crate) fn scalar_shape() -> Shape {
    Shape::new([1])
}
