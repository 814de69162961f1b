//! `models`, `summary` and `compare-kernels`: the analysis, printed.

use super::{model, parse_size, CliError};
use convscope::analysis::{
    analyze, compare_kernels as compare, single_kernel_net, stacked_3x3_net, Analysis, BlockCost,
};
use convscope::gpu::GpuContext;
use convscope::lab::{time_block, BlockTime};
use convscope::zoo::ZOO;
use serde::Serialize;

pub fn models() -> Result<(), CliError> {
    for e in ZOO {
        let net = (e.build)();
        let (h, w) = net.default_input;
        println!(
            "{:<22} {:>12} params  {:>3}x{:<3}  {}",
            e.name,
            group(net.params() as u64),
            h,
            w,
            e.description
        );
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A count with an SI suffix: `15.47 G`.
pub fn si(n: u64) -> String {
    let v = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.2} K", v / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", v / 1e6),
        _ => format!("{:.2} G", v / 1e9),
    }
}

#[derive(Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    kind: &'a str,
    /// The nodes it reads.
    inputs: &'a [String],
    output_shape: [usize; 3],
    params: u64,
    macs: u64,
    flops: u64,
    activation_bytes: u64,
    connections: u64,
    rf_size: i64,
    rf_stride: i64,
    rf_size_hw: [i64; 2],
    rf_stride_hw: [i64; 2],
    rf_start_hw: [i64; 2],
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    model: &'a str,
    input: [usize; 3],
    total_params: u64,
    total_macs: u64,
    total_flops: u64,
    total_activation_bytes: u64,
    total_weight_bytes: u64,
    nodes: Vec<JsonNode<'a>>,
}

fn to_json(a: &Analysis) -> JsonSummary<'_> {
    JsonSummary {
        model: &a.model,
        input: [a.input.c, a.input.h, a.input.w],
        total_params: a.totals.params,
        total_macs: a.totals.macs,
        total_flops: a.totals.flops,
        total_activation_bytes: a.totals.activation_bytes,
        total_weight_bytes: a.totals.weight_bytes,
        nodes: a
            .nodes
            .iter()
            .map(|n| {
                let rf = n.receptive_field;
                JsonNode {
                    name: &n.name,
                    kind: n.kind,
                    inputs: &n.inputs,
                    output_shape: [n.output_shape.c, n.output_shape.h, n.output_shape.w],
                    params: n.params,
                    macs: n.macs,
                    flops: n.flops,
                    activation_bytes: n.activation_bytes,
                    connections: n.connections,
                    rf_size: rf.h.size,
                    rf_stride: rf.h.jump,
                    rf_size_hw: [rf.h.size, rf.w.size],
                    rf_stride_hw: [rf.h.jump, rf.w.jump],
                    rf_start_hw: [rf.h.start, rf.w.start],
                }
            })
            .collect(),
    }
}

fn field(size_h: i64, size_w: i64) -> String {
    if size_h == size_w {
        size_h.to_string()
    } else {
        format!("{size_h}x{size_w}")
    }
}

pub fn summary(name: &str, input: Option<&str>, json: bool) -> Result<(), CliError> {
    let (net, notes) = match super::onnx::is_onnx(name) {
        true => {
            let imported = super::onnx::import_file(name)?;
            (imported.net, imported.notes)
        }
        false => (model(name)?, Vec::new()),
    };
    let (h, w) = match input {
        Some(s) => parse_size(s)?,
        None => net.default_input,
    };
    let a = analyze(&net, h, w)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&a)).expect("plain data serialises")
        );
        return Ok(());
    }
    for note in &notes {
        println!("note: {note}");
    }
    println!("{} on a {} input", a.model, a.input);
    println!(
        "{:<34} {:<15} {:>14} {:>12} {:>10} {:>9} {:>7}",
        "node", "kind", "output", "params", "MACs", "rf size", "rf jump"
    );
    for n in &a.nodes {
        let rf = n.receptive_field;
        println!(
            "{:<34} {:<15} {:>14} {:>12} {:>10} {:>9} {:>7}",
            n.name,
            n.kind,
            n.output_shape.to_string(),
            group(n.params),
            si(n.macs),
            field(rf.h.size, rf.w.size),
            field(rf.h.jump, rf.w.jump),
        );
    }
    let t = &a.totals;
    println!();
    println!(
        "parameters          {} ({} of weights and buffers, f32)",
        group(t.params),
        si(t.weight_bytes) + "B"
    );
    println!(
        "MACs                {} ({}) multiply-accumulates per image",
        group(t.macs),
        si(t.macs)
    );
    println!(
        "FLOPs               {} ({}) = 2 x MACs",
        group(t.flops),
        si(t.flops)
    );
    println!(
        "activation memory   {}B, all nodes kept (f32)",
        si(t.activation_bytes)
    );
    Ok(())
}

#[derive(Serialize)]
struct JsonSide<'a> {
    label: &'a str,
    layers: usize,
    params: u64,
    macs: u64,
    flops: u64,
    nonlinearities: usize,
    rf_size: i64,
}

impl<'a> From<&'a BlockCost> for JsonSide<'a> {
    fn from(b: &'a BlockCost) -> Self {
        JsonSide {
            label: &b.label,
            layers: b.layers,
            params: b.params,
            macs: b.macs,
            flops: b.flops,
            nonlinearities: b.nonlinearities,
            rf_size: b.rf_size,
        }
    }
}

pub fn compare_kernels(
    in_c: usize,
    out_c: usize,
    size: &str,
    k: usize,
    time: bool,
    json: bool,
) -> Result<(), CliError> {
    let (h, w) = parse_size(size)?;
    let c = compare(in_c, out_c, h, w, k)?;
    let gpu = if time {
        Some(time_sides(in_c, out_c, h, w, k)?)
    } else {
        None
    };
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            input: [usize; 3],
            out_channels: usize,
            large: JsonSide<'a>,
            stacked: JsonSide<'a>,
            params_ratio: f64,
            macs_ratio: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            gpu: Option<&'a GpuTimes>,
        }
        let out = Out {
            gpu: gpu.as_ref(),
            input: [in_c, h, w],
            out_channels: out_c,
            large: (&c.a).into(),
            stacked: (&c.b).into(),
            params_ratio: c.params_ratio,
            macs_ratio: c.macs_ratio,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain data serialises")
        );
        return Ok(());
    }
    println!("{in_c} -> {out_c} channels on {h}x{w}, no biases");
    println!(
        "{:<12} {:>7} {:>14} {:>10} {:>16} {:>8}",
        "", "layers", "params", "MACs", "non-linearities", "rf size"
    );
    for b in [&c.a, &c.b] {
        println!(
            "{:<12} {:>7} {:>14} {:>10} {:>16} {:>8}",
            b.label,
            b.layers,
            group(b.params),
            si(b.macs),
            b.nonlinearities,
            b.rf_size
        );
    }
    println!(
        "the single {k}x{k} needs {:.2}x the parameters and {:.2}x the MACs",
        c.params_ratio, c.macs_ratio
    );
    if let Some(t) = gpu {
        println!(
            "measured on {}: one {k}x{k} {:.3} ms, 3x3 stack {:.3} ms (median of {} passes, {:?} clock)",
            t.adapter, t.large.ms, t.stacked.ms, t.large.runs, t.large.clock
        );
    }
    Ok(())
}

/// Both sides' measured GPU time.
#[derive(Serialize)]
pub struct GpuTimes {
    adapter: String,
    large: BlockTime,
    stacked: BlockTime,
}

fn time_sides(
    in_c: usize,
    out_c: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<GpuTimes, CliError> {
    let ctx = pollster::block_on(GpuContext::new())?;
    let start = std::time::Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    let runs = 9;
    let large = pollster::block_on(time_block(
        &ctx,
        &single_kernel_net(in_c, out_c, k),
        h,
        w,
        runs,
        &now,
    ))?;
    let stacked = pollster::block_on(time_block(
        &ctx,
        &stacked_3x3_net(in_c, out_c, k),
        h,
        w,
        runs,
        &now,
    ))?;
    Ok(GpuTimes {
        adapter: ctx.describe().trim().to_string(),
        large,
        stacked,
    })
}
