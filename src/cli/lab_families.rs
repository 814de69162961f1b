//! `lab --families`: the five families at Fashion-MNIST scale and the ResNet's plain twin,
//! with their costs (analysis module), recorded accuracy, training time and curves (run
//! records), and the inference time per image measured in this run on the fast CPU engine and
//! on the GPU adapter of this machine.

use super::lab::record;
use super::CliError;
use convscope::gpu::GpuContext;
use convscope::lab::{family_row, time_block, time_fast_cpu, FamilyRow, FAMILIES};
use serde::Serialize;
use std::time::Instant;

/// Timed passes per family and engine (the median is reported).
const RUNS: usize = 20;

#[derive(Serialize)]
struct FamiliesOut {
    /// The adapter that timed the GPU column, or why there is none.
    gpu_adapter: String,
    families: Vec<FamilyRow>,
}

fn percent(x: Option<f32>) -> String {
    x.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

fn ms(t: &Option<convscope::lab::BlockTime>) -> String {
    t.as_ref()
        .map_or("unavailable".into(), |t| format!("{:.3} ms", t.ms))
}

/// Every family's row, timed on this machine.
fn rows() -> Result<(Vec<FamilyRow>, String), CliError> {
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    let ctx = pollster::block_on(GpuContext::new());
    let adapter = match &ctx {
        Ok(ctx) => ctx.describe(),
        Err(e) => format!("unavailable ({e})"),
    };
    let mut rows = Vec::new();
    for f in FAMILIES {
        let rec = record(f.model)?;
        let mut row =
            family_row(f.model, rec.as_ref()).map_err(|e| CliError::Train(e.to_string()))?;
        let net = super::model(f.model)?;
        let (h, w) = net.default_input;
        row.cpu =
            Some(time_fast_cpu(&net, h, w, RUNS, &now).map_err(|e| CliError::Fast(Box::new(e)))?);
        if let Ok(ctx) = &ctx {
            row.gpu = Some(pollster::block_on(time_block(ctx, &net, h, w, RUNS, &now))?);
        }
        rows.push(row);
    }
    Ok((rows, adapter))
}

pub fn lab_families_command(json: bool) -> Result<(), CliError> {
    let (families, gpu_adapter) = rows()?;
    if json {
        let out = FamiliesOut {
            gpu_adapter,
            families,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain data")
        );
        return Ok(());
    }
    println!("Five families on Fashion-MNIST (28x28), and the ResNet's plain twin");
    println!(
        "{:<17} {:<11} {:>8} {:>10} {:>9} {:>9} {:>12} {:>12}",
        "model", "family", "params", "MACs", "test acc", "trained", "CPU / image", "GPU / image"
    );
    for r in &families {
        let trained = r.train_seconds.map_or("-".into(), |s| format!("{s:.0} s"));
        println!(
            "{:<17} {:<11} {:>8} {:>10} {:>9} {:>9} {:>12} {:>12}",
            r.model,
            r.family,
            r.params,
            r.macs,
            percent(r.test_accuracy),
            trained,
            ms(&r.cpu),
            ms(&r.gpu)
        );
    }
    println!(
        "CPU: the fast CPU engine, median of {RUNS} passes; GPU: {gpu_adapter}, median of {RUNS}"
    );
    println!("Curves (train error / test error per epoch):");
    for r in &families {
        let points: Vec<String> = r
            .curve
            .iter()
            .map(|p| {
                format!(
                    "{} / {}",
                    percent(Some(p.train_error)),
                    percent(p.test_error)
                )
            })
            .collect();
        println!("  {:<17} {}", r.model, points.join("  "));
    }
    Ok(())
}
