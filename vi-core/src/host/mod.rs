//! The host side every backend extension shares on the CPU backends (flex, ndarray): the element
//! types kernels run in ([`HostFloat`]), call-free vectorisable `f32` maths ([`math`],
//! [`vectorised`]), running a kernel on host data
//! ([`on_host`], [`on_host_many`]: zero-copy reads of Flex tensors, `f32` or `f64` working
//! precision) and the parallelism policy ([`use_pool`]).
//!
//! Each extension's `backend/host.rs` (and the linear-algebra kernels) implements
//! [`HostKernel`] or [`HostKernels`] and calls [`on_host`] or [`on_host_many`].

mod float;
mod kernel;
mod math;
mod pool;

pub(crate) use float::HostFloat;
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) use float::sum_in_f64;
#[cfg(feature = "flex")]
pub(crate) use kernel::read_input;
pub(crate) use kernel::{HostKernel, dims, on_host, slice, slice_mut};
#[cfg(any(feature = "flex", feature = "ndarray"))]
pub(crate) use kernel::{HostKernels, on_host_many};
pub(crate) use math::vectorised;
pub(crate) use pool::use_pool;
