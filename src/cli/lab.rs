//! `lab`: the teaching lab's trained twins and tricks runs, with the costs the analysis
//! module gives, the accuracies their run records hold, and the first-layer counts.

use super::classify::shipped_weights;
use super::CliError;
use convscope::lab::{sample_inputs, side_report, SideReport, Twin, TRICKS, TWINS};
use convscope::train::{load_fashion_mnist, RunRecord, FASHION_MNIST_DIR};
use convscope::weights::load_safetensors;
use serde::Serialize;

/// Images of the Fashion-MNIST test set the first-layer responses are measured on: the
/// first 100, the same ones the page shows (`convscope prepare --fashion`).
pub const SAMPLE_IMAGES: usize = 100;

/// The record beside `name`'s shipped weights, if it was trained here.
pub fn record(name: &str) -> Result<Option<RunRecord>, CliError> {
    let path = RunRecord::path_for(&shipped_weights(name));
    match std::fs::read_to_string(&path) {
        Ok(text) => RunRecord::from_json(&text)
            .map(Some)
            .map_err(|e| CliError::Io(path.display().to_string(), e.to_string())),
        Err(_) => Ok(None),
    }
}

/// `name`'s report with its shipped weights and record, first layer measured on `pixels`.
pub fn report(name: &str, pixels: &[u8]) -> Result<SideReport, CliError> {
    let net = super::model(name)?;
    let path = shipped_weights(name);
    let weights = match std::fs::read(&path) {
        Ok(bytes) => Some(
            load_safetensors(&bytes, &net)
                .map_err(|e| CliError::Weights(path.display().to_string(), e))?,
        ),
        Err(_) => None,
    };
    let images = sample_inputs(&net, pixels, SAMPLE_IMAGES, 28, 28)
        .map_err(|e| CliError::Train(e.to_string()))?;
    side_report(name, record(name)?, weights.as_ref(), &images)
        .map_err(|e| CliError::Train(e.to_string()))
}

#[derive(Serialize)]
struct TwinOut {
    twin: &'static Twin,
    a: SideReport,
    b: SideReport,
}

#[derive(Serialize)]
struct LabOut {
    twins: Vec<TwinOut>,
    tricks: Vec<SideReport>,
}

fn accuracy(side: &SideReport) -> String {
    side.record.as_ref().map_or("not trained".into(), |r| {
        format!("{:.2}%", 100.0 * r.test_accuracy)
    })
}

pub fn lab_command(json: bool) -> Result<(), CliError> {
    let (_, test) = load_fashion_mnist(FASHION_MNIST_DIR)
        .map_err(|e| CliError::Io(FASHION_MNIST_DIR.into(), e.to_string()))?;
    let pixels = &test.images[..SAMPLE_IMAGES * test.rows * test.cols];
    let twins = TWINS
        .iter()
        .map(|t| {
            Ok(TwinOut {
                twin: t,
                a: report(t.a, pixels)?,
                b: report(t.b, pixels)?,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let tricks = TRICKS
        .iter()
        .map(|t| report(t.model, pixels))
        .collect::<Result<Vec<_>, CliError>>()?;
    if json {
        let out = LabOut { twins, tricks };
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("plain data")
        );
        return Ok(());
    }
    for t in &twins {
        println!("{}: {}", t.twin.title, t.twin.lesson);
        for side in [&t.a, &t.b] {
            print!(
                "  {:<20} {:>7} params {:>10} MACs {:>2} ReLUs  test {}",
                side.model,
                side.params,
                side.macs,
                side.nonlinearities,
                accuracy(side)
            );
            match (&side.first_layer, t.twin.count_dead_filters) {
                (Some(f), true) => println!(
                    "  first layer {}x{}/{}: {} of {} filters dead, {} low-contrast (on {} test images)",
                    f.kernel,
                    f.kernel,
                    f.stride,
                    f.dead,
                    f.filters.len(),
                    f.low_contrast,
                    f.images
                ),
                _ => println!(),
            }
        }
    }
    println!("Training tricks (one network, {} runs):", tricks.len());
    for (t, side) in TRICKS.iter().zip(&tricks) {
        println!("  {:<36} test {}", t.label, accuracy(side));
    }
    Ok(())
}
