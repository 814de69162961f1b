//! `lab --families`: the five families at Fashion-MNIST scale and the ResNet's plain twin,
//! with their costs (analysis module), recorded accuracy, training time and curves (run
//! records), and the inference time per image measured in this run on the fast CPU engine and
//! on the GPU adapter of this machine.

use super::lab::record;
use super::CliError;
use convscope::gpu::GpuContext;
use convscope::lab::{family_rows, time_families, BlockTime, FamiliesReport, FAMILIES};
use std::time::Instant;

/// Timed samples per family and engine (the median is reported).
const RUNS: usize = 20;

fn percent(x: Option<f32>) -> String {
    x.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

fn ms(t: &Option<BlockTime>) -> String {
    t.as_ref()
        .map_or("unavailable".into(), |t| format!("{:.3} ms", t.ms))
}

/// Every family's row, timed on this machine.
pub fn families_report() -> Result<FamiliesReport, CliError> {
    let records = FAMILIES
        .iter()
        .map(|f| record(f.model))
        .collect::<Result<Vec<_>, _>>()?;
    let mut families = family_rows(&records).map_err(|e| CliError::Train(e.to_string()))?;
    let ctx = pollster::block_on(GpuContext::new());
    let gpu_adapter = match &ctx {
        Ok(ctx) => ctx.describe(),
        Err(e) => format!("unavailable ({e})"),
    };
    let start = Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    pollster::block_on(time_families(&mut families, ctx.as_ref().ok(), RUNS, &now))
        .map_err(|e| CliError::Train(e.to_string()))?;
    Ok(FamiliesReport {
        gpu_adapter,
        families,
    })
}

pub fn lab_families_command(json: bool) -> Result<(), CliError> {
    let report = families_report()?;
    if json {
        let text = serde_json::to_string_pretty(&report).expect("plain data");
        println!("{text}");
        return Ok(());
    }
    println!("Five families on Fashion-MNIST (28x28), and the ResNet's plain twin");
    println!(
        "{:<17} {:<11} {:>8} {:>10} {:>9} {:>8} {:>12} {:>12}",
        "model", "family", "params", "MACs", "test acc", "trained", "CPU / image", "GPU / image"
    );
    for r in &report.families {
        let trained = r.train_seconds.map_or("-".into(), |s| format!("{s:.0} s"));
        println!(
            "{:<17} {:<11} {:>8} {:>10} {:>9} {:>8} {:>12} {:>12}",
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
        "CPU: the fast CPU engine; GPU: {}; each the median of {RUNS} samples",
        report.gpu_adapter
    );
    println!("Curves, train error / test error after each epoch:");
    for r in &report.families {
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
