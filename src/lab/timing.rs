//! Measured time of a small network's forward pass (the lab's one-large-kernel against
//! 3x3-stack comparison, the families panel), on the GPU adapter or the fast CPU engine of
//! whatever device runs the page or the tool.

use crate::fastcpu::{FastError, FastPlan};
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
    let input = timing_input(shape.c, shape.h, shape.w);
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

/// A fixed `c x h x w` input in [-0.5, 0.5): timing does not depend on its values.
fn timing_input(c: usize, h: usize, w: usize) -> Tensor {
    let data = (0..c * h * w)
        .map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5)
        .collect();
    Tensor::new(vec![c, h, w], data)
}

/// Shortest stretch of passes one sample of [`time_fast_cpu`] times, in ms: long enough for a
/// clock that ticks in whole milliseconds (the browser's `Date.now`).
const MIN_SAMPLE_MS: f64 = 5.0;

/// The fast CPU engine's median time for one `h x w` image through `net` (seeded random
/// weights), read with the wall clock `now` (ms): after one warm-up pass, `runs` samples,
/// each the mean of as many passes as fill [`MIN_SAMPLE_MS`] (small networks take well under
/// a millisecond).
pub fn time_fast_cpu(
    net: &Network,
    h: usize,
    w: usize,
    runs: usize,
    now: &dyn Fn() -> f64,
) -> Result<BlockTime, FastError> {
    let weights = init_weights(net, 1);
    let mut plan = FastPlan::new(net, &weights, h, w)?;
    let input = timing_input(net.input_channels(), h, w);
    plan.forward(&input)?;
    let (start, mut passes) = (now(), 0usize);
    while passes < 10_000 && (passes == 0 || now() - start < MIN_SAMPLE_MS) {
        plan.forward(&input)?;
        passes += 1;
    }
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = now();
        for _ in 0..passes {
            plan.forward(&input)?;
        }
        times.push((now() - start) / passes as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok(BlockTime {
        ms: times[runs / 2],
        runs,
        clock: Clock::Wall,
    })
}
