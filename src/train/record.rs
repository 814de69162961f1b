//! The record of a training run, written beside the weights it produced
//! (`<model>.run.json` next to `<model>.safetensors`): the configuration, the curves, the
//! final test accuracy and the command that reproduces it. The page draws the lab's curves
//! from these files and the tests hold the shipped weights to the accuracy recorded here.

use super::{EpochReport, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One finished training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub model: String,
    /// Reproduces the run (from the repository root, after `./scripts/setup.sh`).
    pub command: String,
    pub config: TrainConfig,
    pub train_images: usize,
    pub test_images: usize,
    /// Fraction of the Fashion-MNIST test set the saved weights classify right.
    pub test_accuracy: f32,
    /// Wall time of the whole run, on the machine that made it.
    pub seconds: f32,
    /// One entry per epoch, in order.
    pub epochs: Vec<EpochReport>,
    /// The weights saved after chosen epochs (`TrainConfig::checkpoints`), in order.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
}

/// Weights saved part-way through a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Epochs completed when they were saved.
    pub epoch: usize,
    /// File name, in the directory of the final weights.
    pub file: String,
    /// Fraction of the test set they classify right.
    pub test_accuracy: f32,
}

impl RunRecord {
    /// Where the record of the weights at `weights` lives.
    pub fn path_for(weights: &Path) -> PathBuf {
        weights.with_extension("run.json")
    }

    /// Where the weights after `epoch` of the run saving its final weights at `weights` live.
    pub fn checkpoint_path(weights: &Path, epoch: usize) -> PathBuf {
        weights.with_extension(format!("epoch{epoch}.safetensors"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a run record always serialises")
    }

    pub fn from_json(text: &str) -> Result<RunRecord, serde_json::Error> {
        serde_json::from_str(text)
    }
}
