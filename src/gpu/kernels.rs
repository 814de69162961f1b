//! The kernel table: every WGSL kernel family, its source embedded at build time, and the
//! shape of its bind group (read-only inputs, then the output, then the uniform params).

/// One compute kernel family; one shader file each.
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
}

impl Kernel {
    /// The shader source.
    pub fn source(self) -> &'static str {
        match self {
            Kernel::ConvNaive => include_str!("../../shaders/conv_naive.wgsl"),
            Kernel::ConvGemm => include_str!("../../shaders/conv_gemm.wgsl"),
            // The body needs one of two heads: the entry point and how weights are fetched.
            Kernel::ConvPointwise => concat!(
                include_str!("../../shaders/pointwise_texture.wgsl"),
                include_str!("../../shaders/conv_pointwise.wgsl")
            ),
            Kernel::ConvPointwiseSubgroup => concat!(
                include_str!("../../shaders/pointwise_subgroup.wgsl"),
                include_str!("../../shaders/conv_pointwise.wgsl")
            ),
            Kernel::Im2col => include_str!("../../shaders/im2col.wgsl"),
            Kernel::Depthwise => include_str!("../../shaders/depthwise.wgsl"),
            Kernel::DepthwiseTexture => include_str!("../../shaders/depthwise_texture.wgsl"),
            Kernel::ConvPartial => include_str!("../../shaders/conv_partial.wgsl"),
            Kernel::Subsample => include_str!("../../shaders/subsample.wgsl"),
            Kernel::Pool => include_str!("../../shaders/pool.wgsl"),
            Kernel::AdaptivePool => include_str!("../../shaders/adaptive_pool.wgsl"),
            Kernel::Lrn => include_str!("../../shaders/lrn.wgsl"),
            Kernel::BatchNorm => include_str!("../../shaders/batchnorm.wgsl"),
            Kernel::Activation => include_str!("../../shaders/activation.wgsl"),
            Kernel::Dense => include_str!("../../shaders/dense.wgsl"),
            Kernel::DenseTexture => include_str!("../../shaders/dense_texture.wgsl"),
            Kernel::Rbf => include_str!("../../shaders/rbf.wgsl"),
            Kernel::Copy => include_str!("../../shaders/copy.wgsl"),
            Kernel::Add => include_str!("../../shaders/add.wgsl"),
            Kernel::GlobalAvgPool => include_str!("../../shaders/global_avg_pool.wgsl"),
            Kernel::Softmax => include_str!("../../shaders/softmax.wgsl"),
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
            Kernel::Rbf | Kernel::Add => 2,
            Kernel::Im2col
            | Kernel::Pool
            | Kernel::AdaptivePool
            | Kernel::Lrn
            | Kernel::Activation
            | Kernel::Copy
            | Kernel::GlobalAvgPool
            | Kernel::Softmax => 1,
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
        }
    }

    pub const ALL: [Kernel; 21] = [
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
