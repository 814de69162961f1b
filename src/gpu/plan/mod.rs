//! A plan: one network on one device at one input size. Buffers, weights, params and bind
//! groups are made once here; a forward pass is an input upload and the recorded dispatches.
//! Every node's output stays in its own buffer, so any node can be read back alone.
//!
//! A convolution followed by a BatchNorm and/or an activation runs as one kernel: the
//! BatchNorm is folded into the convolution's weights and bias, the activation applied before
//! the store, and the result written to the last node's buffer. The nodes folded away keep
//! their own un-fused dispatches, run only when one of them is read.
//!
//! The files below import lower modules of `gpu`, never this file or each other, but for
//! `record` reading the roles `fusion` gives.

pub mod buffers;
mod fusion;
mod record;
pub mod timer;

use super::context::GpuContext;
use super::dispatch::{encode, Dispatch};
use super::error::GpuError;
use super::lower::Lowering;
use super::options::{choose, Capabilities, Choice, PlanOptions};
use super::readback::{read_f32, read_f32_many};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::Weights;
use buffers::{node_outputs, Shared};
use record::record;
use timer::Timer;

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

    /// Choose each node's kernel, make the buffers those kernels need, and record every
    /// node's dispatches on its kernel.
    fn build(
        ctx: &GpuContext,
        net: &Network,
        weights: &Weights,
        shapes: &[Shape],
        options: PlanOptions,
    ) -> Result<Plan, GpuError> {
        let caps = Capabilities::new(ctx, &options);
        let choices: Vec<Choice> = (net.nodes.iter().enumerate())
            .map(|(id, node)| {
                // The input node reads nothing (and has no kernel): its own shape stands in.
                let s = node.inputs.first().map_or(shapes[id], |&i| shapes[i]);
                choose(&node.layer, s, shapes[id], &options, &caps)
            })
            .collect();
        let shared = Shared::new(ctx, net, shapes, &choices);
        let buffers = node_outputs(ctx, net, shapes, caps.binding_limit)?;
        let lowering = Lowering {
            ctx,
            weights,
            limit: caps.binding_limit,
            empty: &shared.empty,
            scratch: shared.scratch.as_ref(),
            x_texture: shared.x_texture.as_ref().map(|(t, v)| (t, v)),
        };
        let (roles, fused_into) = fusion::schedule(net, options.fuses());
        let recorded = record(&lowering, net, shapes, &buffers, &choices, &roles)?;
        Ok(Plan {
            net: net.clone(),
            shapes: shapes.to_vec(),
            buffers,
            steps: recorded.steps,
            deferred: recorded.deferred,
            fused_into,
            timer: Timer::new(ctx, net.nodes.len()),
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
            let timestamps = self.timer.as_ref().and_then(|t| t.slots(id));
            let name = &self.net.nodes[id].name;
            encode(&mut encoder, name, dispatches.iter(), timestamps);
        }
        if let Some(t) = &self.timer {
            t.resolve(&mut encoder);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Fill the buffers of `ids` that the forward pass skipped (nodes absorbed by a fused
    /// kernel, and those they read from) with their own outputs, by running their un-fused
    /// dispatches. [`Plan::read`] and [`Plan::read_many`] call this; call it before using
    /// [`Plan::buffer`] of such a node.
    pub fn materialize(&self, ctx: &GpuContext, ids: &[NodeId]) {
        let dispatches = self.deferred_for(ids);
        if dispatches.is_empty() {
            return;
        }
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("un-fused nodes"),
            });
        encode(&mut encoder, "un-fused nodes", dispatches.into_iter(), None);
        ctx.queue.submit([encoder.finish()]);
    }

    /// The un-fused dispatches that fill the buffers of `ids` (and of the nodes they read
    /// from) where the forward pass skipped them, producers first.
    fn deferred_for(&self, ids: &[NodeId]) -> Vec<&Dispatch> {
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
        // Node ids are in graph order, so producers run before their consumers.
        self.deferred
            .iter()
            .enumerate()
            .filter(|&(id, _)| needed[id])
            .flat_map(|(_, d)| d.iter().flatten())
            .collect()
    }

    /// Encode a forward pass over what the input buffer holds when it runs (no upload, no
    /// timestamps), then the un-fused dispatches that fill the buffers of `ids`: one pass of
    /// a batch encoded after a kernel that writes the input (occlusion).
    pub(in crate::gpu) fn encode_pass(&self, encoder: &mut wgpu::CommandEncoder, ids: &[NodeId]) {
        for (id, dispatches) in self.steps.iter().enumerate() {
            if !dispatches.is_empty() {
                encode(encoder, &self.net.nodes[id].name, dispatches.iter(), None);
            }
        }
        let deferred = self.deferred_for(ids);
        if !deferred.is_empty() {
            encode(encoder, "un-fused nodes", deferred.into_iter(), None);
        }
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
        let parts: Vec<(&wgpu::Buffer, u64)> = ids
            .iter()
            .map(|&id| (&self.buffers[id], self.shapes[id].len() as u64 * 4))
            .collect();
        let data = read_f32_many(ctx, &parts).await?;
        Ok(ids
            .iter()
            .zip(data)
            .map(|(&id, data)| {
                let s = self.shapes[id];
                Tensor::new(vec![s.c, s.h, s.w], data)
            })
            .collect())
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
        let ran = |id: NodeId| !self.steps[id].is_empty();
        Ok(Some(t.node_ms(ctx, self.net.nodes.len(), ran).await?))
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
