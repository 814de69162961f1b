//! Training small networks on Fashion-MNIST, so convscope ships LeNet-5 weights it trained
//! itself: the IDX data reader, a batched forward pass with per-layer backward rules, SGD with
//! momentum and a warm-up + cosine schedule. Images become inputs through
//! [`GreyscaleFrame`](crate::preprocess::GreyscaleFrame), as at inference.
//!
//! Files, in the order data flows: `idx` (files to a [`Dataset`]), `gemm` (matrix products),
//! `conv` (convolutions on them), `activation` (tanh and its kin), `forward` and `backward`
//! (one layer on a batch), `graph` (a network on a batch), `params` (initialisation, saving),
//! `optim` (the update rule), `trainer` (the loop), `eval` (accuracy).

mod activation;
mod backward;
mod conv;
mod eval;
mod forward;
mod gemm;
mod graph;
mod idx;
mod optim;
mod params;
mod record;
mod trainer;

pub use eval::{evaluate, forward_batch, predict, Accuracy};
pub use forward::{Batch, Mode};
pub use idx::{
    load_fashion_mnist, parse_idx, read_idx_file, Dataset, IdxArray, IdxError,
    FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
};
pub use optim::{learning_rate, Sgd};
pub use params::{init_weights, save_weights};
pub use record::RunRecord;
pub use trainer::{gradients, train, EpochReport, Gradients};

use crate::model::ModelError;
use crate::weights::TensorProblem;
use serde::{Deserialize, Serialize};
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

/// How the learning rate moves during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `warmup_epochs` of linear warm-up, then cosine decay to zero ([`learning_rate`]).
    WarmupCosine,
    /// The peak rate throughout (`warmup_epochs` is ignored).
    Constant,
}

/// Hyper-parameters of one training run. Runs with equal configurations (including
/// `threads`) and data reproduce bit for bit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Peak learning rate, reached at the end of the warm-up.
    pub lr: f32,
    /// SGD momentum. Default 0.9.
    pub momentum: f32,
    /// L2 penalty on convolution and dense weights (not on biases, subsampling coefficients
    /// or BatchNorm parameters).
    pub weight_decay: f32,
    /// Epochs of linear warm-up before the cosine decay (fractions allowed).
    pub warmup_epochs: f32,
    /// Warm-up + cosine (the default) or constant.
    pub schedule: Schedule,
    /// Rescale each batch gradient to at most this global L2 norm (Pascanu et al. 2013).
    /// A guard against one large step saturating every tanh unit, after which training
    /// cannot recover; `None` never rescales.
    pub clip_grad_norm: Option<f32>,
    /// Label smoothing `e`: the target puts `1 - e + e/K` on the label, `e/K` elsewhere.
    pub label_smoothing: f32,
    /// Seeds initialisation, shuffling, mirroring and dropout.
    pub seed: u64,
    /// Each batch is split into this many contiguous shards, one thread each; gradients are
    /// summed in shard order. BatchNorm normalises with per-shard statistics. Part of the
    /// configuration (not the machine's core count) so results do not depend on the machine.
    pub threads: usize,
    /// Mirror each training image left-right with probability 1/2 (Fashion-MNIST's classes
    /// are left-right symmetric).
    pub mirror: bool,
    /// Train LeNet-5's RBF centres. Default false: as in LeCun et al. 1998 they stay fixed;
    /// here they are random +-1 codes drawn from the seed (the paper drew 7x12 bitmaps of
    /// ASCII characters).
    pub train_rbf_centres: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 5e-4,
            warmup_epochs: 1.0,
            schedule: Schedule::WarmupCosine,
            clip_grad_norm: None,
            label_smoothing: 0.0,
            seed: 1,
            threads: 2,
            mirror: true,
            train_rbf_centres: false,
        }
    }
}

impl TrainConfig {
    /// The settings convscope's shipped weights were trained with, or the defaults for a
    /// model without its own.
    ///
    /// `lenet5` underfits rather than overfits (train and test accuracy stay close), so it
    /// trains longer and without mirroring. Its RBF output turns `-distance` logits into a
    /// fixed output layer with weights of magnitude 2-4, so it needs a small learning rate,
    /// and clipping: at lr 0.01 without it, one large step saturated every tanh unit in
    /// epoch 2 and accuracy fell to chance.
    pub fn for_model(name: &str) -> Self {
        match name {
            "lenet5" => TrainConfig {
                epochs: 20,
                lr: 0.01,
                clip_grad_norm: Some(5.0),
                mirror: false,
                ..TrainConfig::default()
            },
            "lenet5_modern" => TrainConfig {
                epochs: 12,
                lr: 0.05,
                ..TrainConfig::default()
            },
            lab if lab.starts_with("lab_") => Self::for_lab(lab),
            _ => TrainConfig::default(),
        }
    }

    /// The teaching lab's runs (`zoo/lab.rs`): 6 epochs at peak rate 0.05 with the default
    /// warm-up + cosine for the twins, so each pair differs only in its network. The tricks
    /// panel's plain run has none of the tricks (constant rate 0.05, no label smoothing); each
    /// other run adds one, and `lab_tricks_all` adds all of them.
    fn for_lab(name: &str) -> Self {
        let lab = TrainConfig {
            epochs: 6,
            lr: 0.05,
            ..TrainConfig::default()
        };
        let plain = TrainConfig {
            schedule: Schedule::Constant,
            warmup_epochs: 0.0,
            ..lab.clone()
        };
        let smoothing = 0.1;
        match name {
            "lab_tricks_plain" | "lab_tricks_batchnorm" | "lab_tricks_dropout" => plain,
            "lab_tricks_smoothing" => TrainConfig {
                label_smoothing: smoothing,
                ..plain
            },
            "lab_tricks_all" => TrainConfig {
                label_smoothing: smoothing,
                ..lab
            },
            _ => lab,
        }
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
