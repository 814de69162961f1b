//! `train` and `eval`: the small classic networks on Fashion-MNIST with convscope's own trainer.

use super::classify::shipped_weights;
use super::{model, CliError};
use convscope::train::{
    evaluate, load_fashion_mnist, save_weights, train_with_snapshots, Checkpoint, RunRecord,
    TrainConfig, FASHION_MNIST_DIR,
};
use convscope::weights::load_weights;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `convscope train` that override the model's defaults.
#[derive(Default)]
pub struct TrainOptions {
    pub epochs: Option<usize>,
    pub lr: Option<f32>,
    pub seed: Option<u64>,
    pub label_smoothing: Option<f32>,
    pub out: Option<PathBuf>,
    /// Train on the first N images only (quick runs).
    pub limit: Option<usize>,
    /// Epochs after which to save the weights too (overrides the recipe's).
    pub checkpoints: Option<Vec<usize>>,
}

pub(super) fn data() -> Result<(convscope::train::Dataset, convscope::train::Dataset), CliError> {
    load_fashion_mnist(FASHION_MNIST_DIR).map_err(|e| {
        CliError::Io(
            FASHION_MNIST_DIR.into(),
            format!("{e} (install Debian's dataset-fashion-mnist, or run ./scripts/setup.sh)"),
        )
    })
}

pub fn train_command(name: &str, options: TrainOptions) -> Result<(), CliError> {
    let net = model(name)?;
    let mut cfg = TrainConfig::for_model(name).map_err(|e| CliError::Train(e.to_string()))?;
    if let Some(e) = options.epochs {
        cfg.epochs = e;
    }
    if let Some(lr) = options.lr {
        cfg.lr = lr;
    }
    if let Some(seed) = options.seed {
        cfg.seed = seed;
    }
    if let Some(s) = options.label_smoothing {
        cfg.label_smoothing = s;
    }
    if let Some(c) = options.checkpoints {
        cfg.checkpoints = c.into();
    }
    let (mut train_set, test_set) = data()?;
    if let Some(n) = options.limit {
        train_set = train_set.subset(0..n.min(train_set.len()));
    }
    println!(
        "training {name} on {} images, testing on {}: {cfg:?}",
        train_set.len(),
        test_set.len()
    );
    let out = options.out.unwrap_or_else(|| shipped_weights(name));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Io(dir.display().to_string(), e.to_string()))?;
    }
    let start = Instant::now();
    let mut epochs = Vec::new();
    let mut checkpoints = Vec::new();
    let mut saved = Ok(());
    let weights = train_with_snapshots(&net, &cfg, &train_set, Some(&test_set), |r, w| {
        println!("{r}");
        epochs.push(r.clone());
        if cfg.checkpoints.contains(&r.epoch) && saved.is_ok() {
            let path = RunRecord::checkpoint_path(&out, r.epoch);
            saved = write_weights(&net, w, &path).map(|()| {
                println!("  saved {}", path.display());
                checkpoints.push(Checkpoint {
                    epoch: r.epoch,
                    file: file_name(&path),
                    test_accuracy: r.test_accuracy.unwrap_or(f32::NAN),
                });
            });
        }
    })
    .map_err(|e| CliError::Train(e.to_string()))?;
    saved?;
    let seconds = start.elapsed().as_secs_f32();
    let accuracy =
        evaluate(&net, &weights, &test_set).map_err(|e| CliError::Train(e.to_string()))?;
    write_weights(&net, &weights, &out)?;
    let record = RunRecord {
        model: name.to_string(),
        command: std::iter::once("convscope".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        config: cfg.clone(),
        train_images: train_set.len(),
        test_images: test_set.len(),
        test_accuracy: accuracy.fraction(),
        seconds,
        epochs,
        checkpoints,
    };
    let record_path = RunRecord::path_for(&out);
    std::fs::write(&record_path, record.to_json())
        .map_err(|e| CliError::Io(record_path.display().to_string(), e.to_string()))?;
    println!(
        "{name}: {} epochs in {seconds:.0} s, test accuracy {accuracy}; wrote {} and {}",
        cfg.epochs,
        out.display(),
        record_path.display()
    );
    Ok(())
}

fn write_weights(
    net: &convscope::model::Network,
    weights: &convscope::weights::Weights,
    path: &Path,
) -> Result<(), CliError> {
    let bytes = save_weights(net, weights).map_err(|e| CliError::Train(e.to_string()))?;
    std::fs::write(path, &bytes)
        .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

pub fn eval_command(name: &str, weights: Option<&Path>) -> Result<(), CliError> {
    let net = model(name)?;
    let path = weights.map_or_else(|| shipped_weights(name), Path::to_path_buf);
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))?;
    let (weights, _) =
        load_weights(&bytes, &net).map_err(|e| CliError::Weights(path.display().to_string(), e))?;
    let (_, test_set) = data()?;
    let start = Instant::now();
    let accuracy =
        evaluate(&net, &weights, &test_set).map_err(|e| CliError::Train(e.to_string()))?;
    println!(
        "{name} with {}: Fashion-MNIST test accuracy {accuracy} ({:.1} s)",
        path.display(),
        start.elapsed().as_secs_f32()
    );
    Ok(())
}
