//! `bench --explain` on the GPU: the backward pass (guided backprop of the top class) beside
//! the forward pass on the same plan, per node (GPU timestamps) and in total (wall clock,
//! steady passes after a first one), then the default occlusion grid batched on the same
//! plan, when an adapter is found.

use super::CliError;
use convscope::cpu::backward::Mode;
use convscope::engine::occlusion_gpu::occlusion_on_gpu;
use convscope::engine::Quiet;
use convscope::explain::OcclusionSettings;
use convscope::gpu::{BackwardPlan, GpuContext, Plan, PlanOptions};
use convscope::model::{Network, NodeId};
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use std::time::Instant;

/// Steady passes timed, after the first of each direction.
const RUNS: usize = 3;

/// The GPU's forward and backward times of `net` on `image`, seeded `sign` at class `class`
/// of node `scores`; `Ok(false)` (with a line saying why) when there is no adapter.
pub fn gpu_backward_times(
    net: &Network,
    weights: &Weights,
    image: &Tensor,
    scores: NodeId,
    class: usize,
    sign: f32,
) -> Result<bool, CliError> {
    let ctx = match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => ctx,
        Err(e) => {
            println!("GPU: not timed ({e})");
            return Ok(false);
        }
    };
    let (h, w) = (image.shape[1], image.shape[2]);
    let plan = pollster::block_on(Plan::new(&ctx, net, weights, h, w, PlanOptions::default()))?;
    let mut back = pollster::block_on(BackwardPlan::new(&ctx, &plan, weights))?;
    let mut seed = vec![0.0f32; plan.shapes[scores].len()];
    seed[class] = sign;
    let n = net.nodes.len();
    let (mut fwd_nodes, mut bwd_nodes) = (vec![0.0; n], vec![0.0; n]);
    let (mut fwd_ms, mut bwd_ms) = (0.0, 0.0);
    for run in 0..=RUNS {
        let t = Instant::now();
        plan.forward(&ctx, image)?;
        pollster::block_on(plan.finish(&ctx))?;
        let f = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        back.run(&ctx, &plan, scores, &seed, Mode::Guided, 0)?;
        pollster::block_on(plan.finish(&ctx))?;
        let b = t.elapsed().as_secs_f64() * 1e3;
        if run == 0 {
            continue;
        }
        fwd_ms += f / RUNS as f64;
        bwd_ms += b / RUNS as f64;
        let add = |acc: &mut Vec<f64>, times: Option<Vec<f64>>| {
            for (a, t) in acc.iter_mut().zip(times.unwrap_or_default()) {
                *a += t / RUNS as f64;
            }
        };
        add(
            &mut fwd_nodes,
            pollster::block_on(plan.node_times_ms(&ctx))?,
        );
        add(
            &mut bwd_nodes,
            pollster::block_on(back.node_times_ms(&ctx))?,
        );
    }
    print_times(&ctx, &plan, &back, &fwd_nodes, &bwd_nodes, fwd_ms, bwd_ms);
    time_occlusion(&ctx, &plan, image)?;
    Ok(true)
}

/// The per-node table and the totals, forward beside backward.
fn print_times(
    ctx: &GpuContext,
    plan: &Plan,
    back: &BackwardPlan,
    fwd_nodes: &[f64],
    bwd_nodes: &[f64],
    fwd_ms: f64,
    bwd_ms: f64,
) {
    let net = &plan.net;
    println!();
    println!(
        "GPU {}, guided backprop, mean of {RUNS} steady passes",
        ctx.describe()
    );
    println!(
        "{:<34} {:<16} {:>12} {:>12}",
        "node", "kind", "gpu fwd ms", "gpu bwd ms"
    );
    for (id, node) in net.nodes.iter().enumerate() {
        let (f, b) = (fwd_nodes[id], bwd_nodes[id]);
        let fused = plan.fused_into(id).is_some();
        let folded = back.folded_into(id).is_some();
        if f == 0.0 && b == 0.0 && !fused {
            continue;
        }
        let f = if fused {
            "fused".to_string()
        } else {
            format!("{f:.3}")
        };
        let b = if folded {
            "folded".to_string()
        } else {
            format!("{b:.3}")
        };
        println!(
            "{:<34} {:<16} {f:>12} {b:>12}",
            node.name,
            node.layer.kind()
        );
    }
    let (f, b): (f64, f64) = (fwd_nodes.iter().sum(), bwd_nodes.iter().sum());
    println!(
        "GPU time: forward {f:.1} ms, backward {b:.1} ms ({:.2}x)",
        b / f.max(1e-9)
    );
    println!(
        "GPU wall clock: forward {fwd_ms:.1} ms, backward {bwd_ms:.1} ms ({:.2}x)",
        bwd_ms / fwd_ms.max(1e-9)
    );
}

/// The default occlusion grid batched on the GPU over `plan`, timed.
fn time_occlusion(ctx: &GpuContext, plan: &Plan, image: &Tensor) -> Result<(), CliError> {
    let t = Instant::now();
    let settings = OcclusionSettings::default();
    let maps = pollster::block_on(occlusion_on_gpu(ctx, plan, image, &settings, &mut Quiet))?;
    let total = t.elapsed().as_secs_f64() * 1e3;
    let positions = maps.rows * maps.cols;
    println!(
        "occlusion on the GPU: {positions} positions ({}x{}, patch {}, stride {}), a row a batch: {total:.0} ms, {:.1} ms a position",
        maps.rows,
        maps.cols,
        maps.patch,
        maps.stride,
        total / positions as f64
    );
    Ok(())
}
