//! A plan: one network on one device at one input size. Buffers, weights, params and bind
//! groups are made once here; a forward pass is an input upload and the recorded dispatches.
//! Every node's output stays in its own buffer, so any node can be read back alone.
//!
//! A convolution followed by a BatchNorm and/or an activation runs as one kernel: the
//! BatchNorm is folded into the convolution's weights and bias, the activation applied before
//! the store, and the result written to the last node's buffer. The nodes folded away keep
//! their own un-fused dispatches, run only when one of them is read.

mod encode;
mod fusion;

use super::lower::{
    conv_kernel, im2col_bytes, x_texture_bytes, x_texture_need, ConvKernel, Dispatch, Epilogue,
    Lowering, X_ROW_BYTES, X_TEXTURE_WIDTH,
};
use super::readback::{read_bytes, read_f32};
use super::{GpuContext, GpuError};
use crate::model::{Conv2d, Layer, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::Weights;
use encode::encode;
use fusion::Fusion;

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

/// Per-node timestamps: two per node (start and end of its compute pass).
struct Timer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

pub struct Plan {
    pub net: Network,
    pub shapes: Vec<Shape>,
    /// Output buffer of each node; flatten and dropout share their input's buffer.
    buffers: Vec<wgpu::Buffer>,
    /// The forward pass, per node. A fused kernel is recorded under its convolution.
    steps: Vec<Vec<Dispatch>>,
    /// For nodes a fused kernel skips over: the dispatches computing their own output,
    /// run on demand before they are read.
    deferred: Vec<Option<Vec<Dispatch>>>,
    /// The convolution whose kernel computes each absorbed node in the forward pass.
    fused_into: Vec<Option<NodeId>>,
    timer: Option<Timer>,
}

impl Plan {
    /// Plan `net` with `weights` for an `h x w` input. Shader and validation errors surface here.
    pub async fn new(
        ctx: &GpuContext,
        net: &Network,
        weights: &Weights,
        h: usize,
        w: usize,
        options: PlanOptions,
    ) -> Result<Plan, GpuError> {
        let shapes = net.infer_shapes(h, w)?;
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = Self::build(ctx, net, weights, &shapes, options);
        let error = scope.pop().await;
        if result.is_err() || error.is_some() {
            ctx.pipelines
                .lock()
                .expect("pipeline cache poisoned")
                .clear();
        }
        let plan = result?;
        match error {
            Some(e) => Err(GpuError::Validation(e.to_string())),
            None => Ok(plan),
        }
    }

    fn build(
        ctx: &GpuContext,
        net: &Network,
        weights: &Weights,
        shapes: &[Shape],
        options: PlanOptions,
    ) -> Result<Plan, GpuError> {
        let limit = options
            .binding_limit
            .map_or(ctx.max_binding_bytes(), |l| l.min(ctx.max_binding_bytes()));
        let empty = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("absent input"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // One scratch buffer for im2col and one X texture for the matrix products, each as
        // large as the largest convolution that uses it.
        let texture_room = x_texture_bytes(&ctx.limits);
        let convs: Vec<(ConvKernel, &Conv2d, Shape, Shape)> = net
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(id, node)| match &node.layer {
                Layer::Conv2d(c) => {
                    let (s, o) = (shapes[node.inputs[0]], shapes[id]);
                    let kernel = conv_kernel(options.conv, c, s, o, limit, texture_room);
                    Some((kernel, c, s, o))
                }
                _ => None,
            })
            .collect();
        let scratch_size = convs
            .iter()
            .filter(|(k, ..)| *k == ConvKernel::Im2col)
            .map(|&(_, c, s, o)| im2col_bytes(c, s, o))
            .max();
        let texture_size = net
            .nodes
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(id, node)| {
                let s = shapes[node.inputs[0]];
                x_texture_need(options.conv, node, s, shapes[id], limit, &ctx.limits)
            })
            .max();
        let scratch = scratch_size.map(|size| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("im2col"),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        });
        let x_texture = texture_size.map(|size| {
            let texture = ctx.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("matrix product input"),
                size: wgpu::Extent3d {
                    width: X_TEXTURE_WIDTH,
                    height: size.div_ceil(X_ROW_BYTES) as u32,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            (texture, view)
        });
        let lowering = Lowering {
            ctx,
            weights,
            limit,
            empty: &empty,
            conv: options.conv,
            scratch: scratch.as_ref(),
            x_texture: x_texture.as_ref().map(|(t, v)| (t, v)),
            subgroup: ctx.subgroup.filter(|_| !options.no_subgroups),
        };
        let mut buffers: Vec<wgpu::Buffer> = Vec::with_capacity(net.nodes.len());
        for (id, node) in net.nodes.iter().enumerate() {
            let shape = shapes[id];
            let buffer = match node.layer {
                Layer::Flatten | Layer::Dropout(_) => buffers[node.inputs[0]].clone(),
                _ => {
                    // A multiple of 16 bytes, so kernels may bind any output as vec4s.
                    let bytes = (shape.len() as u64 * 4).max(4).div_ceil(16) * 16;
                    if bytes > limit {
                        return Err(GpuError::TooLarge {
                            tensor: format!("output of `{}` ({shape})", node.name),
                            bytes,
                            limit,
                        });
                    }
                    ctx.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(&node.name),
                        size: bytes,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_SRC
                            | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    })
                }
            };
            buffers.push(buffer);
        }
        let fuse = options.conv == ConvPath::Tiled && !options.separate_nodes;
        let mut consumers = vec![Vec::new(); net.nodes.len()];
        for (id, node) in net.nodes.iter().enumerate() {
            for &i in &node.inputs {
                consumers[i].push(id);
            }
        }
        let mut fusions: Vec<Option<Fusion>> = net
            .nodes
            .iter()
            .enumerate()
            .map(|(id, node)| match node.layer {
                Layer::Conv2d(_) if fuse => Fusion::find(net, &consumers, id),
                _ => None,
            })
            .collect();
        // Nodes a fused kernel writes (`produced`) or skips over (`absorbed`).
        let mut produced = vec![false; net.nodes.len()];
        let mut absorbed = vec![false; net.nodes.len()];
        let mut fused_into = vec![None; net.nodes.len()];
        for (conv, f) in fusions.iter().enumerate() {
            let Some(f) = f else { continue };
            produced[f.last()] = true;
            for id in [f.batchnorm, f.activation].into_iter().flatten() {
                absorbed[id] = id != f.last();
                fused_into[id] = Some(conv);
            }
        }
        let mut steps: Vec<Vec<Dispatch>> = Vec::with_capacity(net.nodes.len());
        let mut deferred: Vec<Option<Vec<Dispatch>>> = Vec::with_capacity(net.nodes.len());
        for (id, node) in net.nodes.iter().enumerate() {
            let shape = shapes[id];
            let ins: Vec<(&wgpu::Buffer, Shape)> = node
                .inputs
                .iter()
                .map(|&i| (&buffers[i], shapes[i]))
                .collect();
            if id == Network::INPUT {
                steps.push(Vec::new());
                deferred.push(None);
                continue;
            }
            let own = lowering.lower(node, &ins, &buffers[id], shape)?;
            let fusion = match (&node.layer, fusions[id].take()) {
                (Layer::Conv2d(c), Some(f)) => Some((c, f)),
                _ => None,
            };
            if let Some((c, f)) = fusion {
                let epilogue = Epilogue {
                    batchnorm: f.batchnorm.map(|b| match &net.nodes[b].layer {
                        Layer::BatchNorm(bn) => (net.nodes[b].name.as_str(), bn),
                        _ => unreachable!("Fusion::find checked the kind"),
                    }),
                    activation: f.activation.map(|a| match net.nodes[a].layer {
                        Layer::Activation(a) => a,
                        _ => unreachable!("Fusion::find checked the kind"),
                    }),
                };
                let last = f.last();
                let fused = lowering.conv(
                    &node.name,
                    c,
                    epilogue,
                    ins[0].0,
                    ins[0].1,
                    &buffers[last],
                    shapes[last],
                )?;
                steps.push(fused);
                deferred.push(Some(own));
            } else if absorbed[id] {
                steps.push(Vec::new());
                deferred.push(Some(own));
            } else if produced[id] {
                steps.push(Vec::new());
                deferred.push(None);
            } else {
                steps.push(own);
                deferred.push(None);
            }
        }
        let timer = ctx.timestamps.then(|| {
            let count = (2 * net.nodes.len()).min(wgpu::QUERY_SET_MAX_QUERIES as usize) as u32;
            Timer {
                queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("node timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count,
                }),
                resolve: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("node timestamps"),
                    size: count as u64 * 8,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                }),
                period: ctx.queue.get_timestamp_period() as f64,
            }
        });
        Ok(Plan {
            net: net.clone(),
            shapes: shapes.to_vec(),
            buffers,
            steps,
            deferred,
            fused_into,
            timer,
        })
    }

    /// The convolution whose kernel computes node `id` in the forward pass (a folded
    /// BatchNorm or fused activation), if any: its time counts under that convolution.
    pub fn fused_into(&self, id: NodeId) -> Option<NodeId> {
        self.fused_into[id]
    }

    /// Dispatches recorded for node `id` in the forward pass.
    pub fn dispatch_count(&self, id: NodeId) -> usize {
        self.steps[id].len()
    }

    /// Whether this plan records per-node GPU time.
    pub fn has_timer(&self) -> bool {
        self.timer.is_some()
    }

    /// Run one forward pass on `input` (`[C, H, W]`, the planned size). Returns once the
    /// work is submitted; reads wait for it.
    pub fn forward(&self, ctx: &GpuContext, input: &Tensor) -> Result<(), GpuError> {
        let expected = self.shapes[Network::INPUT];
        if input.shape != [expected.c, expected.h, expected.w] {
            return Err(GpuError::InputShape {
                expected: expected.to_string(),
                found: format!("{:?}", input.shape),
            });
        }
        ctx.queue.write_buffer(
            &self.buffers[Network::INPUT],
            0,
            bytemuck::cast_slice(&input.data),
        );
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(&self.net.name),
            });
        for (id, dispatches) in self.steps.iter().enumerate() {
            if dispatches.is_empty() {
                continue;
            }
            let timestamps = self.timer.as_ref().and_then(|t| {
                let first = 2 * id as u32;
                (first + 1 < t.queries.count()).then_some((&t.queries, first))
            });
            encode(
                &mut encoder,
                &self.net.nodes[id].name,
                dispatches.iter(),
                timestamps,
            );
        }
        if let Some(t) = &self.timer {
            encoder.resolve_query_set(&t.queries, 0..t.queries.count(), &t.resolve, 0);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Fill the buffers of `ids` that the forward pass skipped (nodes absorbed by a fused
    /// kernel, and those they read from) with their own outputs, by running their un-fused
    /// dispatches. [`Plan::read`] and [`Plan::read_many`] call this; call it before using
    /// [`Plan::buffer`] of such a node.
    pub fn materialize(&self, ctx: &GpuContext, ids: &[NodeId]) {
        let mut needed = vec![false; self.net.nodes.len()];
        let mut stack = ids.to_vec();
        while let Some(id) = stack.pop() {
            let shares_input =
                matches!(self.net.nodes[id].layer, Layer::Flatten | Layer::Dropout(_));
            if self.deferred[id].is_some() && !needed[id] {
                needed[id] = true;
                stack.extend(&self.net.nodes[id].inputs);
            } else if shares_input {
                stack.extend(&self.net.nodes[id].inputs);
            }
        }
        if !needed.contains(&true) {
            return;
        }
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("un-fused nodes"),
            });
        // Node ids are in graph order, so producers run before their consumers.
        let dispatches = self
            .deferred
            .iter()
            .enumerate()
            .filter(|&(id, _)| needed[id])
            .flat_map(|(_, d)| d.iter().flatten());
        encode(&mut encoder, "un-fused nodes", dispatches, None);
        ctx.queue.submit([encoder.finish()]);
    }

    /// Node `id`'s output after the last forward pass, shaped `[c, h, w]`.
    pub async fn read(&self, ctx: &GpuContext, id: NodeId) -> Result<Tensor, GpuError> {
        self.materialize(ctx, &[id]);
        let s = self.shapes[id];
        let data = read_f32(ctx, &self.buffers[id], s.len() as u64 * 4).await?;
        Ok(Tensor::new(vec![s.c, s.h, s.w], data))
    }

    /// Several nodes' outputs in one copy and one map (far cheaper than one read each).
    pub async fn read_many(
        &self,
        ctx: &GpuContext,
        ids: &[NodeId],
    ) -> Result<Vec<Tensor>, GpuError> {
        self.materialize(ctx, ids);
        let sizes: Vec<u64> = ids
            .iter()
            .map(|&id| self.shapes[id].len() as u64 * 4)
            .collect();
        let total: u64 = sizes.iter().sum();
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read many"),
            size: total.max(4),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read many"),
            });
        let mut offset = 0;
        for (&id, &bytes) in ids.iter().zip(&sizes) {
            encoder.copy_buffer_to_buffer(&self.buffers[id], 0, &staging, offset, bytes);
            offset += bytes;
        }
        ctx.queue.submit([encoder.finish()]);
        let all = read_f32(ctx, &staging, total.max(4)).await?;
        let mut out = Vec::with_capacity(ids.len());
        let mut start = 0;
        for &id in ids {
            let s = self.shapes[id];
            out.push(Tensor::new(
                vec![s.c, s.h, s.w],
                all[start..start + s.len()].to_vec(),
            ));
            start += s.len();
        }
        Ok(out)
    }

    /// The GPU buffer holding node `id`'s output (for drawing feature maps without a readback).
    /// A node absorbed by a fused kernel holds its output only after [`Plan::materialize`].
    pub fn buffer(&self, id: NodeId) -> &wgpu::Buffer {
        &self.buffers[id]
    }

    /// Milliseconds each node took in the last forward pass (0 for nodes with no work), or
    /// `None` when the adapter has no timestamp queries.
    pub async fn node_times_ms(&self, ctx: &GpuContext) -> Result<Option<Vec<f64>>, GpuError> {
        let Some(t) = &self.timer else {
            return Ok(None);
        };
        let raw = read_bytes(ctx, &t.resolve, t.queries.count() as u64 * 8).await?;
        let ticks: &[u64] = bytemuck::cast_slice(&raw);
        let times = (0..self.net.nodes.len())
            .map(|id| {
                let (a, b) = (2 * id, 2 * id + 1);
                if self.steps[id].is_empty() || b >= ticks.len() {
                    0.0
                } else {
                    ticks[b].saturating_sub(ticks[a]) as f64 * t.period / 1e6
                }
            })
            .collect();
        Ok(Some(times))
    }

    /// Wait until all submitted work is done.
    pub async fn finish(&self, ctx: &GpuContext) -> Result<(), GpuError> {
        let (tx, rx) = futures_channel::oneshot::channel();
        ctx.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        rx.await
            .map_err(|_| GpuError::Readback("the device was lost".into()))
    }
}
