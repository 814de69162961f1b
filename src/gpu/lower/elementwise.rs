//! Layers that map values (or channels) one to one: BatchNorm, activations, LRN, the sum of
//! two nodes, concatenation along channels, and softmax.

use super::builder::{grid, Lowering, NodeIo};
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{activation_overrides, Kernel, Variant};
use crate::gpu::params::{BatchNormParams, LrnParams, SmallParams};
use crate::model::{Activation, BatchNorm, Lrn};

/// The four words of `SmallParams`: `a`, `b`.
fn small(a: usize, b: usize) -> SmallParams {
    SmallParams {
        a: a as u32,
        b: b as u32,
        _pad: [0; 2],
    }
}

/// batchnorm.wgsl: one invocation per 4 values of a channel.
pub fn batchnorm(l: &Lowering, io: &NodeIo, b: &BatchNorm) -> Result<Dispatch, GpuError> {
    let (name, o) = (io.name, io.out_shape);
    let params = BatchNormParams {
        c: o.c as u32,
        hw: (o.h * o.w) as u32,
        eps: b.eps,
        _pad: 0,
    };
    let w = l.tensor(name, "weight")?;
    let bias = l.tensor(name, "bias")?;
    let mean = l.tensor(name, "running_mean")?;
    let var = l.tensor(name, "running_var")?;
    let reads = [io.input(), &w, &bias, &mean, &var];
    let threads = o.c * (o.h * o.w).div_ceil(4);
    let variant = Variant::plain(Kernel::BatchNorm);
    Ok(l.dispatch(name, variant, &reads, io.output, &params, grid(threads, 64)))
}

/// activation.wgsl, the function chosen by its `ACT` override.
pub fn activation(l: &Lowering, io: &NodeIo, a: Activation) -> Dispatch {
    let variant = Variant {
        kernel: Kernel::Activation,
        overrides: activation_overrides(Some(a)),
    };
    let len = io.out_shape.len();
    let (params, workgroups) = (small(len, 0), grid(len, 64));
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        workgroups,
    )
}

/// lrn.wgsl: local response normalisation across channels.
pub fn lrn(l: &Lowering, io: &NodeIo, lrn: &Lrn) -> Dispatch {
    let o = io.out_shape;
    let params = LrnParams {
        c: o.c as u32,
        hw: (o.h * o.w) as u32,
        size: lrn.size as u32,
        _pad: 0,
        alpha: lrn.alpha,
        beta: lrn.beta,
        k: lrn.k,
        _pad1: 0.0,
    };
    let variant = Variant::plain(Kernel::Lrn);
    let workgroups = grid(o.len(), 64);
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        workgroups,
    )
}

/// add.wgsl: the sum of exactly two inputs.
pub fn add(l: &Lowering, io: &NodeIo) -> Result<Dispatch, GpuError> {
    if io.inputs.len() != 2 {
        return Err(GpuError::Unsupported {
            node: io.name.into(),
            reason: format!(
                "the add kernel sums two inputs, this node has {}",
                io.inputs.len()
            ),
        });
    }
    let len = io.out_shape.len();
    let (params, workgroups) = (small(len, 0), grid(len, 64));
    let variant = Variant::plain(Kernel::Add);
    Ok(l.dispatch(io.name, variant, io.inputs, io.output, &params, workgroups))
}

/// copy.wgsl, once per input: each at its offset along the channels of the output.
pub fn concat(l: &Lowering, io: &NodeIo) -> Vec<Dispatch> {
    let mut offset = 0;
    let mut dispatches = Vec::new();
    for (&buffer, shape) in io.inputs.iter().zip(io.in_shapes) {
        let params = small(shape.len(), offset);
        dispatches.push(l.dispatch(
            io.name,
            Variant::plain(Kernel::Copy),
            &[buffer],
            io.output,
            &params,
            grid(shape.len(), 64),
        ));
        offset += shape.len();
    }
    dispatches
}

/// softmax.wgsl: one workgroup over the whole output.
pub fn softmax(l: &Lowering, io: &NodeIo) -> Dispatch {
    let params = small(io.out_shape.len(), 0);
    let variant = Variant::plain(Kernel::Softmax);
    l.dispatch(
        io.name,
        variant,
        &[io.input()],
        io.output,
        &params,
        [1, 1, 1],
    )
}
