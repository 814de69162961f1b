//! Occlusion sensitivity (Zeiler & Fergus Fig. 7) batched on the GPU, over a plan's own
//! forward pass: per position, occlude.wgsl writes the input with the patch set to 0 into the
//! plan's input buffer, the plan's dispatches run, and occlusion_reduce.wgsl appends the
//! class's probability, the most probable class and the watched channel's total to a results
//! buffer. Many positions go into one command submission, and a batch is read back once
//! (the running position lives on the GPU, in the results' first word, so nothing is written
//! between positions). The twin is `explain::Occlusion` on the fast CPU engine.
//!
//! Imports `plan` (its buffers and dispatches), `lower` (the builder), `dispatch`, `readback`
//! and the kernel table; nothing imports it but `gpu/mod.rs`.

use super::context::GpuContext;
use super::dispatch::{encode, Dispatch};
use super::error::GpuError;
use super::kernels::{Kernel, Variant};
use super::lower::{grid, Lowering};
use super::params::{OccludeParams, OcclusionReduceParams};
use super::plan::Plan;
use super::readback::read_bytes;
use crate::model::{Network, NodeId, ScoreRule};
use crate::tensor::Tensor;
use crate::weights::Weights;

/// Where the patch goes and what is watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OcclusionSpec {
    /// Side of the square, in input pixels.
    pub patch: usize,
    /// Step between the corners.
    pub stride: usize,
    /// The grid of top-left corners, row-major.
    pub rows: usize,
    pub cols: usize,
    /// The class whose probability is mapped.
    pub class: usize,
    /// The watched node and channel.
    pub node: NodeId,
    pub channel: usize,
}

/// One position's values: the class's probability, the most probable class, the watched
/// channel's total activation.
pub type PositionValues = (f32, usize, f32);

/// The kernels and the results buffer of one occlusion run over one plan and one input.
pub struct OcclusionPlan {
    results: wgpu::Buffer,
    occlude: Dispatch,
    reduce: Dispatch,
    /// The nodes read after each pass (the output and the watched node): filled where the
    /// forward pass's fused kernels skip them.
    read: [NodeId; 2],
    positions: usize,
}

/// The shader's `RULE_*` number of a score rule.
fn rule_code(rule: ScoreRule) -> u32 {
    match rule {
        ScoreRule::Logits => 0,
        ScoreRule::Probabilities => 1,
        ScoreRule::Distances => 2,
    }
}

impl OcclusionPlan {
    /// Occlusion of `input` (`[C, H, W]`, the plan's size) over `plan`. Shader and
    /// validation errors surface here.
    pub async fn new(
        ctx: &GpuContext,
        plan: &Plan,
        input: &Tensor,
        spec: &OcclusionSpec,
    ) -> Result<OcclusionPlan, GpuError> {
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = Self::build(ctx, plan, input, spec);
        let error = scope.pop().await;
        if error.is_some() {
            // A pipeline that failed to build is not kept for the next caller.
            ctx.pipelines
                .lock()
                .expect("pipeline cache poisoned")
                .clear();
        }
        match (result, error) {
            (Ok(o), None) => Ok(o),
            (Err(e), _) => Err(e),
            (Ok(_), Some(e)) => Err(GpuError::Validation(e.to_string())),
        }
    }

    fn check(plan: &Plan, input: &Tensor, spec: &OcclusionSpec) -> Result<(), GpuError> {
        let s = plan.shapes[Network::INPUT];
        if input.shape != [s.c, s.h, s.w] {
            return Err(GpuError::InputShape {
                expected: s.to_string(),
                found: format!("{:?}", input.shape),
            });
        }
        let unsupported = |reason: String| GpuError::Unsupported {
            node: plan.net.name.clone(),
            reason,
        };
        if spec.rows == 0 || spec.cols == 0 || spec.patch == 0 || spec.stride == 0 {
            return Err(unsupported(format!("an empty occlusion grid {spec:?}")));
        }
        let last = |cells: usize| (cells - 1) * spec.stride + spec.patch;
        if last(spec.rows) > s.h || last(spec.cols) > s.w {
            return Err(unsupported(format!(
                "the grid {spec:?} leaves the {s} input"
            )));
        }
        let watched = plan.shapes.get(spec.node).copied();
        if watched.is_none_or(|w| spec.channel >= w.c) {
            return Err(unsupported(format!(
                "no channel {} at node #{}",
                spec.channel, spec.node
            )));
        }
        if spec.class >= plan.shapes[plan.net.output()].len() {
            return Err(unsupported(format!("no class {}", spec.class)));
        }
        Ok(())
    }

    fn build(
        ctx: &GpuContext,
        plan: &Plan,
        input: &Tensor,
        spec: &OcclusionSpec,
    ) -> Result<OcclusionPlan, GpuError> {
        Self::check(plan, input, spec)?;
        let empty = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("absent input"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let weights = Weights::default();
        let l = Lowering {
            ctx,
            weights: &weights,
            limit: ctx.max_binding_bytes(),
            empty: &empty,
            scratch: None,
            x_texture: None,
        };
        let positions = spec.rows * spec.cols;
        let source = l.storage("unoccluded input", bytemuck::cast_slice(&input.data))?;
        let results = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("occlusion results"),
            size: (4 + 4 * positions as u64) * 4,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let s = plan.shapes[Network::INPUT];
        let occlude = l.dispatch(
            "occlude",
            Variant::plain(Kernel::Occlude),
            &[&source, &results],
            plan.buffer(Network::INPUT),
            &OccludeParams {
                c: s.c as u32,
                h: s.h as u32,
                w: s.w as u32,
                side: spec.patch as u32,
                stride: spec.stride as u32,
                cols: spec.cols as u32,
                _pad: [0; 2],
            },
            grid(s.len(), 64),
        );
        let output = plan.net.output();
        let w = plan.shapes[spec.node];
        let reduce = l.dispatch(
            "occlusion reduce",
            Variant::plain(Kernel::OcclusionReduce),
            &[plan.buffer(output), plan.buffer(spec.node)],
            &results,
            &OcclusionReduceParams {
                classes: plan.shapes[output].len() as u32,
                chosen: spec.class as u32,
                rule: rule_code(ScoreRule::of(&plan.net.nodes[output].layer)),
                offset: (spec.channel * w.h * w.w) as u32,
                plane: (w.h * w.w) as u32,
                _pad: [0; 3],
            },
            [1, 1, 1],
        );
        Ok(OcclusionPlan {
            results,
            occlude,
            reduce,
            read: [output, spec.node],
            positions,
        })
    }

    /// The number of positions on the grid.
    pub fn positions(&self) -> usize {
        self.positions
    }

    /// Run positions `first..first + count` (clipped to the grid) of `plan`, the plan this
    /// was made for: each one's occluded input, forward pass and reduction, encoded in one
    /// command buffer and submitted once. Returns once submitted; [`OcclusionPlan::read`]
    /// waits. The plan's buffers then hold the last position's pass.
    pub fn run(&self, ctx: &GpuContext, plan: &Plan, first: usize, count: usize) {
        let end = (first + count).min(self.positions);
        if first >= end {
            return;
        }
        ctx.queue
            .write_buffer(&self.results, 0, bytemuck::bytes_of(&(first as u32)));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("occlusion batch"),
            });
        for _ in first..end {
            encode(
                &mut encoder,
                "occlude",
                std::iter::once(&self.occlude),
                None,
            );
            plan.encode_pass(&mut encoder, &self.read);
            encode(
                &mut encoder,
                "occlusion reduce",
                std::iter::once(&self.reduce),
                None,
            );
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// The values of positions `first..first + count` (clipped to the grid) once their run
    /// is done, in one readback.
    pub async fn read(
        &self,
        ctx: &GpuContext,
        first: usize,
        count: usize,
    ) -> Result<Vec<PositionValues>, GpuError> {
        let end = (first + count).min(self.positions);
        if first >= end {
            return Ok(Vec::new());
        }
        let bytes = read_bytes(ctx, &self.results, (4 + 4 * end as u64) * 4).await?;
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        Ok(words[4 + 4 * first..]
            .chunks_exact(4)
            .map(|v| (f32::from_bits(v[0]), v[1] as usize, f32::from_bits(v[2])))
            .collect())
    }
}
