//! A plan: one network on one device at one input size. Buffers, weights, params and bind
//! groups are made once here; a forward pass is an input upload and the recorded dispatches.
//! Every node's output stays in its own buffer, so any node can be read back alone.

use super::lower::{Dispatch, Lowering};
use super::readback::{read_bytes, read_f32};
use super::{GpuContext, GpuError};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::Weights;

/// Which convolution kernels to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvPath {
    /// Implicit GEMM through workgroup memory; depthwise convolutions get their own kernel.
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
    steps: Vec<Vec<Dispatch>>,
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
        let lowering = Lowering {
            ctx,
            weights,
            limit,
            empty: &empty,
            conv: options.conv,
        };
        let mut buffers: Vec<wgpu::Buffer> = Vec::with_capacity(net.nodes.len());
        let mut steps = Vec::with_capacity(net.nodes.len());
        for (id, node) in net.nodes.iter().enumerate() {
            let shape = shapes[id];
            let buffer = match node.layer {
                Layer::Flatten | Layer::Dropout(_) => buffers[node.inputs[0]].clone(),
                _ => {
                    let bytes = (shape.len() as u64 * 4).max(4);
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
            let ins: Vec<(&wgpu::Buffer, Shape)> = node
                .inputs
                .iter()
                .map(|&i| (&buffers[i], shapes[i]))
                .collect();
            let dispatches = if id == Network::INPUT {
                Vec::new()
            } else {
                lowering.lower(node, &ins, &buffer, shape)?
            };
            steps.push(dispatches);
            buffers.push(buffer);
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
            timer,
        })
    }

    /// Dispatches recorded for node `id`.
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
            let timestamp_writes = self.timer.as_ref().and_then(|t| {
                let first = 2 * id as u32;
                (first + 1 < t.queries.count()).then_some(wgpu::ComputePassTimestampWrites {
                    query_set: &t.queries,
                    beginning_of_pass_write_index: Some(first),
                    end_of_pass_write_index: Some(first + 1),
                })
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&self.net.nodes[id].name),
                timestamp_writes,
            });
            for d in dispatches {
                pass.set_pipeline(&d.pipeline);
                pass.set_bind_group(0, &d.bind_group, &[]);
                let [x, y, z] = d.workgroups;
                pass.dispatch_workgroups(x, y, z);
            }
        }
        if let Some(t) = &self.timer {
            encoder.resolve_query_set(&t.queries, 0..t.queries.count(), &t.resolve, 0);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Node `id`'s output after the last forward pass, shaped `[c, h, w]`.
    pub async fn read(&self, ctx: &GpuContext, id: NodeId) -> Result<Tensor, GpuError> {
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
