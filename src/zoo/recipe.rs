//! Training recipes: the settings a zoo entry's weights were trained with, stored on the entry
//! (`ZooEntry::recipe`) so that `convscope train` finds them by looking the model up, not by
//! matching its name. The zoo only holds them: the trainer reads them, not the reverse.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// How the learning rate moves during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `warmup_epochs` of linear warm-up, then cosine decay to zero (the trainer's
    /// `learning_rate`).
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
    /// Epochs after which the weights are also saved, as
    /// `<model>.epoch<N>.safetensors` beside the final file (the feature-evolution view reads
    /// them). Empty by default; epochs past `epochs` are ignored.
    #[serde(default)]
    pub checkpoints: Cow<'static, [usize]>,
}

impl TrainConfig {
    /// The defaults a recipe starts from.
    pub const DEFAULT: TrainConfig = TrainConfig {
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
        checkpoints: Cow::Borrowed(&[]),
    };
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig::DEFAULT
    }
}
