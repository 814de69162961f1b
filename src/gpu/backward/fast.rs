//! The convolutions that run back on the forward pass's fast kernels (`transposed.rs`):
//! which ones, their transposed weights (and, where a BatchNorm folds into them, the same
//! scaled, `fold.rs`), and the buffers those kernels share.

use super::fold::Folds;
use super::transposed::Transposed;
use crate::gpu::context::GpuContext;
use crate::gpu::options::{choose_conv_kernel, Capabilities, Choice, ConvKernel, PlanOptions};
use crate::gpu::plan::buffers::Shared;
use crate::gpu::plan::Plan;
use crate::model::Layer;
use crate::tensor::Tensor;
use crate::weights::Weights;
use std::collections::BTreeMap;

/// The convolutions that run back on the forward pass's fast kernels: for each node, the
/// transposed convolution and its kernel; their transposed weights under the nodes' names;
/// the buffers those kernels share; the scratch buffers of the spread gradient and of the
/// accumulating variant.
pub struct FastConvs {
    pub specs: Vec<Option<(Transposed, ConvKernel)>>,
    pub weights: Weights,
    /// Those of the convolutions a BatchNorm folds into, scaled (`fold.rs`).
    pub folded: Weights,
    pub shared: Shared,
    pub up: wgpu::Buffer,
    pub spill: wgpu::Buffer,
}

impl FastConvs {
    pub fn new(
        ctx: &GpuContext,
        plan: &Plan,
        weights: &Weights,
        folds: &Folds,
        fast: bool,
    ) -> FastConvs {
        let options = PlanOptions::default();
        let caps = Capabilities::new(ctx, &options);
        let specs: Vec<Option<(Transposed, ConvKernel)>> = (plan.net.nodes.iter().enumerate())
            .map(|(id, node)| {
                let Layer::Conv2d(c) = &node.layer else {
                    return None;
                };
                let (s, o) = (plan.shapes[node.inputs[0]], plan.shapes[id]);
                let t = Transposed::new(c, s, o).filter(|_| fast)?;
                let kernel = choose_conv_kernel(&t.conv, t.input, s, &options, &caps);
                // A transposed convolution with a few output channels (a stem's 3) would
                // keep the matrix product's channel lanes idle over a large spread map: the
                // gather is quicker there (BENCHMARKS.md).
                // (A strided depthwise layer measured 5x slower gathered than spread.)
                let narrow = s.c < 16 && c.groups == 1;
                (kernel != ConvKernel::Naive && !narrow).then_some((t, kernel))
            })
            .collect();
        let (mut tensors, mut folded) = (BTreeMap::new(), BTreeMap::new());
        let (mut kernels, mut up, mut spill) = (Vec::new(), 16u64, 16u64);
        for (id, node) in plan.net.nodes.iter().enumerate() {
            let (Some((t, kernel)), Layer::Conv2d(c)) = (&specs[id], &node.layer) else {
                continue;
            };
            let s = plan.shapes[node.inputs[0]];
            let shape = vec![s.c, c.out_channels / c.groups, c.kernel.0, c.kernel.1];
            let key = format!("{}.weight", node.name);
            let w = &weights.get(&node.name, "weight").data;
            let data = Transposed::weight(c, w);
            tensors.insert(key.clone(), Tensor::new(shape.clone(), data));
            if let Some(w) = folds.weights.tensors.get(&key) {
                let data = Transposed::weight(c, &w.data);
                folded.insert(key, Tensor::new(shape, data));
            }
            kernels.push((Choice::Conv(&t.conv, *kernel), t.input, s));
            if t.upsampled.is_some() {
                up = up.max(t.input.len() as u64 * 4);
            }
            spill = spill.max(s.len() as u64 * 4);
        }
        let shared = Shared::for_kernels(ctx, &kernels);
        let scratch = |label: &str, bytes: u64| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.div_ceil(16) * 16,
                // Copied into the X texture by the matrix-product kernels.
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        FastConvs {
            weights: Weights { tensors },
            folded: Weights { tensors: folded },
            shared,
            up: scratch("spread gradient", up),
            spill: scratch("gradient to add", spill),
            specs,
        }
    }
}
