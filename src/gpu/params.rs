//! Uniform parameter structs shared with WGSL: `#[repr(C)]`, Pod, multiples of 16 bytes,
//! field for field the WGSL struct of the same name, in shaders/prelude.wgsl where several
//! kernels read it and in its kernel's file otherwise (a test compares their sizes).

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

/// occlude.wgsl's `OccludeParams`: the input's shape and the occlusion grid.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct OccludeParams {
    pub c: u32,
    pub h: u32,
    pub w: u32,
    /// The patch's side.
    pub side: u32,
    pub stride: u32,
    pub cols: u32,
    pub _pad: [u32; 2],
}

/// occlusion_reduce.wgsl's `OcclusionReduceParams`: the scores, their rule (the shader's
/// `RULE_*`), the class, and the watched channel's `plane` values from `offset`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct OcclusionReduceParams {
    pub classes: u32,
    pub chosen: u32,
    pub rule: u32,
    pub offset: u32,
    pub plane: u32,
    pub _pad: [u32; 3],
}

// naga, the WGSL front end wgpu builds on, is there on native targets only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::gpu::draw::{DrawParams, RangeParams};
    use crate::gpu::kernels::Kernel;
    use std::mem::size_of;
    use wgpu::naga;

    /// Each WGSL params struct and the size of its Rust twin.
    fn rust_size(wgsl: &str) -> Option<usize> {
        Some(match wgsl {
            "ConvParams" => size_of::<ConvParams>(),
            "PartialConvParams" => size_of::<PartialConvParams>(),
            "SubsampleParams" => size_of::<SubsampleParams>(),
            "PoolParams" => size_of::<PoolParams>(),
            "LrnParams" => size_of::<LrnParams>(),
            "BatchNormParams" => size_of::<BatchNormParams>(),
            "DenseParams" => size_of::<DenseParams>(),
            "RbfParams" => size_of::<RbfParams>(),
            "LengthParams" | "PlaneParams" => size_of::<SmallParams>(),
            "RangeParams" => size_of::<RangeParams>(),
            "DrawParams" => size_of::<DrawParams>(),
            "OccludeParams" => size_of::<OccludeParams>(),
            "OcclusionReduceParams" => size_of::<OcclusionReduceParams>(),
            _ => return None,
        })
    }

    /// Name and size (by WGSL's layout rules, as naga computes them) of the struct of every
    /// uniform binding in `source`.
    fn uniform_structs(what: &str, source: &str) -> Vec<(String, u32)> {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{what}: {}", e.emit_to_string(source)));
        module
            .global_variables
            .iter()
            .filter(|(_, v)| v.space == naga::AddressSpace::Uniform)
            .map(|(_, v)| {
                let ty = &module.types[v.ty];
                let naga::TypeInner::Struct { span, .. } = ty.inner else {
                    panic!("{what}: uniform {:?} is not a struct", v.name);
                };
                (ty.name.clone().unwrap_or_default(), span)
            })
            .collect()
    }

    #[test]
    fn wgsl_params_structs_are_the_size_of_their_rust_twins() {
        let mut sources: Vec<(&str, &str)> =
            Kernel::every().map(|k| (k.name(), k.source())).collect();
        sources.push((
            "featuremap_range",
            include_str!("../../shaders/featuremap_range.wgsl"),
        ));
        sources.push(("featuremap", include_str!("../../shaders/featuremap.wgsl")));
        for (what, source) in sources {
            let structs = uniform_structs(what, source);
            assert_eq!(structs.len(), 1, "{what}: one uniform params binding");
            for (name, wgsl_size) in structs {
                let rust = rust_size(&name)
                    .unwrap_or_else(|| panic!("{what}: no Rust twin listed for {name}"));
                assert_eq!(
                    wgsl_size as usize, rust,
                    "{what}: {name}, WGSL against Rust"
                );
                assert_eq!(rust % 16, 0, "{what}: {name} is not padded to 16 bytes");
            }
        }
    }
}
