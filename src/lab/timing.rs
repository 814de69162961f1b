//! Measured GPU time of a small block (the lab's one-large-kernel against 3x3-stack
//! comparison), on whatever adapter runs the page or the tool.

use crate::gpu::{GpuContext, GpuError, Plan, PlanOptions};
use crate::model::Network;
use crate::tensor::Tensor;
use crate::train::init_weights;
use serde::Serialize;

/// How a block's time was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// GPU timestamp queries around each node's pass.
    Timestamps,
    /// Wall time from submission until the queue is idle (adapters without timestamps).
    Wall,
}

/// The median time of one forward pass of a block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockTime {
    pub ms: f64,
    pub runs: usize,
    pub clock: Clock,
}

/// Runs `net` (seeded random weights) on a random `h x w` input once to compile its
/// pipelines, then `runs` times, and returns the median pass time. `now` reads a
/// millisecond clock (the browser and native code have different ones).
pub async fn time_block(
    ctx: &GpuContext,
    net: &Network,
    h: usize,
    w: usize,
    runs: usize,
    now: &dyn Fn() -> f64,
) -> Result<BlockTime, GpuError> {
    let weights = init_weights(net, 1);
    let plan = Plan::new(ctx, net, &weights, h, w, PlanOptions::default()).await?;
    let shape = plan.shapes[Network::INPUT];
    let data = (0..shape.len())
        .map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5)
        .collect();
    let input = Tensor::new(vec![shape.c, shape.h, shape.w], data);
    plan.forward(ctx, &input)?;
    plan.finish(ctx).await?;
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    let mut clock = Clock::Timestamps;
    for _ in 0..runs {
        let start = now();
        plan.forward(ctx, &input)?;
        plan.finish(ctx).await?;
        let wall = now() - start;
        match plan.node_times_ms(ctx).await? {
            Some(nodes) => times.push(nodes.iter().sum()),
            None => {
                clock = Clock::Wall;
                times.push(wall);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(BlockTime {
        ms: times[runs / 2],
        runs,
        clock,
    })
}
