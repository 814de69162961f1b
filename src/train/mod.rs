//! Training small networks on Fashion-MNIST, so convscope ships LeNet-5 weights it trained
//! itself: the IDX data reader, a batched forward pass with per-layer backward rules, SGD with
//! momentum and a warm-up + cosine schedule. Images become inputs through
//! [`GreyscaleFrame`](crate::preprocess::GreyscaleFrame), as at inference.
//!
//! Files, in the order data flows: `idx` (files to a [`Dataset`]), `gemm` (matrix products),
//! `conv` (convolutions on them), `activation` (tanh and its kin), `forward` and `backward`
//! (one layer on a batch), `graph` (a network on a batch), `params` (initialisation, saving),
//! `loss` (cross-entropy over the output heads), `optim` (the update rule), `trainer` (the
//! loop), `eval` (accuracy); `head` and `head_io` (transfer learning: a new dense head on a
//! frozen network's features, and its file), `finetune` (the last layers retrained with a head).

mod activation;
mod backward;
mod batch;
mod conv;
mod eval;
mod finetune;
mod forward;
mod gemm;
mod graph;
mod head;
mod head_io;
mod idx;
mod loss;
mod lrn;
mod optim;
mod params;
mod record;
mod trainer;

pub use crate::zoo::{Schedule, TrainConfig};
pub use eval::{evaluate, forward_batch, predict, Accuracy};
pub use finetune::{tail, Tail, TailConfig};
pub use forward::{Batch, Mode};
pub use head::{
    head_network, train_head, Features, Head, HeadConfig, HeadReport, HEAD_NODE, MAX_HEAD_CLASSES,
};
pub use head_io::{HeadError, HEAD_METADATA_KEY};
pub use idx::{
    load_fashion_mnist, parse_idx, read_idx_file, Dataset, IdxArray, IdxError,
    FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
};
pub use optim::{learning_rate, Sgd};
pub use params::{init_weights, save_weights};
pub use record::{Checkpoint, RunRecord};
pub use trainer::{gradients, train, train_with_snapshots, EpochReport, Gradients};

use crate::model::ModelError;
use crate::weights::TensorProblem;
use thiserror::Error;

/// Why a network cannot be trained or evaluated.
#[derive(Debug, Error, PartialEq)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] IdxError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("node `{node}`: training does not support `{kind}` layers")]
    Unsupported { node: String, kind: &'static str },
    #[error("the network reads {found}-channel images; Fashion-MNIST is greyscale (1 channel)")]
    InputChannels { found: usize },
    #[error("the network has {network} outputs but the data set has {dataset} classes")]
    ClassCount { network: usize, dataset: usize },
    /// A tensor a layer owns is missing, misshapen or short of values.
    #[error(transparent)]
    Weights(#[from] TensorProblem),
    #[error("`{model}` has no training recipe in the zoo; convscope trains {}", .trainable.join(", "))]
    NoRecipe {
        model: String,
        trainable: Vec<&'static str>,
    },
    #[error("the data set is empty")]
    EmptyDataset,
    #[error("invalid training configuration: {reason}")]
    BadConfig { reason: String },
    #[error("cannot write safetensors: {reason}")]
    Serialize { reason: String },
    #[error("training diverged: the loss is {loss} at epoch {epoch}, step {step}; lower the learning rate")]
    Diverged {
        epoch: usize,
        step: usize,
        loss: f32,
    },
}

impl TrainConfig {
    /// The settings `model`'s zoo entry records, which its shipped weights were trained
    /// with (`ZooEntry::recipe`).
    pub fn for_model(model: &str) -> Result<Self, TrainError> {
        crate::zoo::entry(model)
            .and_then(|e| e.recipe.clone())
            .ok_or_else(|| TrainError::NoRecipe {
                model: model.into(),
                trainable: crate::zoo::ZOO
                    .iter()
                    .filter(|e| e.recipe.is_some())
                    .map(|e| e.name)
                    .collect(),
            })
    }

    fn check(&self) -> Result<(), TrainError> {
        let bad = |reason: &str| {
            Err(TrainError::BadConfig {
                reason: reason.into(),
            })
        };
        if self.epochs == 0 || self.batch_size == 0 || self.threads == 0 {
            return bad("epochs, batch_size and threads must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("the learning rate must be positive");
        }
        if !(0.0..1.0).contains(&self.momentum) || !(0.0..1.0).contains(&self.label_smoothing) {
            return bad("momentum and label_smoothing must lie in [0, 1)");
        }
        if self.clip_grad_norm.is_some_and(|c| c.is_nan() || c <= 0.0) {
            return bad("clip_grad_norm must be positive");
        }
        if !(self.weight_decay >= 0.0 && self.warmup_epochs >= 0.0) {
            return bad("weight_decay and warmup_epochs must not be negative");
        }
        Ok(())
    }
}
