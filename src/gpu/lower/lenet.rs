//! LeNet-5's own layers: the C3 convolution with its connection table, the trainable
//! subsampling, and the RBF output.

use super::builder::{grid, Lowering, NodeIo};
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::params::{PartialConvParams, RbfParams, SubsampleParams};
use crate::model::{PartialConv2d, Rbf, Subsample};

/// conv_partial.wgsl: each output channel sees the input channels of its table row.
pub fn partial_conv(l: &Lowering, io: &NodeIo, p: &PartialConv2d) -> Result<Dispatch, GpuError> {
    let (name, s, o) = (io.name, io.in_shape(), io.out_shape);
    // Per output channel its weights' offset and its row's length, then every row's inputs.
    let mut table: Vec<u32> = Vec::new();
    for (o, row) in p.table.iter().enumerate() {
        table.extend([p.weight_offset(o) as u32, row.len() as u32]);
    }
    table.extend(p.table.iter().flatten().map(|&i| i as u32));
    let table = l.storage(&format!("{name}.table"), bytemuck::cast_slice(&table))?;
    let params = PartialConvParams {
        in_c: s.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_c: o.c as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        k: p.kernel as u32,
        _pad: 0,
    };
    let (w, b) = (l.tensor(name, "weight")?, l.tensor(name, "bias")?);
    let reads = [io.input(), &w, &b, &table];
    let variant = Variant::plain(Kernel::ConvPartial);
    Ok(l.dispatch(name, variant, &reads, io.output, &params, grid(o.len(), 64)))
}

/// subsample.wgsl: each window's sum times a weight plus a bias, per channel.
pub fn subsample(l: &Lowering, io: &NodeIo, sub: &Subsample) -> Result<Dispatch, GpuError> {
    let (name, s, o) = (io.name, io.in_shape(), io.out_shape);
    let params = SubsampleParams {
        c: o.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        window: sub.window as u32,
        _pad: [0; 2],
    };
    let (w, b) = (l.tensor(name, "weight")?, l.tensor(name, "bias")?);
    let reads = [io.input(), &w, &b];
    let variant = Variant::plain(Kernel::Subsample);
    Ok(l.dispatch(name, variant, &reads, io.output, &params, grid(o.len(), 64)))
}

/// rbf.wgsl: each output's squared distance to its weight vector.
pub fn rbf(l: &Lowering, io: &NodeIo, r: &Rbf) -> Result<Dispatch, GpuError> {
    let params = RbfParams {
        in_features: r.in_features as u32,
        outputs: r.outputs as u32,
        _pad: [0; 2],
    };
    let w = l.tensor(io.name, "weight")?;
    let reads = [io.input(), &w];
    let variant = Variant::plain(Kernel::Rbf);
    Ok(l.dispatch(
        io.name,
        variant,
        &reads,
        io.output,
        &params,
        grid(r.outputs, 64),
    ))
}
