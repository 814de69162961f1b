//! The backward pass on the GPU, the twin of `cpu::backward::Backward`: from a seed gradient
//! at any node (one-hot at a logit, one unit of a feature map), back through the graph to
//! the input or to a chosen node, in one of three modes (gradient, guided backprop,
//! deconvnet). Made once per plan: a gradient buffer per node and every node's backward
//! dispatches (`lower.rs`, one backward kernel per layer kind); a pass is a seed upload and
//! the dispatches of the nodes the seed depends on, in reverse order.
//!
//! It reads the forward pass's buffers: an activation's (and softmax's) own output, and
//! the input of max pooling, LRN and RBF. A convolution fused with its BatchNorm and
//! activation stores only the activation's output, and every activation's derivative is a
//! function of its output (backward_activation.wgsl), so nothing has to be recomputed.
//!
//! A node read by several nodes sums their gradients: the first to reach it (in reverse
//! order) overwrites its buffer, the later ones add (each kernel's `ACCUMULATE` variant),
//! which is why every backward dispatch is recorded in both variants.
//!
//! Imports `plan` (the forward buffers, the timer), `lower` (the builder), `dispatch`,
//! `readback` and the kernel tables; nothing imports it but `gpu/mod.rs`.

mod fast;
mod fold;
mod lower;
mod transposed;

use super::context::GpuContext;
use super::dispatch::encode;
use super::error::GpuError;
use super::lower::Lowering;
use super::plan::timer::Timer;
use super::plan::Plan;
use super::readback::read_f32_many;
use crate::cpu::backward::Mode;
use crate::model::{Layer, Network, NodeId};
use crate::tensor::Tensor;
use crate::weights::Weights;
use fast::FastConvs;
use fold::Folds;
use lower::{BackIo, Edge};

/// A plan's backward pass: gradient buffers and recorded dispatches, made once.
pub struct BackwardPlan {
    /// d seed / d output of each node, laid out as that output.
    grads: Vec<wgpu::Buffer>,
    /// Each node's dispatches, one [`Edge`] per input.
    edges: Vec<Vec<Edge>>,
    /// A folded convolution's dispatches from its BatchNorm's output gradient (`fold.rs`),
    /// run where the pass skipped that BatchNorm.
    folded_edges: Vec<Option<Vec<Edge>>>,
    /// Nodes whose forward output the backward kernels read.
    forward_reads: Vec<NodeId>,
    /// Which gradients the last pass wrote.
    written: Vec<bool>,
    /// Which nodes the last pass ran back through.
    ran: Vec<bool>,
    /// BatchNorms folded into the convolution before them (`fold.rs`).
    folds: Folds,
    /// Convolutions whose output gradient the last pass skipped (its BatchNorm folded):
    /// filled by the BatchNorm's own dispatch when read.
    skipped: Vec<bool>,
    timer: Option<Timer>,
}

impl BackwardPlan {
    /// The backward pass of `plan` (whose network runs with `weights`). Shader and
    /// validation errors surface here.
    /// Convolutions run back on the forward pass's fast kernels (`transposed.rs`) where
    /// they fit.
    pub async fn new(
        ctx: &GpuContext,
        plan: &Plan,
        weights: &Weights,
    ) -> Result<BackwardPlan, GpuError> {
        Self::with(ctx, plan, weights, true).await
    }

    /// Every convolution on backward_conv.wgsl, the one-invocation-per-input gather (tests
    /// check it on the shapes the fast path takes from it).
    pub async fn gathered(
        ctx: &GpuContext,
        plan: &Plan,
        weights: &Weights,
    ) -> Result<BackwardPlan, GpuError> {
        Self::with(ctx, plan, weights, false).await
    }

    async fn with(
        ctx: &GpuContext,
        plan: &Plan,
        weights: &Weights,
        fast: bool,
    ) -> Result<BackwardPlan, GpuError> {
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = Self::build(ctx, plan, weights, fast);
        match (result, scope.pop().await) {
            (Ok(b), None) => Ok(b),
            (Err(e), _) => Err(e),
            (Ok(_), Some(e)) => Err(GpuError::Validation(e.to_string())),
        }
    }

    fn build(
        ctx: &GpuContext,
        plan: &Plan,
        weights: &Weights,
        fast: bool,
    ) -> Result<BackwardPlan, GpuError> {
        let (net, shapes) = (&plan.net, &plan.shapes);
        let limit = ctx.max_binding_bytes();
        let empty = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("absent input"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let l = Lowering {
            ctx,
            weights,
            limit,
            empty: &empty,
            scratch: None,
            x_texture: None,
        };
        let folds = Folds::new(net, weights);
        let folded_l = Lowering {
            weights: &folds.weights,
            ..l
        };
        let convs = FastConvs::new(ctx, plan, weights, &folds, fast);
        let fast_l = Lowering {
            ctx,
            weights: &convs.weights,
            limit,
            empty: &empty,
            scratch: convs.shared.scratch.as_ref(),
            x_texture: convs.shared.x_texture.as_ref().map(|(t, v)| (t, v)),
        };
        let fast_folded_l = Lowering {
            weights: &convs.folded,
            ..fast_l
        };
        let grads = gradient_buffers(ctx, plan, limit)?;
        let mut edges = Vec::with_capacity(net.nodes.len());
        let mut folded_edges = Vec::with_capacity(net.nodes.len());
        for (id, node) in net.nodes.iter().enumerate() {
            let inputs: Vec<&wgpu::Buffer> = node.inputs.iter().map(|&i| plan.buffer(i)).collect();
            let dx: Vec<&wgpu::Buffer> = node.inputs.iter().map(|&i| &grads[i]).collect();
            let in_shapes: Vec<_> = node.inputs.iter().map(|&i| shapes[i]).collect();
            let io = |dy| BackIo {
                name: &node.name,
                inputs: &inputs,
                in_shapes: &in_shapes,
                output: plan.buffer(id),
                out_shape: shapes[id],
                dy,
                dx: &dx,
            };
            let edge = |io: &BackIo, gather: &Lowering, fast: &Lowering| match (
                &convs.specs[id],
                &node.layer,
            ) {
                (Some((t, kernel)), Layer::Conv2d(c)) => {
                    let (up, spill) = (&convs.up, &convs.spill);
                    Ok(vec![t.edge(fast, &l, io, c, *kernel, up, spill)?])
                }
                _ => lower::node(gather, &node.layer, io),
            };
            edges.push(edge(&io(&grads[id]), &l, &fast_l)?);
            // A folded convolution also runs back from its BatchNorm's output gradient.
            folded_edges.push(match folds.bn_of[id] {
                Some(bn) => Some(edge(&io(&grads[bn]), &folded_l, &fast_folded_l)?),
                None => None,
            });
        }
        let n = net.nodes.len();
        Ok(BackwardPlan {
            grads,
            edges,
            folded_edges,
            forward_reads: forward_reads(net),
            written: vec![false; n],
            ran: vec![false; n],
            folds,
            skipped: vec![false; n],
            timer: Timer::new(ctx, n),
        })
    }

    /// Pass `seed_grad` (d/d output of node `seed`, laid out as that output: for a class
    /// score, one-hot on the logits) back through the last forward pass of `plan`, in
    /// `mode`, down to node `stop` (0: the input; a node's gradient is complete once the
    /// pass is past it). Returns once the work is submitted; reads wait for it.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        plan: &Plan,
        seed: NodeId,
        seed_grad: &[f32],
        mode: Mode,
        stop: NodeId,
    ) -> Result<(), GpuError> {
        let net = &plan.net;
        let Some(shape) = plan.shapes.get(seed) else {
            return Err(GpuError::Unsupported {
                node: format!("#{seed}"),
                reason: format!("the network has {} nodes", net.nodes.len()),
            });
        };
        if seed_grad.len() != shape.len() {
            return Err(GpuError::GradientLength {
                node: net.nodes[seed].name.clone(),
                expected: shape.len(),
                found: seed_grad.len(),
            });
        }
        plan.materialize(ctx, &self.forward_reads);
        ctx.queue
            .write_buffer(&self.grads[seed], 0, bytemuck::cast_slice(seed_grad));
        let reached = reached(plan, seed, stop);
        self.written.fill(false);
        self.ran.fill(false);
        self.skipped.fill(false);
        self.written[seed] = true;
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("backward"),
            });
        for id in (stop + 1..=seed).rev().filter(|&id| reached[id]) {
            let node = &net.nodes[id];
            // The convolution below runs back through this BatchNorm on scaled weights.
            if let Some(conv) = self.folds.conv_of[id].filter(|&c| c > stop) {
                self.written[conv] = true;
                self.skipped[conv] = true;
                continue;
            }
            let mut dispatches = Vec::new();
            let edges = match &self.folded_edges[id] {
                Some(folded) if self.skipped[id] => folded,
                _ => &self.edges[id],
            };
            for (edge, &input) in edges.iter().zip(&node.inputs) {
                dispatches.extend(edge.pick(mode, self.written[input]));
                self.written[input] = true;
            }
            if dispatches.is_empty() {
                continue;
            }
            self.ran[id] = true;
            let timestamps = self.timer.as_ref().and_then(|t| t.slots(id));
            encode(&mut encoder, &node.name, dispatches.into_iter(), timestamps);
        }
        if let Some(t) = &self.timer {
            t.resolve(&mut encoder);
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// The gradients at `ids` after the last pass, shaped as the nodes' outputs, in one
    /// copy and one map; `None` for a node the pass did not reach.
    pub async fn read_many(
        &self,
        ctx: &GpuContext,
        plan: &Plan,
        ids: &[NodeId],
    ) -> Result<Vec<Option<Tensor>>, GpuError> {
        self.fill_skipped(ctx, ids);
        let wanted: Vec<NodeId> = ids.iter().copied().filter(|&id| self.written[id]).collect();
        let parts: Vec<(&wgpu::Buffer, u64)> = wanted
            .iter()
            .map(|&id| (&self.grads[id], plan.shapes[id].len() as u64 * 4))
            .collect();
        let mut data = read_f32_many(ctx, &parts).await?.into_iter();
        Ok(ids
            .iter()
            .map(|&id| {
                let s = plan.shapes[id];
                self.written[id].then(|| {
                    let values = data.next().expect("one read per written gradient");
                    Tensor::new(vec![s.c, s.h, s.w], values)
                })
            })
            .collect())
    }

    /// Run the folded BatchNorms' own dispatches where the last pass skipped the gradient of
    /// one of `ids` (a convolution's output gradient).
    fn fill_skipped(&self, ctx: &GpuContext, ids: &[NodeId]) {
        let dispatches: Vec<_> = (ids.iter())
            .filter(|&&id| self.skipped[id])
            .filter_map(|&id| self.folds.bn_of[id])
            .flat_map(|bn| self.edges[bn][0].pick(Mode::Gradient, false))
            .collect();
        if dispatches.is_empty() {
            return;
        }
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("folded BatchNorm gradients"),
            });
        encode(
            &mut encoder,
            "folded BatchNorm",
            dispatches.into_iter(),
            None,
        );
        ctx.queue.submit([encoder.finish()]);
    }

    /// The gradient at node `id` after the last pass (`None`: not reached).
    pub async fn read(
        &self,
        ctx: &GpuContext,
        plan: &Plan,
        id: NodeId,
    ) -> Result<Option<Tensor>, GpuError> {
        Ok(self.read_many(ctx, plan, &[id]).await?.pop().flatten())
    }

    /// The convolution whose backward BatchNorm `id` is folded into (its own pass skipped
    /// but where the pass stops at that convolution), if any.
    pub fn folded_into(&self, id: NodeId) -> Option<NodeId> {
        self.folds.conv_of.get(id).copied().flatten()
    }

    /// Milliseconds each node's backward took in the last pass (0 for nodes it did not run
    /// back through), or `None` when the adapter has no timestamp queries.
    pub async fn node_times_ms(&self, ctx: &GpuContext) -> Result<Option<Vec<f64>>, GpuError> {
        let Some(t) = &self.timer else {
            return Ok(None);
        };
        let ran = |id: NodeId| self.ran[id];
        Ok(Some(t.node_ms(ctx, self.ran.len(), ran).await?))
    }
}

/// The nodes whose forward output the backward kernels read: an activation's (and
/// softmax's) own output, the input of max pooling, LRN and RBF.
fn forward_reads(net: &Network) -> Vec<NodeId> {
    let mut reads = Vec::new();
    for (id, node) in net.nodes.iter().enumerate() {
        match node.layer {
            Layer::Activation(_) | Layer::Softmax => reads.push(id),
            Layer::MaxPool2d(_) | Layer::Lrn(_) | Layer::Rbf(_) => reads.push(node.inputs[0]),
            _ => {}
        }
    }
    reads
}

/// One gradient buffer per node, laid out as its output (a multiple of 16 bytes).
fn gradient_buffers(
    ctx: &GpuContext,
    plan: &Plan,
    limit: u64,
) -> Result<Vec<wgpu::Buffer>, GpuError> {
    let mut grads = Vec::with_capacity(plan.net.nodes.len());
    for (node, shape) in plan.net.nodes.iter().zip(&plan.shapes) {
        let bytes = (shape.len() as u64 * 4).max(4).div_ceil(16) * 16;
        if bytes > limit {
            return Err(GpuError::TooLarge {
                tensor: format!("gradient of `{}` ({shape})", node.name),
                bytes,
                limit,
            });
        }
        grads.push(ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&format!("d/d {}", node.name)),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    Ok(grads)
}

/// The nodes the seed depends on, down to `stop` (exclusive of what lies below it).
fn reached(plan: &Plan, seed: NodeId, stop: NodeId) -> Vec<bool> {
    let mut reached = vec![false; plan.net.nodes.len()];
    reached[seed] = true;
    for id in (stop + 1..=seed).rev() {
        if reached[id] {
            for &i in &plan.net.nodes[id].inputs {
                reached[i] = true;
            }
        }
    }
    reached
}
