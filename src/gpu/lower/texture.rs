//! The X texture: where the matrix product, depthwise and dense kernels read their input
//! from (lavapipe fetches texels for 8 invocations at once, where it loads a storage buffer
//! one invocation at a time), copied in from the input's buffer just before the kernel.

use super::*;

/// Width in texels of the texture a matrix product reads its input X from
/// (`X_TEXTURE_WIDTH` in shaders/prelude.wgsl, checked by a test): 16 KiB rows, a multiple
/// of the 256 bytes a copy's rows must be.
pub const X_TEXTURE_WIDTH: u32 = 1024;

/// Bytes in one row of the X texture.
pub const X_ROW_BYTES: u64 = X_TEXTURE_WIDTH as u64 * 16;

/// The first `bytes` bytes of `buffer`, copied into `texture` as texels in rows of
/// X_TEXTURE_WIDTH.
pub struct TextureCopy {
    pub buffer: wgpu::Buffer,
    pub texture: wgpu::Texture,
    /// A multiple of 16.
    pub bytes: u64,
}

impl TextureCopy {
    /// Encode the copy: the whole rows, then what is left as part of one more row.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        let texels = (self.bytes / 16) as u32;
        let (rows, rest) = (texels / X_TEXTURE_WIDTH, texels % X_TEXTURE_WIDTH);
        let mut copy = |row: u32, width: u32, height: u32| {
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: &self.buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: row as u64 * X_ROW_BYTES,
                        bytes_per_row: Some(X_ROW_BYTES as u32),
                        rows_per_image: None,
                    },
                },
                wgpu::TexelCopyTextureInfo {
                    texture: &self.texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d { x: 0, y: row, z: 0 },
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
            );
        };
        if rows > 0 {
            copy(0, X_TEXTURE_WIDTH, rows);
        }
        if rest > 0 {
            copy(rows, rest, 1);
        }
    }
}

/// Bytes of the X texture convolution `c` from `s` to `o` fills when it runs on `kernel`.
pub fn x_texture_use(kernel: ConvKernel, c: &Conv2d, s: Shape, o: Shape) -> Option<u64> {
    match kernel {
        ConvKernel::Pointwise | ConvKernel::Im2col => Some(im2col_bytes(c, s, o)),
        ConvKernel::DepthwiseTexture => Some(depthwise_x_bytes(s)),
        _ => None,
    }
}

/// Bytes of the X texture a dense layer from `inputs` to `outputs` fills, if its weights
/// fit one texture (and the binding limit, above which they are split over buffers).
pub fn dense_x_bytes(
    inputs: usize,
    outputs: usize,
    limits: &wgpu::Limits,
    limit: u64,
) -> Option<u64> {
    let max = limits.max_texture_dimension_2d as usize;
    let in4 = inputs.div_ceil(4);
    let fits = in4 <= max && outputs <= max && (in4 * 16 * outputs) as u64 <= limit;
    fits.then_some(in4 as u64 * 16)
}

/// Bytes of the X texture `node`, from `s` to `o`, fills on `path` (given the binding
/// `limit`, which also bounds the im2col scratch buffer), if it reads the X texture.
pub fn x_texture_need(
    path: ConvPath,
    node: &Node,
    s: Shape,
    o: Shape,
    limit: u64,
    limits: &wgpu::Limits,
) -> Option<u64> {
    let room = x_texture_bytes(limits);
    match &node.layer {
        Layer::Conv2d(c) => x_texture_use(conv_kernel(path, c, s, o, limit, room), c, s, o),
        Layer::Dense(d) => {
            dense_x_bytes(d.in_features, d.out_features, limits, limit).filter(|&b| b <= room)
        }
        _ => None,
    }
}

/// Bytes of the X texture depthwise_texture.wgsl fills with input `s`: whole texels.
pub fn depthwise_x_bytes(s: Shape) -> u64 {
    (s.len() as u64 * 4).div_ceil(16) * 16
}

/// How far into its first texel each depthwise_texture.wgsl span starts when input rows are
/// whole texels: from the left padding to the texel boundary before it.
pub fn depthwise_shift(c: &Conv2d, s: Shape) -> usize {
    let pad_l = c.pads(s.h, s.w)[2];
    (4 - pad_l % 4) % 4
}

/// The most bytes the X texture may hold on a device with `limits`.
pub fn x_texture_bytes(limits: &wgpu::Limits) -> u64 {
    X_ROW_BYTES * limits.max_texture_dimension_2d as u64
}
