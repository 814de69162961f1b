//! The kernel table: every WGSL kernel family, its source embedded at build time behind the
//! shared prelude, and the shape of its bind group (read-only inputs, then the output, then
//! the uniform params); and the activation numbering the shaders share with Rust.

use super::kernels_backward::BackwardKernel;
use crate::model::Activation;

/// The `ACT` override of every kernel that applies an activation, numbered as the `ACT_*`
/// constants of shaders/prelude.wgsl: `None` is `ACT_NONE`.
pub fn activation_code(activation: Option<Activation>) -> u32 {
    match activation {
        None => 0,
        Some(Activation::Relu) => 1,
        Some(Activation::Relu6) => 2,
        Some(Activation::Sigmoid) => 3,
        Some(Activation::Tanh) => 4,
        Some(Activation::ScaledTanh) => 5,
        Some(Activation::LeakyRelu { .. }) => 6,
    }
}

/// The overrides that pick a kernel's activation: `ACT`, and for leaky ReLU `ACT_ALPHA`, its
/// alpha as the bits of an f32 (the prelude bitcasts it back). Sorted by name.
pub fn activation_overrides(activation: Option<Activation>) -> Vec<(&'static str, u32)> {
    let mut overrides = vec![("ACT", activation_code(activation))];
    if let Some(Activation::LeakyRelu { alpha }) = activation {
        overrides.push(("ACT_ALPHA", alpha.to_bits()));
    }
    overrides
}

/// One compute kernel family; one shader file each (two for some), behind the prelude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    ConvNaive,
    ConvGemm,
    ConvPointwise,
    /// conv_pointwise.wgsl sharing weight fetches across a subgroup (adapters with
    /// subgroups of a fixed size).
    ConvPointwiseSubgroup,
    Im2col,
    Depthwise,
    /// depthwise.wgsl reading the X texture (input rows of a multiple of 4 values).
    DepthwiseTexture,
    ConvPartial,
    Subsample,
    Pool,
    AdaptivePool,
    Lrn,
    BatchNorm,
    Activation,
    Dense,
    /// dense.wgsl reading the X texture and weights from a texture, one invocation a row.
    DenseTexture,
    Rbf,
    Copy,
    Add,
    GlobalAvgPool,
    Softmax,
    /// Occlusion: the input with the patch at the running position set to 0.
    Occlude,
    /// Occlusion: one position's class probability, top class and channel total appended.
    OcclusionReduce,
    /// A backward kernel (`shaders/backward_*.wgsl`).
    Backward(BackwardKernel),
}

impl Kernel {
    /// The shader source: shaders/prelude.wgsl, then the kernel's files.
    pub fn source(self) -> &'static str {
        match self {
            Kernel::ConvNaive => joined!("conv_naive.wgsl"),
            Kernel::ConvGemm => joined!("conv_gemm.wgsl"),
            // The body needs one of two heads: the entry point and how weights are fetched.
            Kernel::ConvPointwise => joined!("pointwise_texture.wgsl", "conv_pointwise.wgsl"),
            Kernel::ConvPointwiseSubgroup => {
                joined!("pointwise_subgroup.wgsl", "conv_pointwise.wgsl")
            }
            Kernel::Im2col => joined!("im2col.wgsl"),
            // Both bodies end the same way: bias, activation, stores.
            Kernel::Depthwise => joined!("depthwise.wgsl", "depthwise_epilogue.wgsl"),
            Kernel::DepthwiseTexture => {
                joined!("depthwise_texture.wgsl", "depthwise_epilogue.wgsl")
            }
            Kernel::ConvPartial => joined!("conv_partial.wgsl"),
            Kernel::Subsample => joined!("subsample.wgsl"),
            Kernel::Pool => joined!("pool.wgsl"),
            Kernel::AdaptivePool => joined!("adaptive_pool.wgsl"),
            Kernel::Lrn => joined!("lrn.wgsl"),
            Kernel::BatchNorm => joined!("batchnorm.wgsl"),
            Kernel::Activation => joined!("activation.wgsl"),
            Kernel::Dense => joined!("dense.wgsl"),
            Kernel::DenseTexture => joined!("dense_texture.wgsl"),
            Kernel::Rbf => joined!("rbf.wgsl"),
            Kernel::Copy => joined!("copy.wgsl"),
            Kernel::Add => joined!("add.wgsl"),
            Kernel::GlobalAvgPool => joined!("global_avg_pool.wgsl"),
            Kernel::Softmax => joined!("softmax.wgsl"),
            Kernel::Occlude => joined!("occlude.wgsl"),
            Kernel::OcclusionReduce => joined!("occlusion_reduce.wgsl"),
            Kernel::Backward(b) => b.source(),
        }
    }

    /// Number of read-only storage bindings before the output binding.
    pub fn reads(self) -> u32 {
        match self {
            Kernel::ConvNaive
            | Kernel::ConvGemm
            | Kernel::ConvPointwise
            | Kernel::ConvPointwiseSubgroup
            | Kernel::Depthwise
            | Kernel::DepthwiseTexture
            | Kernel::Subsample
            | Kernel::Dense
            | Kernel::DenseTexture => 3,
            Kernel::ConvPartial => 4,
            Kernel::BatchNorm => 5,
            Kernel::Rbf | Kernel::Add | Kernel::Occlude | Kernel::OcclusionReduce => 2,
            Kernel::Im2col
            | Kernel::Pool
            | Kernel::AdaptivePool
            | Kernel::Lrn
            | Kernel::Activation
            | Kernel::Copy
            | Kernel::GlobalAvgPool
            | Kernel::Softmax => 1,
            Kernel::Backward(b) => b.reads(),
        }
    }

    /// Whether read binding `binding` is a texture (`texture_2d<f32>`, rgba32float, read
    /// with `textureLoad`) rather than a storage buffer. Software adapters fetch texels for
    /// all invocations at once, where they load a storage buffer one invocation at a time.
    pub fn texture_read(self, binding: u32) -> bool {
        matches!(
            (self, binding),
            (
                Kernel::ConvPointwise
                    | Kernel::ConvPointwiseSubgroup
                    | Kernel::DepthwiseTexture
                    | Kernel::DenseTexture,
                0 | 1
            ) | (Kernel::Depthwise, 1)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::ConvNaive => "conv_naive",
            Kernel::ConvGemm => "conv_gemm",
            Kernel::ConvPointwise => "conv_pointwise",
            Kernel::ConvPointwiseSubgroup => "conv_pointwise_subgroup",
            Kernel::Im2col => "im2col",
            Kernel::Depthwise => "depthwise",
            Kernel::DepthwiseTexture => "depthwise_texture",
            Kernel::ConvPartial => "conv_partial",
            Kernel::Subsample => "subsample",
            Kernel::Pool => "pool",
            Kernel::AdaptivePool => "adaptive_pool",
            Kernel::Lrn => "lrn",
            Kernel::BatchNorm => "batchnorm",
            Kernel::Activation => "activation",
            Kernel::Dense => "dense",
            Kernel::DenseTexture => "dense_texture",
            Kernel::Rbf => "rbf",
            Kernel::Copy => "copy",
            Kernel::Add => "add",
            Kernel::GlobalAvgPool => "global_avg_pool",
            Kernel::Softmax => "softmax",
            Kernel::Occlude => "occlude",
            Kernel::OcclusionReduce => "occlusion_reduce",
            Kernel::Backward(b) => b.name(),
        }
    }

    /// Every forward kernel, then every backward one.
    pub fn every() -> impl Iterator<Item = Kernel> {
        (Kernel::ALL.into_iter()).chain(BackwardKernel::ALL.map(Kernel::Backward))
    }

    /// The forward kernels.
    pub const ALL: [Kernel; 23] = [
        Kernel::ConvNaive,
        Kernel::ConvGemm,
        Kernel::ConvPointwise,
        Kernel::ConvPointwiseSubgroup,
        Kernel::Im2col,
        Kernel::Depthwise,
        Kernel::DepthwiseTexture,
        Kernel::ConvPartial,
        Kernel::Subsample,
        Kernel::Pool,
        Kernel::AdaptivePool,
        Kernel::Lrn,
        Kernel::BatchNorm,
        Kernel::Activation,
        Kernel::Dense,
        Kernel::DenseTexture,
        Kernel::Rbf,
        Kernel::Copy,
        Kernel::Add,
        Kernel::GlobalAvgPool,
        Kernel::Softmax,
        Kernel::Occlude,
        Kernel::OcclusionReduce,
    ];
}

/// A pipeline variant: a kernel with its override constants (name, value), sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant {
    pub kernel: Kernel,
    pub overrides: Vec<(&'static str, u32)>,
}

impl Variant {
    pub fn plain(kernel: Kernel) -> Self {
        Variant {
            kernel,
            overrides: Vec::new(),
        }
    }
    pub fn with(kernel: Kernel, name: &'static str, value: u32) -> Self {
        Variant {
            kernel,
            overrides: vec![(name, value)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::x_texture::X_TEXTURE_WIDTH;

    /// Compiles only while `Kernel::ALL` lists every variant: a match over its entries,
    /// named as constants, must be exhaustive.
    #[allow(dead_code)]
    fn all_is_exhaustive(k: Kernel) {
        macro_rules! entries {
            ($($name:ident = $i:literal),+) => {{
                $(const $name: Kernel = Kernel::ALL[$i];)+
                match k {
                    $($name)|+ => {}
                    Kernel::Backward(_) => {}
                }
            }};
        }
        entries!(
            K0 = 0,
            K1 = 1,
            K2 = 2,
            K3 = 3,
            K4 = 4,
            K5 = 5,
            K6 = 6,
            K7 = 7,
            K8 = 8,
            K9 = 9,
            K10 = 10,
            K11 = 11,
            K12 = 12,
            K13 = 13,
            K14 = 14,
            K15 = 15,
            K16 = 16,
            K17 = 17,
            K18 = 18,
            K19 = 19,
            K20 = 20,
            K21 = 21,
            K22 = 22
        );
    }

    #[test]
    fn all_lists_every_kernel_once() {
        // Exhaustiveness is checked when compiling `all_is_exhaustive`; here, no repeats
        // (a repeat would leave room for a missing variant) and no two with one name.
        let mut names: Vec<&str> = Kernel::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Kernel::ALL.len());
    }

    /// `const NAME: u32 = VALUEu;` lines of shaders/prelude.wgsl.
    fn prelude_constants() -> Vec<(String, u32)> {
        include_str!("../../shaders/prelude.wgsl")
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("const ")?;
                let (name, value) = rest.split_once(": u32 = ")?;
                let value = value.strip_suffix("u;")?.parse().ok()?;
                Some((name.to_string(), value))
            })
            .collect()
    }

    #[test]
    fn activation_codes_are_the_prelude_constants() {
        // The WGSL name of each activation; a new one does not compile until it is named.
        let wgsl_name = |a: Option<Activation>| match a {
            None => "ACT_NONE",
            Some(Activation::Relu) => "ACT_RELU",
            Some(Activation::Relu6) => "ACT_RELU6",
            Some(Activation::Sigmoid) => "ACT_SIGMOID",
            Some(Activation::Tanh) => "ACT_TANH",
            Some(Activation::ScaledTanh) => "ACT_SCALED_TANH",
            Some(Activation::LeakyRelu { .. }) => "ACT_LEAKY_RELU",
        };
        let all = [
            None,
            Some(Activation::Relu),
            Some(Activation::Relu6),
            Some(Activation::Sigmoid),
            Some(Activation::Tanh),
            Some(Activation::ScaledTanh),
            Some(Activation::LeakyRelu { alpha: 0.01 }),
        ];
        let constants = prelude_constants();
        let act: Vec<&(String, u32)> = constants
            .iter()
            .filter(|(name, _)| name.starts_with("ACT_"))
            .collect();
        assert_eq!(
            act.len(),
            all.len(),
            "ACT_* constants in the prelude: {act:?}"
        );
        for a in all {
            let name = wgsl_name(a);
            let wgsl = act.iter().find(|(n, _)| n == name);
            assert_eq!(
                wgsl.map(|(_, v)| *v),
                Some(activation_code(a)),
                "{name} in shaders/prelude.wgsl against activation_code({a:?})"
            );
        }
    }

    #[test]
    fn x_texture_width_is_the_prelude_constant() {
        let constants = prelude_constants();
        let width = constants.iter().find(|(n, _)| n == "X_TEXTURE_WIDTH");
        assert_eq!(width.map(|(_, v)| *v), Some(X_TEXTURE_WIDTH));
    }
}
