//! `bench`: the GPU engine's speed on one model, tiled kernels against the naive baseline,
//! measured in one run on this machine's adapter.

use super::{model_and_weights, parse_size, si, CliError};
use convscope::analysis::{analyze, flops};
use convscope::gpu::{ConvPath, GpuContext, Plan, PlanOptions};
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use serde::Serialize;
use std::time::Instant;

#[derive(Serialize)]
struct NodeTime {
    name: String,
    kind: &'static str,
    /// Mean GPU time over the steady runs (timestamp queries), tiled path.
    ms: f64,
    /// The same node with the naive convolution kernel, every node a kernel of its own.
    naive_ms: f64,
    /// On the tiled path, the convolution whose kernel computes this node (a folded
    /// BatchNorm or fused activation); this node's time is counted there.
    fused_into: Option<String>,
    macs: u64,
    /// Achieved GFLOP/s (2 x MACs / time) on the tiled path.
    gflops: f64,
}

#[derive(Serialize)]
struct Report {
    adapter: String,
    model: String,
    input: [usize; 3],
    runs: usize,
    timestamps: bool,
    /// Plan (weights upload, pipeline compilation) plus the first pass, wall clock.
    first_pass_ms: f64,
    /// Mean wall-clock time of a steady pass, tiled kernels.
    total_ms: f64,
    /// Mean wall-clock time of a steady pass, naive convolution kernel.
    naive_total_ms: f64,
    /// GPU time of the convolution nodes, tiled and naive, and their ratio. The tiled time
    /// includes the BatchNorms and activations fused into the convolutions; the naive time
    /// is the convolution kernels alone.
    conv_ms: f64,
    naive_conv_ms: f64,
    conv_speedup: f64,
    total_macs: u64,
    nodes: Vec<NodeTime>,
}

struct Timed {
    first_pass_ms: f64,
    mean_ms: f64,
    node_ms: Option<Vec<f64>>,
    fused_into: Vec<Option<usize>>,
}

fn time_path(
    ctx: &GpuContext,
    plan_args: (&convscope::model::Network, &Weights, usize, usize),
    input: &Tensor,
    conv: ConvPath,
    runs: usize,
) -> Result<Timed, CliError> {
    let (net, weights, h, w) = plan_args;
    let start = Instant::now();
    let options = PlanOptions {
        conv,
        ..Default::default()
    };
    let plan = pollster::block_on(Plan::new(ctx, net, weights, h, w, options))?;
    plan.forward(ctx, input)?;
    pollster::block_on(plan.finish(ctx))?;
    let first_pass_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut sums: Option<Vec<f64>> = None;
    let mut wall = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        plan.forward(ctx, input)?;
        pollster::block_on(plan.finish(ctx))?;
        wall += t.elapsed().as_secs_f64() * 1e3;
        if let Some(times) = pollster::block_on(plan.node_times_ms(ctx))? {
            let acc = sums.get_or_insert_with(|| vec![0.0; times.len()]);
            acc.iter_mut().zip(&times).for_each(|(a, t)| *a += t);
        }
    }
    let node_ms = sums.map(|s| s.into_iter().map(|t| t / runs as f64).collect());
    Ok(Timed {
        first_pass_ms,
        mean_ms: wall / runs as f64,
        node_ms,
        fused_into: (0..net.nodes.len()).map(|id| plan.fused_into(id)).collect(),
    })
}

pub fn bench(name: &str, input: Option<&str>, runs: usize, json: bool) -> Result<(), CliError> {
    // An ONNX file's own weights, or the zoo's seeded, calibrated random weights.
    let (net, weights) = model_and_weights(name)?;
    let (h, w) = match input {
        Some(s) => parse_size(s)?,
        None => net.default_input,
    };
    let runs = runs.max(1);
    let analysis = analyze(&net, h, w)?;
    let ctx = pollster::block_on(GpuContext::new())?;
    let image = Tensor::new(
        vec![net.input_channels(), h, w],
        (0..net.input_channels() * h * w)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0)
            .collect(),
    );
    let tiled = time_path(&ctx, (&net, &weights, h, w), &image, ConvPath::Tiled, runs)?;
    let naive = time_path(&ctx, (&net, &weights, h, w), &image, ConvPath::Naive, runs)?;
    let zeros = vec![0.0; net.nodes.len()];
    let tiled_ms = tiled.node_ms.clone().unwrap_or_else(|| zeros.clone());
    let naive_ms = naive.node_ms.clone().unwrap_or(zeros);
    let nodes: Vec<NodeTime> = analysis
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeTime {
            name: n.name.clone(),
            kind: n.kind,
            ms: tiled_ms[i],
            naive_ms: naive_ms[i],
            fused_into: tiled.fused_into[i].map(|c| net.nodes[c].name.clone()),
            macs: n.macs,
            gflops: if tiled_ms[i] > 0.0 {
                flops(n.macs) as f64 / (tiled_ms[i] * 1e6)
            } else {
                0.0
            },
        })
        .collect();
    let is_conv = |n: &&NodeTime| n.kind.starts_with("conv");
    let conv_ms: f64 = nodes.iter().filter(is_conv).map(|n| n.ms).sum();
    let naive_conv_ms: f64 = nodes.iter().filter(is_conv).map(|n| n.naive_ms).sum();
    let report = Report {
        adapter: ctx.describe(),
        model: net.name.clone(),
        input: [analysis.input.c, h, w],
        runs,
        timestamps: tiled.node_ms.is_some(),
        first_pass_ms: tiled.first_pass_ms,
        total_ms: tiled.mean_ms,
        naive_total_ms: naive.mean_ms,
        conv_ms,
        naive_conv_ms,
        conv_speedup: if conv_ms > 0.0 {
            naive_conv_ms / conv_ms
        } else {
            0.0
        },
        total_macs: analysis.totals.macs,
        nodes,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data serialises")
        );
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

/// The report as a table, with the totals below it.
fn print_report(report: &Report) {
    let [_, h, w] = report.input;
    let runs = report.runs;
    println!("adapter      {}", report.adapter);
    println!(
        "model        {} at {}x{}, random weights, {} steady runs",
        report.model, h, w, runs
    );
    if !report.timestamps {
        println!(
            "note         this adapter has no timestamp queries: per-node times are not available"
        );
    }
    println!(
        "{:<34} {:<15} {:>10} {:>10} {:>10} {:>9}",
        "node", "kind", "ms", "naive ms", "MACs", "GFLOP/s"
    );
    for n in report
        .nodes
        .iter()
        .filter(|n| n.ms > 0.0 || n.naive_ms > 0.0)
    {
        let ms = match &n.fused_into {
            Some(_) => format!("{:>10}", "fused"),
            None => format!("{:>10.3}", n.ms),
        };
        println!(
            "{:<34} {:<15} {ms} {:>10.3} {:>10} {:>9.2}",
            n.name,
            n.kind,
            n.naive_ms,
            si(n.macs),
            n.gflops
        );
    }
    println!();
    println!(
        "first pass   {:.1} ms (plan, upload and pipeline compilation included)",
        report.first_pass_ms
    );
    println!(
        "steady pass  {:.1} ms tiled, {:.1} ms naive (wall clock, mean)",
        report.total_ms, report.naive_total_ms
    );
    println!(
        "convolutions {:.1} ms tiled, {:.1} ms naive: {:.1}x (GPU time; tiled includes the \
         BatchNorms and activations fused into them)",
        report.conv_ms, report.naive_conv_ms, report.conv_speedup
    );
    println!(
        "throughput   {:.2} GFLOP/s over the pass ({} FLOPs = 2 x MACs)",
        flops(report.total_macs) as f64 / (report.total_ms * 1e6),
        si(flops(report.total_macs))
    );
}
