//! Depthwise convolutions: depthwise.wgsl on the input's storage buffer, and
//! depthwise_texture.wgsl on the input copied into the X texture. Both take the taps of each
//! channel as a row of texels, and run one invocation per 8 outputs of a row.

use super::builder::{grid, Lowering, NodeIo};
use super::conv_weights::ConvSetup;
use crate::gpu::dispatch::{Dispatch, TextureCopy};
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::x_texture::depthwise_x_bytes;
use crate::model::{Conv2d, Shape};

/// depthwise.wgsl.
pub fn depthwise(l: &Lowering, io: &NodeIo, conv: &ConvSetup) -> Result<Vec<Dispatch>, GpuError> {
    let (w, b) = taps_and_bias(l, io, conv)?;
    let mut overrides = shape_overrides(conv);
    overrides.push(("SW", conv.c.stride.1 as u32));
    let variant = Variant {
        kernel: Kernel::Depthwise,
        overrides,
    };
    let reads = vec![
        io.input().as_entire_binding(),
        wgpu::BindingResource::TextureView(&w),
        b.as_entire_binding(),
    ];
    let workgroups = workgroups(io);
    let d = l.dispatch_with(io.name, variant, reads, io.output, &conv.params, workgroups);
    Ok(vec![d])
}

/// depthwise_texture.wgsl.
pub fn depthwise_texture(
    l: &Lowering,
    io: &NodeIo,
    conv: &ConvSetup,
) -> Result<Vec<Dispatch>, GpuError> {
    let (c, s) = (conv.c, io.in_shape());
    let (w, b) = taps_and_bias(l, io, conv)?;
    let aligned = s.w.is_multiple_of(4);
    let shift = if aligned { depthwise_shift(c, s) } else { 3 };
    let mut overrides = shape_overrides(conv);
    overrides.insert(0, ("ALIGNED", aligned as u32));
    overrides.push(("SHIFT", shift as u32));
    overrides.push(("SW", c.stride.1 as u32));
    let variant = Variant {
        kernel: Kernel::DepthwiseTexture,
        overrides,
    };
    let (texture, view) = l.x_texture();
    let reads = vec![
        wgpu::BindingResource::TextureView(view),
        wgpu::BindingResource::TextureView(&w),
        b.as_entire_binding(),
    ];
    let workgroups = workgroups(io);
    let mut d = l.dispatch_with(io.name, variant, reads, io.output, &conv.params, workgroups);
    d.copy_before = Some(TextureCopy {
        buffer: io.input().clone(),
        texture: texture.clone(),
        bytes: depthwise_x_bytes(s),
    });
    Ok(vec![d])
}

/// The taps of each output channel as a row of texels (zero-padded), and the bias buffer.
fn taps_and_bias(
    l: &Lowering,
    io: &NodeIo,
    conv: &ConvSetup,
) -> Result<(wgpu::TextureView, wgpu::Buffer), GpuError> {
    let (c, out_c) = (conv.c, io.out_shape.c);
    let taps = c.kernel.0 * c.kernel.1;
    let texels = taps.div_ceil(4);
    let mut t = vec![0.0f32; out_c * texels * 4];
    for oc in 0..out_c {
        t[oc * texels * 4..oc * texels * 4 + taps]
            .copy_from_slice(&conv.weight[oc * taps..(oc + 1) * taps]);
    }
    let w = l.texture(&format!("{}.weight (taps)", io.name), &t, texels, out_c);
    let b = l.bias(io.name, conv.bias.as_deref())?;
    Ok((w, b))
}

/// The overrides both depthwise kernels take, sorted by name.
fn shape_overrides(conv: &ConvSetup) -> Vec<(&'static str, u32)> {
    let c = conv.c;
    let shape = [
        ("DW", c.dilation.1 as u32),
        ("KH", c.kernel.0 as u32),
        ("KW", c.kernel.1 as u32),
    ];
    [&conv.act[..], &shape].concat()
}

/// One invocation per 8 outputs of a row.
fn workgroups(io: &NodeIo) -> [u32; 3] {
    let o = io.out_shape;
    grid(o.c * o.h * o.w.div_ceil(8), 64)
}

/// How far into its first texel each depthwise_texture.wgsl span starts when input rows are
/// whole texels: from the left padding to the texel boundary before it.
fn depthwise_shift(c: &Conv2d, s: Shape) -> usize {
    let pad_l = c.pads(s.h, s.w)[2];
    (4 - pad_l % 4) % 4
}
