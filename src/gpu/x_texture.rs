//! The X texture: where the matrix product, depthwise and dense kernels read their input
//! from (lavapipe fetches texels for 8 invocations at once, where it loads a storage buffer
//! one invocation at a time), copied in from the input's buffer just before the kernel. Its
//! size, and the bytes each kernel that reads it fills.

use crate::model::{Conv2d, Shape};

/// Width in texels of the texture a matrix product reads its input X from
/// (`X_TEXTURE_WIDTH` in shaders/prelude.wgsl, checked by a test): 16 KiB rows, a multiple
/// of the 256 bytes a copy's rows must be.
pub const X_TEXTURE_WIDTH: u32 = 1024;

/// Bytes in one row of the X texture.
pub const X_ROW_BYTES: u64 = X_TEXTURE_WIDTH as u64 * 16;

/// The most bytes the X texture may hold on a device with `limits`.
pub fn x_texture_bytes(limits: &wgpu::Limits) -> u64 {
    X_ROW_BYTES * limits.max_texture_dimension_2d as u64
}

/// Bytes im2col.wgsl writes for a convolution from `s` to `o`: every (input channel, tap)
/// row of the output's pixels, rounded up to a vec4. conv_pointwise.wgsl reads as many from
/// the X texture (for a 1x1 convolution straight on its input, that is the whole input).
pub fn im2col_bytes(c: &Conv2d, s: Shape, o: Shape) -> u64 {
    (s.c * c.kernel.0 * c.kernel.1 * (o.h * o.w).div_ceil(4) * 16) as u64
}

/// Bytes of the X texture depthwise_texture.wgsl fills with input `s`: whole texels.
pub fn depthwise_x_bytes(s: Shape) -> u64 {
    (s.len() as u64 * 4).div_ceil(16) * 16
}

/// Bytes of the X texture dense_texture.wgsl fills with `inputs` values: whole texels.
pub fn dense_x_bytes(inputs: usize) -> u64 {
    inputs.div_ceil(4) as u64 * 16
}
