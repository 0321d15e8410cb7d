//! Running a kernel on host data: reading backend tensors to the host (without a copy where the
//! backend already holds them there), running the kernel in `f32` or `f64`, and handing the
//! result back with the input's dtype and device.

use super::float::HostFloat;
use burn::backend::{Backend, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, Element, FloatDType, Shape, TensorData};

/// A CPU kernel over host data in the working precision `T`.
pub(crate) trait HostKernel {
    /// Reads `inputs` (already in `T`) and returns the output, reusing an input's buffer where
    /// the kernel works in place.
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> TensorData;
}

/// A CPU kernel with several outputs, e.g. an update of a parameter and its optimizer state.
pub(crate) trait HostKernels {
    /// Reads `inputs` (already in `T`) and returns the outputs, reusing input buffers where the
    /// kernel works in place.
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> Vec<TensorData>;
}

/// A one-output kernel as a many-output one.
struct Single<K>(K);

impl<K: HostKernel> HostKernels for Single<K> {
    fn run<T: HostFloat>(self, inputs: Vec<TensorData>) -> Vec<TensorData> {
        vec![self.0.run::<T>(inputs)]
    }
}

/// Reads primitives to the host (without a copy where the backend already holds them there and
/// they are not shared), runs `kernel` in `f64` for `f64` input and in `f32` otherwise, and hands
/// the result back with the input's dtype and device.
pub(crate) fn on_host<B: Backend>(
    tensors: Vec<FloatTensor<B>>,
    kernel: impl HostKernel,
) -> FloatTensor<B> {
    on_host_many::<B>(tensors, Single(kernel))
        .pop()
        .expect("one output")
}

/// [`on_host`] for a kernel with several outputs, all handed back with the first input's dtype
/// and device.
pub(crate) fn on_host_many<B: Backend>(
    tensors: Vec<FloatTensor<B>>,
    kernel: impl HostKernels,
) -> Vec<FloatTensor<B>> {
    let device = tensors[0].device();
    let dtype = tensors[0].dtype();
    let datas = tensors.into_iter().map(read_input::<B>);
    let outputs = if dtype == DType::F64 {
        kernel.run::<f64>(datas.map(to_dtype::<f64>).collect())
    } else {
        kernel.run::<f32>(datas.map(to_dtype::<f32>).collect())
    };
    outputs
        .into_iter()
        .map(|out| {
            let tensor = B::float_from_data(out, &device);
            match dtype {
                DType::F64 | DType::F32 => tensor,
                other => B::float_cast(tensor, FloatDType::from(other)),
            }
        })
        .collect()
}

/// A host kernel's input as data: moved out when this is its only handle, else copied once.
pub(crate) fn read_input<B: Backend>(t: FloatTensor<B>) -> TensorData {
    #[cfg(feature = "flex")]
    if let Some(data) = shared_flex_data(&t) {
        return data;
    }
    burn_std::reader::try_read_sync(B::float_into_data(t))
        .expect("linalg: CPU kernel could not read its input synchronously")
        .expect("linalg: CPU kernel failed to read its input")
}

/// A contiguous `f32`/`f64` Flex tensor that another handle still holds, copied once into a `Vec`
/// of its element type (Flex's own `into_data` copies a shared buffer twice: out of the shared
/// allocation, then again to the runtime's alignment); `None` for any other tensor.
#[cfg(feature = "flex")]
fn shared_flex_data(t: &dyn std::any::Any) -> Option<TensorData> {
    let t = t.downcast_ref::<FloatTensor<burn::backend::Flex>>()?;
    if t.is_unique() {
        return None;
    }
    let shape = t.shape();
    match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()
            .map(|s| TensorData::new(s.to_vec(), shape)),
        DType::F64 => t
            .as_slice::<f64>()
            .map(|s| TensorData::new(s.to_vec(), shape)),
        _ => None,
    }
}

fn to_dtype<T: Element>(data: TensorData) -> TensorData {
    if data.dtype() == T::dtype() {
        data
    } else {
        data.convert::<T>()
    }
}

pub(crate) fn slice<T: HostFloat>(data: &TensorData) -> &[T] {
    data.as_slice::<T>()
        .expect("linalg: CPU kernel received a tensor it cannot read")
}

pub(crate) fn slice_mut<T: HostFloat>(data: &mut TensorData) -> &mut [T] {
    data.as_mut_slice::<T>()
        .expect("linalg: CPU kernel received a tensor it cannot write")
}

/// `(batch, rows, cols)` of a `[.., rows, cols]` shape (the batch is 1 for a matrix).
pub(crate) fn dims(shape: &Shape) -> (usize, usize, usize) {
    let rank = shape.num_dims();
    let (rows, cols) = (shape[rank - 2], shape[rank - 1]);
    let batch = shape.num_elements() / (rows * cols).max(1);
    (batch, rows, cols)
}
