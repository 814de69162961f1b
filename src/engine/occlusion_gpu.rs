//! Occlusion sensitivity on the GPU (`gpu::OcclusionPlan`): the unoccluded pass settles the
//! defaults by the CPU path's own rules (`explain::OcclusionGrid`, `watched_node`,
//! `OcclusionMaps::start`), then the grid runs a row of positions per batch, each batch one
//! submission and one readback, with a progress tick between batches. `Engine::occlusion_maps`
//! runs it where the model has a GPU plan, the fast CPU engine where not or where it fails.

use super::{EngineError, Pace};
use crate::explain::{watched_node, OcclusionGrid, OcclusionMaps, OcclusionSettings};
use crate::gpu::{GpuContext, OcclusionPlan, OcclusionSpec, Plan};
use crate::tensor::Tensor;

/// The three maps of occlusion sensitivity of `input` (`[C, H, W]`, preprocessed, the plan's
/// size) on `plan`. A bad request is `EngineError::Explain`, as on the CPU path; a GPU
/// failure `EngineError::Gpu`. The plan's buffers hold the unoccluded pass again afterwards
/// (the page draws feature maps from them).
pub async fn occlusion_on_gpu(
    ctx: &GpuContext,
    plan: &Plan,
    input: &Tensor,
    settings: &OcclusionSettings,
    pace: &mut impl Pace,
) -> Result<OcclusionMaps, EngineError> {
    let (h, w) = (input.shape[1], input.shape[2]);
    let grid = OcclusionGrid::new(settings, h, w)?;
    let net = &plan.net;
    plan.forward(ctx, input)?;
    let node = watched_node(net, &plan.shapes, settings);
    let read = plan.read_many(ctx, &[node, net.output()]).await?;
    let mut maps = OcclusionMaps::start(net, grid, settings, node, &read[0], &read[1].data)?;
    let spec = OcclusionSpec {
        patch: grid.patch,
        stride: grid.stride,
        rows: grid.rows,
        cols: grid.cols,
        class: maps.class,
        node,
        channel: maps.channel,
    };
    let occlusion = OcclusionPlan::new(ctx, plan, input, &spec).await?;
    let total = occlusion.positions();
    // A row of the grid a batch: few readbacks, and progress often enough on a slow adapter.
    let batch = grid.cols;
    let mut first = 0;
    while first < total {
        occlusion.run(ctx, plan, first, batch);
        for values in occlusion.read(ctx, first, batch).await? {
            maps.push(values);
        }
        first += batch;
        pace.tick("occluding", first.min(total) as f64 / total as f64)
            .await;
    }
    plan.forward(ctx, input)?;
    Ok(maps)
}
