//! Each node's backward dispatches, made once per model: for every input of the node, the
//! dispatches writing the gradient with respect to that input, in two variants (overwrite,
//! or add to what the input's gradient holds) and, for activations, in each mode.

use crate::cpu::backward::Mode;
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::kernels::{activation_overrides, Kernel, Variant};
use crate::gpu::kernels_backward::{mode_code, BackwardKernel};
use crate::gpu::lower::{grid, Lowering};
use crate::gpu::params::*;
use crate::model::{Activation, Conv2d, Layer, PartialConv2d, Pool2d, Shape};
use bytemuck::Pod;

/// Where one node's backward reads and writes.
pub struct BackIo<'a> {
    pub name: &'a str,
    /// The forward inputs (max pooling, LRN and RBF read them).
    pub inputs: &'a [&'a wgpu::Buffer],
    pub in_shapes: &'a [Shape],
    /// The forward output (activations and softmax read it).
    pub output: &'a wgpu::Buffer,
    pub out_shape: Shape,
    /// The gradient with respect to the output.
    pub dy: &'a wgpu::Buffer,
    /// The gradient with respect to each input.
    pub dx: &'a [&'a wgpu::Buffer],
}

/// The dispatches of one input's gradient: `[overwrite, accumulate]`, and for activations
/// those two for each mode in `mode_code`'s order.
pub struct Edge {
    variants: Vec<Vec<Dispatch>>,
}

impl Edge {
    /// From `[overwrite, accumulate]` dispatches.
    pub fn new(variants: Vec<Vec<Dispatch>>) -> Edge {
        Edge { variants }
    }

    /// The dispatches for `mode`, adding to the gradient when `accumulate`.
    pub fn pick(&self, mode: Mode, accumulate: bool) -> &[Dispatch] {
        let per_mode = if self.variants.len() > 2 {
            2 * mode_code(mode) as usize
        } else {
            0
        };
        &self.variants[per_mode + accumulate as usize]
    }
}

/// One backward kernel's dispatch: what it reads, what it writes, over how many values.
struct Job<'a> {
    kernel: BackwardKernel,
    /// Overrides besides ACCUMULATE.
    extra: Vec<(&'static str, u32)>,
    reads: Vec<&'a wgpu::Buffer>,
    dx: &'a wgpu::Buffer,
    threads: usize,
}

impl<'a> Job<'a> {
    fn new(
        kernel: BackwardKernel,
        reads: &[&'a wgpu::Buffer],
        dx: &'a wgpu::Buffer,
        threads: usize,
    ) -> Self {
        Job {
            kernel,
            extra: Vec::new(),
            reads: reads.to_vec(),
            dx,
            threads,
        }
    }

    fn with(mut self, name: &'static str, value: u32) -> Self {
        self.extra.push((name, value));
        self
    }

    /// The dispatch in both variants: `[overwrite, accumulate]`.
    fn both<T: Pod>(&self, l: &Lowering, io: &BackIo, params: &T) -> [Dispatch; 2] {
        [false, true].map(|accumulate| {
            let mut overrides = self.extra.clone();
            overrides.push(("ACCUMULATE", accumulate as u32));
            overrides.sort();
            let variant = Variant {
                kernel: Kernel::Backward(self.kernel),
                overrides,
            };
            let label = format!("{} backward", io.name);
            let workgroups = grid(self.threads, 64);
            l.dispatch(&label, variant, &self.reads, self.dx, params, workgroups)
        })
    }

    /// An edge of this one dispatch.
    fn edge<T: Pod>(&self, l: &Lowering, io: &BackIo, params: &T) -> Edge {
        edge(self.both(l, io, params))
    }
}

fn edge(pair: [Dispatch; 2]) -> Edge {
    Edge {
        variants: pair.map(|d| vec![d]).into(),
    }
}

fn small(a: usize, b: usize) -> SmallParams {
    SmallParams {
        a: a as u32,
        b: b as u32,
        _pad: [0; 2],
    }
}

/// The backward dispatches of a node of kind `layer`, one [`Edge`] per input.
pub fn node(l: &Lowering, layer: &Layer, io: &BackIo) -> Result<Vec<Edge>, GpuError> {
    let s = io.in_shapes.first().copied().unwrap_or(io.out_shape);
    let n = s.len();
    let edge = match layer {
        Layer::Input { .. } => return Ok(Vec::new()),
        Layer::Flatten | Layer::Dropout(_) | Layer::Add => return Ok(route(l, io, false)),
        Layer::Concat => return Ok(route(l, io, true)),
        Layer::Conv2d(c) => {
            let w = l.tensor(io.name, "weight")?;
            // A group of at most 4 input channels (a stem's 3) in one invocation, sharing
            // each dy value it reads.
            let per_group = c.in_channels / c.groups;
            let along = if per_group <= 4 { per_group } else { 1 };
            let job = Job::new(BackwardKernel::Conv, &[io.dy, &w], io.dx[0], n / along);
            job.with("IN", along as u32)
                .edge(l, io, &conv_params(c, s, io.out_shape))
        }
        Layer::PartialConv2d(p) => partial_conv(l, io, p)?,
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => {
            let max = matches!(layer, Layer::MaxPool2d(_)) as u32;
            let job = Job::new(BackwardKernel::Pool, &[io.inputs[0], io.dy], io.dx[0], n);
            job.with("MAX", max)
                .edge(l, io, &pool_params(p, s, io.out_shape))
        }
        Layer::AdaptiveAvgPool2d(_) | Layer::GlobalAvgPool => {
            let job = Job::new(BackwardKernel::AdaptivePool, &[io.dy], io.dx[0], n);
            job.edge(l, io, &plane_params(s, io.out_shape, 0))
        }
        Layer::Subsample(sub) => {
            let w = l.tensor(io.name, "weight")?;
            let job = Job::new(BackwardKernel::Subsample, &[io.dy, &w], io.dx[0], n);
            job.edge(l, io, &plane_params(s, io.out_shape, sub.window))
        }
        Layer::Activation(a) => activation(l, io, *a),
        Layer::BatchNorm(b) => {
            let params = BatchNormParams {
                c: s.c as u32,
                hw: (s.h * s.w) as u32,
                eps: b.eps,
                _pad: 0,
            };
            let w = l.tensor(io.name, "weight")?;
            let var = l.tensor(io.name, "running_var")?;
            let job = Job::new(BackwardKernel::BatchNorm, &[io.dy, &w, &var], io.dx[0], n);
            job.edge(l, io, &params)
        }
        Layer::Lrn(lrn) => {
            let params = LrnParams {
                c: s.c as u32,
                hw: (s.h * s.w) as u32,
                size: lrn.size as u32,
                _pad: 0,
                alpha: lrn.alpha,
                beta: lrn.beta,
                k: lrn.k,
                _pad1: 0.0,
            };
            let job = Job::new(BackwardKernel::Lrn, &[io.inputs[0], io.dy], io.dx[0], n);
            job.edge(l, io, &params)
        }
        Layer::Softmax => {
            let job = Job::new(BackwardKernel::Softmax, &[io.output, io.dy], io.dx[0], n);
            job.edge(l, io, &small(n, 0))
        }
        Layer::Dense(d) => dense(l, io, d.in_features, d.out_features)?,
        Layer::Rbf(r) => {
            let params = RbfParams {
                in_features: r.in_features as u32,
                outputs: r.outputs as u32,
                _pad: [0; 2],
            };
            let w = l.tensor(io.name, "weight")?;
            let reads = [io.inputs[0], io.dy, &w];
            Job::new(BackwardKernel::Rbf, &reads, io.dx[0], n).edge(l, io, &params)
        }
    };
    Ok(vec![edge])
}

/// The forward convolution's params (`in_*` its input): the transposed one reads them so.
fn conv_params(c: &Conv2d, s: Shape, o: Shape) -> ConvParams {
    let pad = c.pads(s.h, s.w);
    ConvParams {
        in_c: s.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_c: o.c as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        kh: c.kernel.0 as u32,
        kw: c.kernel.1 as u32,
        sh: c.stride.0 as u32,
        sw: c.stride.1 as u32,
        dh: c.dilation.0 as u32,
        dw: c.dilation.1 as u32,
        pad_t: pad[0] as u32,
        pad_l: pad[2] as u32,
        groups: c.groups as u32,
        has_bias: 0,
    }
}

fn pool_params(p: &Pool2d, s: Shape, o: Shape) -> PoolParams {
    let pad = p.pads(s.h, s.w);
    PoolParams {
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
    }
}

fn plane_params(s: Shape, o: Shape, window: usize) -> SubsampleParams {
    SubsampleParams {
        c: s.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        window: window as u32,
        _pad: [0; 2],
    }
}

/// backward_conv_partial.wgsl with conv_partial.wgsl's table.
fn partial_conv(l: &Lowering, io: &BackIo, p: &PartialConv2d) -> Result<Edge, GpuError> {
    let (s, o) = (io.in_shapes[0], io.out_shape);
    let mut table: Vec<u32> = Vec::new();
    for (o, row) in p.table.iter().enumerate() {
        table.extend([p.weight_offset(o) as u32, row.len() as u32]);
    }
    table.extend(p.table.iter().flatten().map(|&i| i as u32));
    let table = l.storage(&format!("{}.table", io.name), bytemuck::cast_slice(&table))?;
    let params = PartialConvParams {
        in_c: s.c as u32,
        in_h: s.h as u32,
        in_w: s.w as u32,
        out_c: o.c as u32,
        out_h: o.h as u32,
        out_w: o.w as u32,
        k: p.kernel as u32,
        _pad: 0,
    };
    let w = l.tensor(io.name, "weight")?;
    let job = Job::new(
        BackwardKernel::ConvPartial,
        &[io.dy, &w, &table],
        io.dx[0],
        s.len(),
    );
    Ok(job.edge(l, io, &params))
}

/// backward_activation.wgsl in each mode, from the forward output.
fn activation(l: &Lowering, io: &BackIo, a: Activation) -> Edge {
    let len = io.out_shape.len();
    let mut variants = Vec::new();
    for mode in [Mode::Gradient, Mode::Guided, Mode::Deconvnet] {
        let mut job = Job::new(
            BackwardKernel::Activation,
            &[io.output, io.dy],
            io.dx[0],
            len,
        )
        .with("MODE", mode_code(mode));
        job.extra.extend(activation_overrides(Some(a)));
        variants.extend(job.both(l, io, &small(len, 0)).map(|d| vec![d]));
    }
    Edge { variants }
}

/// backward_dense.wgsl over row ranges that fit one binding; after the first range, each
/// adds to what the earlier ones wrote.
fn dense(l: &Lowering, io: &BackIo, inputs: usize, outputs: usize) -> Result<Edge, GpuError> {
    let weight = l.weights.get(io.name, "weight");
    let row_bytes = inputs as u64 * 4;
    let rows_per_chunk = ((l.limit / row_bytes.max(1)) as usize).clamp(1, outputs.max(1));
    let (mut overwrite, mut accumulate) = (Vec::new(), Vec::new());
    for start in (0..outputs).step_by(rows_per_chunk) {
        let rows = rows_per_chunk.min(outputs - start);
        let data = &weight.data[start * inputs..(start + rows) * inputs];
        let label = format!("{}.weight[{start}..{}]", io.name, start + rows);
        let w = l.storage(&label, bytemuck::cast_slice(data))?;
        let params = DenseParams {
            in_features: inputs as u32,
            rows: rows as u32,
            row_offset: start as u32,
            has_bias: 0,
        };
        let job = Job::new(BackwardKernel::Dense, &[io.dy, &w], io.dx[0], inputs);
        let [first, add] = job.both(l, io, &params);
        overwrite.push(if start == 0 {
            first
        } else {
            let [_, again] = job.both(l, io, &params);
            again
        });
        accumulate.push(add);
    }
    Ok(Edge {
        variants: vec![overwrite, accumulate],
    })
}

/// backward_route.wgsl adding `len` values of `from` to `dx`.
pub fn accumulate(
    l: &Lowering,
    io: &BackIo,
    from: &wgpu::Buffer,
    dx: &wgpu::Buffer,
    len: usize,
) -> Dispatch {
    let [_, add] = Job::new(BackwardKernel::Route, &[from], dx, len).both(l, io, &small(len, 0));
    add
}

/// backward_route.wgsl: add copies the gradient to every input, concat gives each input its
/// slice, flatten and dropout pass it on.
fn route(l: &Lowering, io: &BackIo, concat: bool) -> Vec<Edge> {
    let mut offset = 0;
    let mut edges = Vec::new();
    for (&dx, s) in io.dx.iter().zip(io.in_shapes) {
        let params = small(s.len(), if concat { offset } else { 0 });
        edges.push(Job::new(BackwardKernel::Route, &[io.dy], dx, s.len()).edge(l, io, &params));
        offset += s.len();
    }
    edges
}
