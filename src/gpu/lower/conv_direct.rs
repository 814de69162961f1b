//! Convolutions straight on the input's storage buffer: conv_naive.wgsl (the baseline, and
//! tiny maps) and conv_gemm.wgsl (blocked implicit GEMM, where the unfolded input would not
//! fit one binding or the X texture).

use super::builder::{grid, Lowering, NodeIo};
use super::conv_weights::ConvSetup;
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};

/// conv_naive.wgsl: one invocation per output value.
pub fn naive(l: &Lowering, io: &NodeIo, conv: &ConvSetup) -> Result<Vec<Dispatch>, GpuError> {
    let name = io.name;
    let w = l.storage(
        &format!("{name}.weight"),
        bytemuck::cast_slice(&conv.weight),
    )?;
    let b = l.bias(name, conv.bias.as_deref())?;
    let variant = Variant {
        kernel: Kernel::ConvNaive,
        overrides: conv.act.clone(),
    };
    let reads = [io.input(), &w, &b];
    let workgroups = grid(io.out_shape.len(), 64);
    Ok(vec![l.dispatch(
        name,
        variant,
        &reads,
        io.output,
        &conv.params,
        workgroups,
    )])
}

/// conv_gemm.wgsl: 8 channels x 8 pixels per invocation.
pub fn gemm(l: &Lowering, io: &NodeIo, conv: &ConvSetup) -> Result<Vec<Dispatch>, GpuError> {
    let name = io.name;
    let (t, b, m_pad) = conv.blocked();
    let w = l.storage(
        &format!("{name}.weight (blocked)"),
        bytemuck::cast_slice(&t),
    )?;
    let b = l.storage(&format!("{name}.bias (blocked)"), bytemuck::cast_slice(&b))?;
    let invocations = (io.out_shape.h * io.out_shape.w).div_ceil(8);
    let wg = invocations.next_power_of_two().clamp(8, 64);
    let variant = Variant {
        kernel: Kernel::ConvGemm,
        overrides: [&conv.act[..], &[("CH4", 2), ("PX", 8), ("WG", wg as u32)]].concat(),
    };
    let tiles = [
        invocations.div_ceil(wg) as u32,
        (m_pad / 8) as u32,
        conv.c.groups as u32,
    ];
    let reads = [io.input(), &w, &b];
    Ok(vec![l.dispatch(
        name,
        variant,
        &reads,
        io.output,
        &conv.params,
        tiles,
    )])
}
