//! Lowering: each node of the graph becomes a few dispatches, with its weights uploaded,
//! its params written and its bind groups made here, once, at plan time.

use super::kernels::{activation_code, Kernel, Variant};
use super::params::*;
use super::plan::ConvPath;
use super::{GpuContext, GpuError};
use crate::model::{Activation, BatchNorm, Conv2d, Layer, Node, Pool2d, Shape};
use crate::weights::Weights;
use bytemuck::Pod;
use wgpu::util::DeviceExt;

mod conv;
mod dense;
mod texture;

pub use texture::{
    dense_x_bytes, depthwise_shift, depthwise_x_bytes, x_texture_bytes, x_texture_need,
    TextureCopy, X_ROW_BYTES, X_TEXTURE_WIDTH,
};

/// One recorded dispatch: everything bound, ready to encode.
pub struct Dispatch {
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub workgroups: [u32; 3],
    /// A copy into a texture the dispatch reads, made just before it (outside any pass).
    pub copy_before: Option<TextureCopy>,
}

/// Workgroups covering `threads` invocations of `size`, folded into 2-D past 65,535.
fn grid(threads: usize, size: usize) -> [u32; 3] {
    let groups = threads.div_ceil(size).max(1);
    let x = groups.min(65_535);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

/// What a convolution applies to its sums before storing them: a BatchNorm folded into its
/// weights and bias, then an activation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'n> {
    /// The folded BatchNorm: its node's name (for its tensors) and its config.
    pub batchnorm: Option<(&'n str, &'n BatchNorm)>,
    pub activation: Option<Activation>,
}

/// Builds the dispatches of one node.
pub struct Lowering<'a> {
    pub ctx: &'a GpuContext,
    pub weights: &'a Weights,
    pub conv: ConvPath,
    /// Largest tensor one binding may hold.
    pub limit: u64,
    /// Bound where a kernel's optional input (a missing bias) is absent.
    pub empty: &'a wgpu::Buffer,
    /// Where im2col.wgsl unfolds a convolution's input, shared by every convolution (see
    /// [`im2col_bytes`]); `None` when no convolution needs it.
    pub scratch: Option<&'a wgpu::Buffer>,
    /// The texture conv_pointwise.wgsl reads X from, shared by every convolution, and
    /// its view; `None` when no convolution needs it.
    pub x_texture: Option<(&'a wgpu::Texture, &'a wgpu::TextureView)>,
    /// The subgroup size to share weight fetches across, if any.
    pub subgroup: Option<u32>,
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
    /// rows), copied into the X texture.
    Pointwise,
    /// im2col.wgsl into the scratch buffer, copied into the X texture, then
    /// conv_pointwise.wgsl.
    Im2col,
    /// conv_gemm.wgsl: when the unfolded input would not fit one binding or the X texture.
    Gemm,
}

/// Bytes im2col.wgsl writes for a convolution from `s` to `o`: every (input channel, tap)
/// row of the output's pixels, rounded up to a vec4.
pub fn im2col_bytes(c: &Conv2d, s: Shape, o: Shape) -> u64 {
    (s.c * c.kernel.0 * c.kernel.1 * (o.h * o.w).div_ceil(4) * 16) as u64
}

/// The kernel for convolution `c` from `s` to `o` on `path`, given `scratch` bytes for im2col
/// (the binding limit, to ask which convolutions would use it) and `texture` bytes the X
/// texture may hold (see [`x_texture_bytes`]).
pub fn conv_kernel(
    path: ConvPath,
    c: &Conv2d,
    s: Shape,
    o: Shape,
    scratch: u64,
    texture: u64,
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
    match path {
        ConvPath::Naive => ConvKernel::Naive,
        // Rows of whole texels, or stride 1: with rows of any width and a stride of 2 the
        // texture kernel measured 2x slower than depthwise.wgsl (BENCHMARKS.md).
        _ if depthwise
            && (s.w.is_multiple_of(4) || c.stride.1 == 1)
            && depthwise_x_bytes(s) <= texture =>
        {
            ConvKernel::DepthwiseTexture
        }
        _ if depthwise => ConvKernel::Depthwise,
        // A map of a few pixels (LeNet's C5 is 1x1) would leave the blocked kernels' pixel
        // lanes idle; one invocation per output keeps every channel busy there.
        _ if pixels <= 4 => ConvKernel::Naive,
        _ if im2col_bytes(c, s, o) > texture => ConvKernel::Gemm,
        _ if direct => ConvKernel::Pointwise,
        _ if im2col_bytes(c, s, o) <= scratch => ConvKernel::Im2col,
        _ => ConvKernel::Gemm,
    }
}

impl Lowering<'_> {
    /// Bytes the X texture holds (0 without one).
    fn texture_bytes(&self) -> u64 {
        self.x_texture
            .map_or(0, |(t, _)| t.height() as u64 * X_ROW_BYTES)
    }

    fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer, GpuError> {
        let limit = self.limit;
        if bytes.len() as u64 > limit {
            return Err(GpuError::TooLarge {
                tensor: label.to_string(),
                bytes: bytes.len() as u64,
                limit,
            });
        }
        Ok(self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            }))
    }

    /// Upload the tensor `suffix` of `node`.
    fn tensor(&self, node: &str, suffix: &str) -> Result<wgpu::Buffer, GpuError> {
        let t = self.weights.get(node, suffix);
        self.storage(&format!("{node}.{suffix}"), bytemuck::cast_slice(&t.data))
    }

    fn uniform<T: Pod>(&self, label: &str, params: &T) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Upload `data`, `rows` rows of `width` vec4s, as an rgba32float texture.
    fn texture(&self, label: &str, data: &[f32], width: usize, rows: usize) -> wgpu::TextureView {
        let texture = self.ctx.device.create_texture_with_data(
            &self.ctx.queue,
            &wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width: width as u32,
                    height: rows as u32,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            bytemuck::cast_slice(data),
        );
        texture.create_view(&wgpu::TextureViewDescriptor::default())
    }

    fn dispatch<T: Pod>(
        &self,
        label: &str,
        variant: Variant,
        reads: &[&wgpu::Buffer],
        output: &wgpu::Buffer,
        params: &T,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let reads = reads.iter().map(|b| b.as_entire_binding()).collect();
        self.dispatch_with(label, variant, reads, output, params, workgroups)
    }

    /// [`Lowering::dispatch`] with any binding resources as reads (textures among them).
    fn dispatch_with<T: Pod>(
        &self,
        label: &str,
        variant: Variant,
        reads: Vec<wgpu::BindingResource>,
        output: &wgpu::Buffer,
        params: &T,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let kernel = variant.kernel;
        debug_assert_eq!(reads.len() as u32, kernel.reads(), "{label}");
        let uniform = self.uniform(label, params);
        let mut pipelines = self.ctx.pipelines.lock().expect("pipeline cache poisoned");
        let pipeline = pipelines.get(&self.ctx.device, &variant);
        let layout = pipelines.layout(&self.ctx.device, kernel);
        let count = reads.len() as u32;
        let mut entries: Vec<wgpu::BindGroupEntry> = reads
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: count,
            resource: output.as_entire_binding(),
        });
        entries.push(wgpu::BindGroupEntry {
            binding: count + 1,
            resource: uniform.as_entire_binding(),
        });
        let bind_group = self
            .ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout,
                entries: &entries,
            });
        Dispatch {
            pipeline,
            bind_group,
            workgroups,
            copy_before: None,
        }
    }

    /// The dispatches computing `node` from `ins` into `out`.
    pub fn lower(
        &self,
        node: &Node,
        ins: &[(&wgpu::Buffer, Shape)],
        out: &wgpu::Buffer,
        out_shape: Shape,
    ) -> Result<Vec<Dispatch>, GpuError> {
        let name = node.name.as_str();
        let (input, in_shape) = ins[0];
        let elementwise = grid(out_shape.len(), 64);
        let small = |a: usize, b: usize| SmallParams {
            a: a as u32,
            b: b as u32,
            _pad: [0; 2],
        };
        Ok(match &node.layer {
            Layer::Input { .. } | Layer::Flatten | Layer::Dropout(_) => Vec::new(),
            Layer::Conv2d(c) => self.conv(
                name,
                c,
                Epilogue::default(),
                input,
                in_shape,
                out,
                out_shape,
            )?,
            Layer::PartialConv2d(p) => {
                let mut table: Vec<u32> = Vec::new();
                for (o, row) in p.table.iter().enumerate() {
                    table.extend([p.weight_offset(o) as u32, row.len() as u32]);
                }
                table.extend(p.table.iter().flatten().map(|&i| i as u32));
                let table = self.storage(&format!("{name}.table"), bytemuck::cast_slice(&table))?;
                let params = PartialConvParams {
                    in_c: in_shape.c as u32,
                    in_h: in_shape.h as u32,
                    in_w: in_shape.w as u32,
                    out_c: out_shape.c as u32,
                    out_h: out_shape.h as u32,
                    out_w: out_shape.w as u32,
                    k: p.kernel as u32,
                    _pad: 0,
                };
                let (w, b) = (self.tensor(name, "weight")?, self.tensor(name, "bias")?);
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::ConvPartial),
                    &[input, &w, &b, &table],
                    out,
                    &params,
                    elementwise,
                )]
            }
            Layer::Subsample(s) => {
                let params = SubsampleParams {
                    c: out_shape.c as u32,
                    in_h: in_shape.h as u32,
                    in_w: in_shape.w as u32,
                    out_h: out_shape.h as u32,
                    out_w: out_shape.w as u32,
                    window: s.window as u32,
                    _pad: [0; 2],
                };
                let (w, b) = (self.tensor(name, "weight")?, self.tensor(name, "bias")?);
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::Subsample),
                    &[input, &w, &b],
                    out,
                    &params,
                    elementwise,
                )]
            }
            Layer::MaxPool2d(p) => vec![self.pool(name, p, true, input, in_shape, out, out_shape)],
            Layer::AvgPool2d(p) => vec![self.pool(name, p, false, input, in_shape, out, out_shape)],
            Layer::AdaptiveAvgPool2d(_) => {
                let params = SubsampleParams {
                    c: out_shape.c as u32,
                    in_h: in_shape.h as u32,
                    in_w: in_shape.w as u32,
                    out_h: out_shape.h as u32,
                    out_w: out_shape.w as u32,
                    window: 0,
                    _pad: [0; 2],
                };
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::AdaptivePool),
                    &[input],
                    out,
                    &params,
                    elementwise,
                )]
            }
            Layer::Lrn(l) => {
                let params = LrnParams {
                    c: out_shape.c as u32,
                    hw: (out_shape.h * out_shape.w) as u32,
                    size: l.size as u32,
                    _pad: 0,
                    alpha: l.alpha,
                    beta: l.beta,
                    k: l.k,
                    _pad1: 0.0,
                };
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::Lrn),
                    &[input],
                    out,
                    &params,
                    elementwise,
                )]
            }
            Layer::BatchNorm(b) => {
                let params = BatchNormParams {
                    c: out_shape.c as u32,
                    hw: (out_shape.h * out_shape.w) as u32,
                    eps: b.eps,
                    _pad: 0,
                };
                let w = self.tensor(name, "weight")?;
                let bias = self.tensor(name, "bias")?;
                let mean = self.tensor(name, "running_mean")?;
                let var = self.tensor(name, "running_var")?;
                let reads = [input, &w, &bias, &mean, &var];
                // batchnorm.wgsl: one invocation per 4 values of a channel.
                let threads = out_shape.c * (out_shape.h * out_shape.w).div_ceil(4);
                let variant = Variant::plain(Kernel::BatchNorm);
                vec![self.dispatch(name, variant, &reads, out, &params, grid(threads, 64))]
            }
            Layer::Activation(a) => {
                let code = activation_code(Some(*a));
                let variant = Variant::with(Kernel::Activation, "ACT", code);
                vec![self.dispatch(
                    name,
                    variant,
                    &[input],
                    out,
                    &small(out_shape.len(), 0),
                    elementwise,
                )]
            }
            Layer::Dense(d) => {
                self.dense(name, d.in_features, d.out_features, d.bias, input, out)?
            }
            Layer::Rbf(r) => {
                let params = RbfParams {
                    in_features: r.in_features as u32,
                    outputs: r.outputs as u32,
                    _pad: [0; 2],
                };
                let w = self.tensor(name, "weight")?;
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::Rbf),
                    &[input, &w],
                    out,
                    &params,
                    grid(r.outputs, 64),
                )]
            }
            Layer::Concat => {
                let mut offset = 0;
                let mut dispatches = Vec::new();
                for (buffer, shape) in ins {
                    let params = small(shape.len(), offset);
                    dispatches.push(self.dispatch(
                        name,
                        Variant::plain(Kernel::Copy),
                        &[buffer],
                        out,
                        &params,
                        grid(shape.len(), 64),
                    ));
                    offset += shape.len();
                }
                dispatches
            }
            Layer::Add => {
                if ins.len() != 2 {
                    return Err(GpuError::Unsupported {
                        node: name.into(),
                        reason: format!(
                            "the add kernel sums two inputs, this node has {}",
                            ins.len()
                        ),
                    });
                }
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::Add),
                    &[ins[0].0, ins[1].0],
                    out,
                    &small(out_shape.len(), 0),
                    elementwise,
                )]
            }
            Layer::GlobalAvgPool => {
                let params = small(in_shape.c, in_shape.h * in_shape.w);
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::GlobalAvgPool),
                    &[input],
                    out,
                    &params,
                    grid(in_shape.c, 64),
                )]
            }
            Layer::Softmax => {
                vec![self.dispatch(
                    name,
                    Variant::plain(Kernel::Softmax),
                    &[input],
                    out,
                    &small(out_shape.len(), 0),
                    [1, 1, 1],
                )]
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn pool(
        &self,
        name: &str,
        p: &Pool2d,
        max: bool,
        input: &wgpu::Buffer,
        s: Shape,
        out: &wgpu::Buffer,
        o: Shape,
    ) -> Dispatch {
        let pad = p.pads(s.h, s.w);
        let params = PoolParams {
            c: s.c as u32,
            in_h: s.h as u32,
            in_w: s.w as u32,
            out_h: o.h as u32,
            out_w: o.w as u32,
            kh: p.kernel.0 as u32,
            kw: p.kernel.1 as u32,
            sh: p.stride.0 as u32,
            sw: p.stride.1 as u32,
            pad_t: pad[0] as u32,
            pad_l: pad[2] as u32,
            pad_b: pad[1] as u32,
            pad_r: pad[3] as u32,
            count_include_pad: p.count_include_pad as u32,
            _pad: [0; 2],
        };
        let variant = Variant::with(Kernel::Pool, "MAX", max as u32);
        self.dispatch(name, variant, &[input], out, &params, grid(o.len(), 64))
    }
}
