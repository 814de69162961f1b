//! What a plan may use: the options a caller picks, what the adapter allows, and the one
//! function that chooses each node's kernel from them. The plan sizes its shared buffers from
//! these choices and hands each one to the node's lowering, which never chooses again.

use super::context::GpuContext;
use super::x_texture::{dense_x_bytes, depthwise_x_bytes, im2col_bytes, x_texture_bytes};
use crate::model::{Conv2d, Dense, Layer, Shape};

/// Which convolution kernels to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvPath {
    /// Register-blocked matrix products (after im2col where the windows need unfolding),
    /// a depthwise kernel, and BatchNorms and activations fused into the convolutions.
    #[default]
    Tiled,
    /// One invocation per output value: the benchmark baseline.
    Naive,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    pub conv: ConvPath,
    /// Largest tensor in one binding, if lower than the adapter's limit (tests use this to
    /// exercise the splitting of big weights).
    pub binding_limit: Option<u64>,
    /// Run every node as its own kernel: no BatchNorm folding or activation fusion. The
    /// naive path never fuses.
    pub separate_nodes: bool,
    /// Do not share weight fetches across subgroups even where the adapter has them
    /// (tests use this to check both matrix-product kernels on one adapter).
    pub no_subgroups: bool,
}

impl PlanOptions {
    /// Whether a convolution's kernel absorbs the BatchNorm and activation after it.
    pub fn fuses(&self) -> bool {
        self.conv == ConvPath::Tiled && !self.separate_nodes
    }
}

/// What the adapter allows the kernels, narrowed by the options.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// Largest tensor one binding may hold: the adapter's limit, or
    /// [`PlanOptions::binding_limit`] where that is lower. Also the most the im2col scratch
    /// buffer may hold.
    pub binding_limit: u64,
    /// The most bytes the X texture may hold (see [`x_texture_bytes`]).
    pub texture_room: u64,
    /// Longest side of a 2-D texture, in texels.
    pub max_texture_side: usize,
    /// The subgroup size to share weight fetches across, if any.
    pub subgroup: Option<u32>,
}

impl Capabilities {
    pub fn new(ctx: &GpuContext, options: &PlanOptions) -> Capabilities {
        let adapter = ctx.max_binding_bytes();
        Capabilities {
            binding_limit: options.binding_limit.map_or(adapter, |l| l.min(adapter)),
            texture_room: x_texture_bytes(&ctx.limits),
            max_texture_side: ctx.limits.max_texture_dimension_2d as usize,
            subgroup: ctx.subgroup.filter(|_| !options.no_subgroups),
        }
    }
}

/// The convolution kernel a layer runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKernel {
    /// conv_naive.wgsl: the baseline, and tiny maps.
    Naive,
    Depthwise,
    /// depthwise_texture.wgsl, on the input copied into the X texture.
    DepthwiseTexture,
    /// conv_pointwise.wgsl straight on the input (1x1, stride 1, unpadded, vec4-aligned
    /// rows), copied into the X texture; weight fetches shared across subgroups of this size
    /// where there are any.
    Pointwise {
        subgroup: Option<u32>,
    },
    /// im2col.wgsl into the scratch buffer, copied into the X texture, then
    /// conv_pointwise.wgsl.
    Im2col {
        subgroup: Option<u32>,
    },
    /// conv_gemm.wgsl: when the unfolded input would not fit one binding or the X texture.
    Gemm,
}

/// The kernel a dense layer runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseKernel {
    /// dense_texture.wgsl: weights in one texture, the input copied into the X texture.
    Texture,
    /// dense.wgsl: weight rows split over as many storage buffers as the binding limit needs.
    Rows,
}

/// A node's layer with the kernel chosen for it, where its kind has more than one.
#[derive(Clone, Copy, Debug)]
pub enum Choice<'n> {
    Conv(&'n Conv2d, ConvKernel),
    Dense(&'n Dense, DenseKernel),
    /// Every other kind, which has one kernel (or none).
    Fixed(&'n Layer),
}

/// The kernel for `layer`, from input `s` to output `o`: the one place kernels are chosen.
pub fn choose<'n>(
    layer: &'n Layer,
    s: Shape,
    o: Shape,
    options: &PlanOptions,
    caps: &Capabilities,
) -> Choice<'n> {
    match layer {
        Layer::Conv2d(c) => Choice::Conv(c, choose_conv_kernel(c, s, o, options, caps)),
        Layer::Dense(d) => Choice::Dense(d, choose_dense_kernel(d, caps)),
        _ => Choice::Fixed(layer),
    }
}

/// The kernel for convolution `c` from `s` to `o`.
pub fn choose_conv_kernel(
    c: &Conv2d,
    s: Shape,
    o: Shape,
    options: &PlanOptions,
    caps: &Capabilities,
) -> ConvKernel {
    // depthwise.wgsl holds at most 64 taps and a span of 32 inputs per row.
    let depthwise = c.groups > 1
        && c.groups == c.in_channels
        && c.kernel.0 * c.kernel.1 <= 64
        && 7 * c.stride.1 + (c.kernel.1 - 1) * c.dilation.1 < 32;
    let pixels = o.h * o.w;
    let direct = c.kernel == (1, 1)
        && c.stride == (1, 1)
        && c.pads(s.h, s.w) == [0; 4]
        && pixels.is_multiple_of(4);
    let unfolded = im2col_bytes(c, s, o);
    let subgroup = caps.subgroup;
    match options.conv {
        ConvPath::Naive => ConvKernel::Naive,
        // Rows of whole texels, or stride 1: with rows of any width and a stride of 2 the
        // texture kernel measured 2x slower than depthwise.wgsl (BENCHMARKS.md).
        _ if depthwise
            && (s.w.is_multiple_of(4) || c.stride.1 == 1)
            && depthwise_x_bytes(s) <= caps.texture_room =>
        {
            ConvKernel::DepthwiseTexture
        }
        _ if depthwise => ConvKernel::Depthwise,
        // A map of a few pixels (LeNet's C5 is 1x1) would leave the blocked kernels' pixel
        // lanes idle; one invocation per output keeps every channel busy there.
        _ if pixels <= 4 => ConvKernel::Naive,
        _ if unfolded > caps.texture_room => ConvKernel::Gemm,
        _ if direct => ConvKernel::Pointwise { subgroup },
        _ if unfolded <= caps.binding_limit => ConvKernel::Im2col { subgroup },
        _ => ConvKernel::Gemm,
    }
}

/// The kernel for dense layer `d`: its weights as one texture where they fit (a row of
/// texels per output, within one binding) and its input fits the X texture.
pub fn choose_dense_kernel(d: &Dense, caps: &Capabilities) -> DenseKernel {
    let in4 = d.in_features.div_ceil(4);
    let max = caps.max_texture_side;
    let weights_fit = in4 <= max
        && d.out_features <= max
        && (in4 * 16 * d.out_features) as u64 <= caps.binding_limit;
    if weights_fit && dense_x_bytes(d.in_features) <= caps.texture_room {
        DenseKernel::Texture
    } else {
        DenseKernel::Rows
    }
}

impl Choice<'_> {
    /// Bytes the chosen kernel, from input `s` to output `o`, copies into the X texture.
    pub fn x_texture_bytes(&self, s: Shape, o: Shape) -> Option<u64> {
        match *self {
            Choice::Conv(c, ConvKernel::Pointwise { .. } | ConvKernel::Im2col { .. }) => {
                Some(im2col_bytes(c, s, o))
            }
            Choice::Conv(_, ConvKernel::DepthwiseTexture) => Some(depthwise_x_bytes(s)),
            Choice::Dense(d, DenseKernel::Texture) => Some(dense_x_bytes(d.in_features)),
            _ => None,
        }
    }

    /// Bytes the chosen kernel unfolds into the im2col scratch buffer.
    pub fn scratch_bytes(&self, s: Shape, o: Shape) -> Option<u64> {
        match *self {
            Choice::Conv(c, ConvKernel::Im2col { .. }) => Some(im2col_bytes(c, s, o)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An adapter with 2 GiB bindings, 16384-texel textures and subgroups of 8.
    const ADAPTER: Capabilities = Capabilities {
        binding_limit: 1 << 31,
        texture_room: 16_384 * 16_384 * 16,
        max_texture_side: 16_384,
        subgroup: Some(8),
    };
    const TILED: PlanOptions = PlanOptions {
        conv: ConvPath::Tiled,
        binding_limit: None,
        separate_nodes: false,
        no_subgroups: false,
    };

    /// The kernel for `c` from `s` to an `out x out` map.
    fn kernel(
        c: &Conv2d,
        s: Shape,
        out: usize,
        options: PlanOptions,
        caps: Capabilities,
    ) -> ConvKernel {
        let o = Shape::new(c.out_channels, out, out);
        choose_conv_kernel(c, s, o, &options, &caps)
    }

    #[test]
    fn each_convolution_shape_gets_its_kernel() {
        let s = Shape::new(32, 56, 56);
        let pointwise = Conv2d::new(32, 64, 1);
        let depthwise = Conv2d::new(32, 32, 3).pad(1).groups(32);
        assert_eq!(
            kernel(&pointwise, s, 56, TILED, ADAPTER),
            ConvKernel::Pointwise { subgroup: Some(8) }
        );
        assert_eq!(
            kernel(&Conv2d::new(32, 64, 3).pad(1), s, 56, TILED, ADAPTER),
            ConvKernel::Im2col { subgroup: Some(8) }
        );
        assert_eq!(
            kernel(&depthwise, s, 56, TILED, ADAPTER),
            ConvKernel::DepthwiseTexture
        );
        // Rows of 55 values are not whole texels: with a stride of 2, depthwise.wgsl.
        let unaligned = Shape::new(32, 55, 55);
        assert_eq!(
            kernel(&depthwise.clone().stride(2), unaligned, 28, TILED, ADAPTER),
            ConvKernel::Depthwise
        );
        // LeNet's C5: a 1x1 map.
        let c5 = Conv2d::new(16, 120, 5);
        assert_eq!(
            kernel(&c5, Shape::new(16, 5, 5), 1, TILED, ADAPTER),
            ConvKernel::Naive
        );
        let naive = PlanOptions {
            conv: ConvPath::Naive,
            ..TILED
        };
        assert_eq!(kernel(&pointwise, s, 56, naive, ADAPTER), ConvKernel::Naive);
    }

    #[test]
    fn convolutions_too_big_to_unfold_fall_back_to_the_implicit_gemm() {
        let conv = Conv2d::new(32, 64, 3).pad(1);
        let s = Shape::new(32, 56, 56);
        let small_binding = Capabilities {
            binding_limit: 1 << 20,
            ..ADAPTER
        };
        assert_eq!(kernel(&conv, s, 56, TILED, small_binding), ConvKernel::Gemm);
        let small_texture = Capabilities {
            texture_room: 1 << 20,
            ..ADAPTER
        };
        assert_eq!(kernel(&conv, s, 56, TILED, small_texture), ConvKernel::Gemm);
        let no_subgroups = Capabilities {
            subgroup: None,
            ..ADAPTER
        };
        assert_eq!(
            kernel(&conv, s, 56, TILED, no_subgroups),
            ConvKernel::Im2col { subgroup: None }
        );
    }

    #[test]
    fn dense_weights_go_to_a_texture_only_where_they_fit_one() {
        assert_eq!(
            choose_dense_kernel(&Dense::new(1280, 1000), &ADAPTER),
            DenseKernel::Texture
        );
        // VGG's fc6: 25088 inputs are 6272 texels a row, within 16384, but 411 MB of weights
        // over a 256 MiB binding.
        let small_binding = Capabilities {
            binding_limit: 1 << 28,
            ..ADAPTER
        };
        assert_eq!(
            choose_dense_kernel(&Dense::new(25_088, 4096), &small_binding),
            DenseKernel::Rows
        );
    }
}
