//! Lowering: each node becomes a few dispatches, on the kernel already chosen for it
//! ([`crate::gpu::options::choose`]), with its weights uploaded, its params written and its
//! bind groups made here, once, at plan time. One function per kernel, in one file per kernel
//! family; this file only routes a node to its function.
//!
//! The files below import `builder` (and the convolutions `conv_weights`), never this
//! file or each other.

mod builder;
mod conv_direct;
mod conv_weights;
mod dense;
mod depthwise;
mod elementwise;
mod lenet;
mod pointwise;
mod pool;

pub use builder::{grid, Lowering, NodeIo};
pub use conv_weights::Epilogue;

use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::options::{Choice, ConvKernel, DenseKernel};
use crate::model::{Conv2d, Layer};
use conv_weights::ConvSetup;

/// The dispatches computing one node on its chosen kernel.
pub fn node(l: &Lowering, choice: Choice, io: &NodeIo) -> Result<Vec<Dispatch>, GpuError> {
    let layer = match choice {
        Choice::Conv(c, kernel) => return conv(l, io, c, kernel, Epilogue::default()),
        Choice::Dense(d, DenseKernel::Texture) => return dense::texture(l, io, d),
        Choice::Dense(d, DenseKernel::Rows) => return dense::rows(l, io, d),
        Choice::Fixed(layer) => layer,
    };
    Ok(match layer {
        Layer::Input { .. } | Layer::Flatten | Layer::Dropout(_) => Vec::new(),
        Layer::PartialConv2d(p) => vec![lenet::partial_conv(l, io, p)?],
        Layer::Subsample(s) => vec![lenet::subsample(l, io, s)?],
        Layer::Rbf(r) => vec![lenet::rbf(l, io, r)?],
        Layer::MaxPool2d(p) => vec![pool::pool(l, io, p, true)],
        Layer::AvgPool2d(p) => vec![pool::pool(l, io, p, false)],
        Layer::AdaptiveAvgPool2d(_) => vec![pool::adaptive(l, io)],
        Layer::GlobalAvgPool => vec![pool::global_average(l, io)],
        Layer::Lrn(lrn) => vec![elementwise::lrn(l, io, lrn)],
        Layer::BatchNorm(b) => vec![elementwise::batchnorm(l, io, b)?],
        Layer::Activation(a) => vec![elementwise::activation(l, io, *a)],
        Layer::Add => vec![elementwise::add(l, io)?],
        Layer::Concat => elementwise::concat(l, io),
        Layer::Softmax => vec![elementwise::softmax(l, io)],
        Layer::Conv2d(_) | Layer::Dense(_) => {
            unreachable!("options::choose gives convolutions and dense layers their kernel")
        }
    })
}

/// The dispatches computing convolution `c` on `kernel`, with `epilogue` (a folded
/// BatchNorm, an activation) applied before the store.
pub fn conv(
    l: &Lowering,
    io: &NodeIo,
    c: &Conv2d,
    kernel: ConvKernel,
    epilogue: Epilogue,
) -> Result<Vec<Dispatch>, GpuError> {
    let setup = ConvSetup::new(l, io, c, epilogue);
    match kernel {
        ConvKernel::Naive => conv_direct::naive(l, io, &setup),
        ConvKernel::Gemm => conv_direct::gemm(l, io, &setup),
        ConvKernel::Depthwise => depthwise::depthwise(l, io, &setup),
        ConvKernel::DepthwiseTexture => depthwise::depthwise_texture(l, io, &setup),
        ConvKernel::Pointwise { subgroup } => pointwise::pointwise(l, io, &setup, subgroup),
        ConvKernel::Im2col { subgroup } => pointwise::im2col(l, io, &setup, subgroup),
    }
}
