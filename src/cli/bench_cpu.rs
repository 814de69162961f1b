//! `bench --cpu`: the fast CPU engine's speed on one model, per node and per kind of work,
//! beside one pass of the f64 reference.

use super::{model_and_weights, parse_size, si, CliError};
use convscope::analysis::{analyze, flops, Analysis};
use convscope::cpu;
use convscope::fastcpu::{ConvKernel, FastPlan};
use convscope::model::{Layer, Network};
use convscope::tensor::Tensor;
use std::time::Instant;

/// Above this many multiply-accumulates the reference pass (about 0.5 GMAC/s here) would take
/// over about 20 s, so it is skipped.
const REFERENCE_MAC_LIMIT: u64 = 10_000_000_000;

/// What the bench reports: per node and per kind, mean over the steady runs.
struct Timings {
    plan_ms: f64,
    first_ms: f64,
    mean_ms: f64,
    node_ms: Vec<f64>,
}

/// `bench --cpu` on model `name` at `input` (`HxW`, default the model's), `runs` steady
/// passes; `no_reference` skips the f64 reference's pass.
pub fn bench_cpu(
    name: &str,
    input: Option<&str>,
    runs: usize,
    no_reference: bool,
) -> Result<(), CliError> {
    let runs = runs.max(1);
    // An ONNX file's own weights, or the zoo's seeded, calibrated random weights.
    let (net, weights) = model_and_weights(name)?;
    let (h, w) = match input {
        Some(s) => parse_size(s)?,
        None => net.default_input,
    };
    let analysis = analyze(&net, h, w)?;
    let image = Tensor::new(
        vec![net.input_channels(), h, w],
        (0..net.input_channels() * h * w)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect(),
    );
    let started = Instant::now();
    let mut plan = FastPlan::new(&net, &weights, h, w).map_err(|e| CliError::Fast(Box::new(e)))?;
    let plan_ms = started.elapsed().as_secs_f64() * 1e3;
    let timings = time_passes(&mut plan, &image, runs, plan_ms)?;
    let reference_ms = if no_reference || analysis.totals.macs > REFERENCE_MAC_LIMIT {
        None
    } else {
        let t = Instant::now();
        cpu::forward(&net, &weights, &image)?;
        Some(t.elapsed().as_secs_f64() * 1e3)
    };
    print_nodes(&plan, &analysis, &timings);
    print_kinds(&plan, &analysis, &timings);
    print_totals(&analysis, &timings, reference_ms, runs);
    Ok(())
}

fn time_passes(
    plan: &mut FastPlan,
    image: &Tensor,
    runs: usize,
    plan_ms: f64,
) -> Result<Timings, CliError> {
    let fast = |e| CliError::Fast(Box::new(e));
    let t = Instant::now();
    plan.forward(image).map_err(fast)?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut node_ms = vec![0.0; plan.network().nodes.len()];
    let mut wall = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        plan.forward(image).map_err(fast)?;
        wall += t.elapsed().as_secs_f64() * 1e3;
        for (sum, ms) in node_ms.iter_mut().zip(plan.node_times_ms()) {
            *sum += ms / runs as f64;
        }
    }
    Ok(Timings {
        plan_ms,
        first_ms,
        mean_ms: wall / runs as f64,
        node_ms,
    })
}

/// The kind of work a node is, for the breakdown: the stem (a convolution on the input),
/// 1x1 convolutions, depthwise, other convolutions, dense layers, everything else.
fn work_kind(plan: &FastPlan, net: &Network, id: usize) -> &'static str {
    let node = &net.nodes[id];
    match (&node.layer, plan.conv_kernel(id)) {
        (Layer::Conv2d(_), _) if node.inputs == [Network::INPUT] => "stem conv",
        (_, Some(ConvKernel::Pointwise)) => "1x1 conv",
        (_, Some(ConvKernel::Depthwise)) => "depthwise conv",
        (_, Some(ConvKernel::Im2col)) => "kxk conv (im2col)",
        (Layer::Dense(_), _) => "dense",
        _ => "other",
    }
}

/// GFLOP/s of `macs` multiply-accumulates in `ms`.
fn gflops(macs: u64, ms: f64) -> f64 {
    if ms > 0.0 {
        flops(macs) as f64 / (ms * 1e6)
    } else {
        0.0
    }
}

/// MACs counted with a fused convolution: its own and those of the nodes it absorbs.
fn node_macs(plan: &FastPlan, analysis: &Analysis, id: usize) -> u64 {
    let absorbed: u64 = (0..analysis.nodes.len())
        .filter(|&i| plan.fused_into(i) == Some(id))
        .map(|i| analysis.nodes[i].macs)
        .sum();
    analysis.nodes[id].macs + absorbed
}

fn print_nodes(plan: &FastPlan, analysis: &Analysis, t: &Timings) {
    println!(
        "{:<34} {:<15} {:>10} {:>10} {:>9}",
        "node", "kind", "ms", "MACs", "GFLOP/s"
    );
    for (id, n) in analysis.nodes.iter().enumerate().skip(1) {
        let macs = node_macs(plan, analysis, id);
        match plan.fused_into(id) {
            Some(_) => println!("{:<34} {:<15} {:>10}", n.name, n.kind, "fused"),
            None => println!(
                "{:<34} {:<15} {:>10.3} {:>10} {:>9.2}",
                n.name,
                n.kind,
                t.node_ms[id],
                si(macs),
                gflops(macs, t.node_ms[id])
            ),
        }
    }
    println!();
}

fn print_kinds(plan: &FastPlan, analysis: &Analysis, t: &Timings) {
    let net = plan.network();
    let kinds = [
        "stem conv",
        "1x1 conv",
        "depthwise conv",
        "kxk conv (im2col)",
        "dense",
        "other",
    ];
    println!(
        "{:<20} {:>10} {:>7} {:>10} {:>9}",
        "kind of work", "ms", "share", "MACs", "GFLOP/s"
    );
    let total: f64 = t.node_ms.iter().sum();
    for kind in kinds {
        let ids: Vec<usize> = (1..net.nodes.len())
            .filter(|&id| plan.fused_into(id).is_none() && work_kind(plan, net, id) == kind)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let ms: f64 = ids.iter().map(|&id| t.node_ms[id]).sum();
        let macs: u64 = ids.iter().map(|&id| node_macs(plan, analysis, id)).sum();
        println!(
            "{kind:<20} {ms:>10.3} {:>6.1}% {:>10} {:>9.2}",
            100.0 * ms / total.max(1e-9),
            si(macs),
            gflops(macs, ms)
        );
    }
    println!();
}

fn print_totals(analysis: &Analysis, t: &Timings, reference_ms: Option<f64>, runs: usize) {
    let [c, h, w] = [analysis.input.c, analysis.input.h, analysis.input.w];
    println!(
        "model        {} at {c}x{h}x{w}, random weights, fast CPU engine (f32, one thread)",
        analysis.model
    );
    println!(
        "plan         {:.1} ms (weights copied, BatchNorm folded)",
        t.plan_ms
    );
    println!("first pass   {:.1} ms", t.first_ms);
    println!(
        "steady pass  {:.2} ms (wall clock, mean of {runs}), {:.2} GFLOP/s over {} FLOPs",
        t.mean_ms,
        gflops(analysis.totals.macs, t.mean_ms),
        si(flops(analysis.totals.macs))
    );
    match reference_ms {
        Some(ms) => println!(
            "reference    {ms:.1} ms for one pass of the f64 reference: {:.1}x slower",
            ms / t.mean_ms
        ),
        None => println!(
            "reference    skipped (--no-reference, or over {} MACs)",
            si(REFERENCE_MAC_LIMIT)
        ),
    }
}
