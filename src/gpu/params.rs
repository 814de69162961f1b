//! Uniform parameter structs shared with WGSL: `#[repr(C)]`, Pod, multiples of 16 bytes,
//! field for field the WGSL struct of the same name, in shaders/prelude.wgsl where several
//! kernels read it and in its kernel's file otherwise.

use bytemuck::{Pod, Zeroable};

/// `conv_naive.wgsl`, `conv_gemm.wgsl`, `conv_pointwise.wgsl`, `im2col.wgsl`, `depthwise.wgsl`,
/// `depthwise_texture.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ConvParams {
    pub in_c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_c: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub dh: u32,
    pub dw: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    pub groups: u32,
    pub has_bias: u32,
}

/// `conv_partial.wgsl` (LeNet's C3).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct PartialConvParams {
    pub in_c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_c: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub k: u32,
    pub _pad: u32,
}

/// `subsample.wgsl`; also `adaptive_pool.wgsl` (same first five words, `window` unused).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SubsampleParams {
    pub c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub window: u32,
    pub _pad: [u32; 2],
}

/// `pool.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct PoolParams {
    pub c: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    pub pad_b: u32,
    pub pad_r: u32,
    pub count_include_pad: u32,
    pub _pad: [u32; 2],
}

/// `lrn.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct LrnParams {
    pub c: u32,
    pub hw: u32,
    pub size: u32,
    pub _pad: u32,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
    pub _pad1: f32,
}

/// `batchnorm.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BatchNormParams {
    pub c: u32,
    pub hw: u32,
    pub eps: f32,
    pub _pad: u32,
}

/// `dense.wgsl`, `dense_texture.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct DenseParams {
    pub in_features: u32,
    pub rows: u32,
    pub row_offset: u32,
    pub has_bias: u32,
}

/// `rbf.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct RbfParams {
    pub in_features: u32,
    pub outputs: u32,
    pub _pad: [u32; 2],
}

/// Four words, named by use in WGSL: `LengthParams` (len, offset) of `activation.wgsl`,
/// `add.wgsl`, `softmax.wgsl`, `copy.wgsl`; `PlaneParams` (c, hw) of `global_avg_pool.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SmallParams {
    pub a: u32,
    pub b: u32,
    pub _pad: [u32; 2],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn params_are_padded_to_16_bytes_and_match_wgsl_sizes() {
        // Sizes of the WGSL structs: 16 words, 8 words or 4 words.
        assert_eq!(size_of::<ConvParams>(), 64);
        assert_eq!(size_of::<PartialConvParams>(), 32);
        assert_eq!(size_of::<SubsampleParams>(), 32);
        assert_eq!(size_of::<PoolParams>(), 64);
        assert_eq!(size_of::<LrnParams>(), 32);
        assert_eq!(size_of::<BatchNormParams>(), 16);
        assert_eq!(size_of::<DenseParams>(), 16);
        assert_eq!(size_of::<RbfParams>(), 16);
        assert_eq!(size_of::<SmallParams>(), 16);
    }
}
