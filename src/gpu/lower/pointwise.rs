//! Convolutions as matrix products: conv_pointwise.wgsl on X from the X texture, which holds
//! either the input itself (1x1, stride 1, unpadded) or the windows im2col.wgsl unfolded into
//! the scratch buffer.

use super::builder::{grid, Lowering, NodeIo};
use super::conv_weights::ConvSetup;
use crate::gpu::dispatch::{Dispatch, TextureCopy};
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{Kernel, Variant};
use crate::gpu::x_texture::im2col_bytes;

/// conv_pointwise.wgsl straight on the input.
pub fn pointwise(
    l: &Lowering,
    io: &NodeIo,
    conv: &ConvSetup,
    subgroup: Option<u32>,
) -> Result<Vec<Dispatch>, GpuError> {
    Ok(vec![product(l, io, conv, subgroup, io.input())?])
}

/// im2col.wgsl into the scratch buffer, then conv_pointwise.wgsl on it.
pub fn im2col(
    l: &Lowering,
    io: &NodeIo,
    conv: &ConvSetup,
    subgroup: Option<u32>,
) -> Result<Vec<Dispatch>, GpuError> {
    let (c, s, o) = (conv.c, io.in_shape(), io.out_shape);
    let scratch = l.scratch();
    let threads = s.c * c.kernel.0 * c.kernel.1 * (o.h * o.w).div_ceil(4);
    let unfold = l.dispatch(
        &format!("{} (im2col)", io.name),
        Variant::plain(Kernel::Im2col),
        &[io.input()],
        scratch,
        &conv.params,
        grid(threads, 64),
    );
    Ok(vec![unfold, product(l, io, conv, subgroup, scratch)?])
}

/// conv_pointwise.wgsl on `x` copied into the X texture: 16 channels x 4 pixels per
/// invocation, weight rows fetched ROUND at a time (shared across a subgroup where there are
/// any).
fn product(
    l: &Lowering,
    io: &NodeIo,
    conv: &ConvSetup,
    subgroup: Option<u32>,
    x: &wgpu::Buffer,
) -> Result<Dispatch, GpuError> {
    let (c, name) = (conv.c, io.name);
    let (kernel, round) = match subgroup {
        Some(size) => (Kernel::ConvPointwiseSubgroup, size / 4),
        None => (Kernel::ConvPointwise, 1),
    };
    let (t, b, m_pad) = conv.blocked();
    // Each group's rows of weights padded with zeros to a whole number of rounds.
    let k = t.len() / m_pad / c.groups;
    let k_pad = k.div_ceil(round as usize) * round as usize;
    let mut padded = vec![0.0f32; c.groups * k_pad * m_pad];
    for g in 0..c.groups {
        padded[g * k_pad * m_pad..(g * k_pad + k) * m_pad]
            .copy_from_slice(&t[g * k * m_pad..(g + 1) * k * m_pad]);
    }
    let w = l.texture(
        &format!("{name}.weight (blocked)"),
        &padded,
        m_pad / 4,
        c.groups * k_pad,
    );
    let b = l.storage(&format!("{name}.bias (blocked)"), bytemuck::cast_slice(&b))?;
    let invocations = (io.out_shape.h * io.out_shape.w).div_ceil(4);
    let wg = invocations
        .next_power_of_two()
        .clamp(8, 64)
        .max(round as usize * 4);
    let variant = Variant {
        kernel,
        overrides: [&conv.act[..], &[("ROUND", round), ("WG", wg as u32)]].concat(),
    };
    let tiles = [
        invocations.div_ceil(wg) as u32,
        (m_pad / 16) as u32,
        c.groups as u32,
    ];
    let (x_texture, x_view) = l.x_texture();
    let reads = vec![
        wgpu::BindingResource::TextureView(x_view),
        wgpu::BindingResource::TextureView(&w),
        b.as_entire_binding(),
    ];
    let mut d = l.dispatch_with(name, variant, reads, io.output, &conv.params, tiles);
    d.copy_before = Some(TextureCopy {
        buffer: x.clone(),
        texture: x_texture.clone(),
        bytes: im2col_bytes(c, io.in_shape(), io.out_shape),
    });
    Ok(d)
}
