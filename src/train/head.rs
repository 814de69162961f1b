//! Transfer learning's third way: a new classifier head (dense `features -> K`, softmax) on a
//! frozen network's pooled features, trained in seconds with the trainer's own pieces (the
//! batched Dense forward and backward of `graph`, softmax cross-entropy, [`Sgd`] on the
//! warm-up + cosine schedule).
//!
//! The features are standardised for training (each dimension to zero mean and unit variance
//! over the training set, so one learning rate suits any network's feature scale, random
//! weights included) and the standardisation is folded into the saved dense layer afterwards:
//! `W' = W diag(1/s)`, `b' = b - W' m`. A head is therefore a plain dense layer, and
//! predicting is one matrix-vector product on the raw features.

use super::eval::argmax;
use super::forward::{Batch, Mode};
use super::optim::{learning_rate, Sgd};
use super::trainer::gradients;
use super::{forward_batch, TrainError};
use crate::model::{softmax, Dense, Layer, Network, Shape};
use crate::tensor::Tensor;
use crate::weights::Weights;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
use std::collections::BTreeMap;

/// The head's node name: its tensors are `head.weight` `[K, D]` and `head.bias` `[K]`.
pub const HEAD_NODE: &str = "head";

/// The most classes a head may have (labels travel as bytes in the trainer).
pub const MAX_HEAD_CLASSES: usize = 255;

/// How a head is trained. Defaults: 60 epochs of mini-batches of 32, SGD with momentum 0.9,
/// peak learning rate 0.05 after one warm-up epoch, weight decay 1e-3, seed 0.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// Draws the order of the examples in each epoch; the same seed gives the same head.
    pub seed: u64,
}

impl Default for HeadConfig {
    fn default() -> Self {
        HeadConfig {
            epochs: 60,
            batch_size: 32,
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 1e-3,
            seed: 0,
        }
    }
}

/// Feature vectors of `dim` values each, one after another.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Features {
    pub fn new(dim: usize) -> Self {
        Features {
            dim,
            data: Vec::new(),
        }
    }
    /// How many vectors there are.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Vector `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
    /// Appends one vector (`dim` values).
    pub fn push(&mut self, row: &[f32]) {
        assert_eq!(
            row.len(),
            self.dim,
            "feature vectors have {} values",
            self.dim
        );
        self.data.extend_from_slice(row);
    }
}

/// A trained head: what its classes are called, and its dense layer on the raw features.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub classes: Vec<String>,
    /// Values per feature vector.
    pub features: usize,
    /// What the features are, `model/node` (`efficientnet_lite0/_avg_pooling`).
    pub source: String,
    /// `head.weight` and `head.bias`.
    pub weights: Weights,
}

/// How training went: the mean loss of the last epoch, and the training-set accuracy of the
/// finished head.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HeadReport {
    pub examples: usize,
    pub epochs: usize,
    pub final_loss: f32,
    pub train_accuracy: f32,
}

/// The head as a network: a `D x 1 x 1` input and one dense layer to `classes` scores.
pub fn head_network(features: usize, classes: usize) -> Network {
    let mut net = Network::new("transfer_head", features, (1, 1));
    let head = net.then(HEAD_NODE, Layer::Dense(Dense::new(features, classes)));
    net.outputs = vec![head];
    net
}

/// Per-dimension mean and `1 / sqrt(var + floor)`, where `floor` is 1% of the mean variance:
/// a dimension that barely varies on the training set (a unit saturated on almost every
/// example) is not blown up to unit scale, where the smallest change elsewhere (a retrained
/// layer below, a new image) would swamp every other feature.
pub(super) fn standardisation(x: &Features) -> (Vec<f32>, Vec<f32>) {
    let n = x.len() as f64;
    let mut mean = vec![0.0f64; x.dim];
    let mut sq = vec![0.0f64; x.dim];
    for i in 0..x.len() {
        for (j, &v) in x.row(i).iter().enumerate() {
            mean[j] += v as f64;
            sq[j] += v as f64 * v as f64;
        }
    }
    let var: Vec<f64> = mean
        .iter_mut()
        .zip(&sq)
        .map(|(m, s)| {
            *m /= n;
            (s / n - *m * *m).max(0.0)
        })
        .collect();
    let floor = (0.01 * var.iter().sum::<f64>() / x.dim.max(1) as f64).max(1e-12);
    let inv_std = var
        .iter()
        .map(|v| (1.0 / (v + floor).sqrt()) as f32)
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), inv_std)
}

/// Checks the inputs of [`train_head`].
fn check_examples(x: &Features, labels: &[usize], classes: usize) -> Result<(), TrainError> {
    let bad = |reason: String| Err(TrainError::BadConfig { reason });
    if x.is_empty() {
        return Err(TrainError::EmptyDataset);
    }
    if labels.len() != x.len() {
        return bad(format!(
            "{} labels for {} feature vectors",
            labels.len(),
            x.len()
        ));
    }
    if !(2..=MAX_HEAD_CLASSES).contains(&classes) {
        return bad(format!(
            "a head needs 2 to {MAX_HEAD_CLASSES} classes, not {classes}"
        ));
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= classes) {
        return bad(format!("label {l} is not one of the {classes} classes"));
    }
    if x.data.iter().any(|v| !v.is_finite()) {
        return bad("a feature vector holds a NaN or an infinity".into());
    }
    Ok(())
}

/// Trains a head on `x` (features from `source`, `model/node`) with `labels` (each below
/// `classes.len()`), from zero weights, deterministically for a given `cfg.seed`.
pub fn train_head(
    source: &str,
    x: &Features,
    labels: &[usize],
    classes: Vec<String>,
    cfg: &HeadConfig,
) -> Result<(Head, HeadReport), TrainError> {
    let k = classes.len();
    check_examples(x, labels, k)?;
    if cfg.epochs == 0 || cfg.batch_size == 0 || cfg.lr.is_nan() || cfg.lr <= 0.0 {
        return Err(TrainError::BadConfig {
            reason: "epochs, batch size and learning rate must be positive".into(),
        });
    }
    let (mean, inv_std) = standardisation(x);
    let standard: Vec<f32> = x
        .data
        .chunks_exact(x.dim)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .zip(&inv_std)
                .map(|((v, m), s)| (v - m) * s)
        })
        .collect();
    let net = head_network(x.dim, k);
    let mut weights = zero_head(x.dim, k);
    let updates = BTreeMap::from([
        (format!("{HEAD_NODE}.weight"), true),
        (format!("{HEAD_NODE}.bias"), false),
    ]);
    let mut sgd = Sgd::new(cfg.momentum, cfg.weight_decay, updates);
    let mut order: Vec<usize> = (0..x.len()).collect();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let steps_per_epoch = x.len().div_ceil(cfg.batch_size);
    let total = cfg.epochs * steps_per_epoch;
    let (mut step, mut final_loss) = (0, 0.0);
    for _ in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for chunk in order.chunks(cfg.batch_size) {
            let mut batch = Batch::zeros(chunk.len(), Shape::new(x.dim, 1, 1));
            for (b, &i) in chunk.iter().enumerate() {
                batch.data[b * x.dim..(b + 1) * x.dim]
                    .copy_from_slice(&standard[i * x.dim..(i + 1) * x.dim]);
            }
            let ys: Vec<u8> = chunk.iter().map(|&i| labels[i] as u8).collect();
            let g = gradients(&net, &weights, &batch, &ys, Mode::Eval, 0.0)?;
            loss_sum += g.loss * chunk.len() as f64;
            let lr = learning_rate(step, total, steps_per_epoch, cfg.lr);
            sgd.step(&mut weights, &g.params, lr);
            step += 1;
        }
        final_loss = (loss_sum / x.len() as f64) as f32;
        if !final_loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch: cfg.epochs,
                step,
                loss: final_loss,
            });
        }
    }
    let head = Head {
        classes,
        features: x.dim,
        source: source.into(),
        weights: fold(&weights, &mean, &inv_std, k),
    };
    let predicted = head.predict_all(x)?;
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    let report = HeadReport {
        examples: x.len(),
        epochs: cfg.epochs,
        final_loss,
        train_accuracy: correct as f32 / x.len() as f32,
    };
    Ok((head, report))
}

/// Zero `head.weight` `[k, dim]` and `head.bias` `[k]`.
pub fn zero_head(dim: usize, k: usize) -> Weights {
    let tensors = BTreeMap::from([
        (format!("{HEAD_NODE}.weight"), Tensor::zeros(vec![k, dim])),
        (format!("{HEAD_NODE}.bias"), Tensor::zeros(vec![k])),
    ]);
    Weights { tensors }
}

/// The head on standardised features as a head on raw ones: `W' = W diag(s)`,
/// `b' = b - W' m` (with `s = 1 / std`).
fn fold(w: &Weights, mean: &[f32], inv_std: &[f32], k: usize) -> Weights {
    let (weight, bias) = (w.get(HEAD_NODE, "weight"), w.get(HEAD_NODE, "bias"));
    let dim = mean.len();
    let mut folded = zero_head(dim, k);
    let mut new_bias = bias.data.clone();
    {
        let fw = &mut folded
            .tensors
            .get_mut(&format!("{HEAD_NODE}.weight"))
            .unwrap()
            .data;
        for c in 0..k {
            let mut shift = 0.0f64;
            for j in 0..dim {
                let v = weight.data[c * dim + j] * inv_std[j];
                fw[c * dim + j] = v;
                shift += v as f64 * mean[j] as f64;
            }
            new_bias[c] -= shift as f32;
        }
    }
    folded
        .tensors
        .insert(format!("{HEAD_NODE}.bias"), Tensor::new(vec![k], new_bias));
    folded
}

impl Head {
    /// The network this head is.
    pub fn network(&self) -> Network {
        head_network(self.features, self.classes.len())
    }

    /// The scores (logits) of each of `x`'s vectors, `K` a vector, through the trainer's
    /// batched Dense forward pass.
    pub fn scores_all(&self, x: &Features) -> Result<Vec<f32>, TrainError> {
        if x.dim != self.features {
            return Err(TrainError::BadConfig {
                reason: format!(
                    "the head reads {} features, these vectors have {}",
                    self.features, x.dim
                ),
            });
        }
        let batch = Batch {
            n: x.len(),
            shape: Shape::new(x.dim, 1, 1),
            data: x.data.clone(),
        };
        let net = self.network();
        let outputs = forward_batch(&net, &self.weights, &batch, Mode::Eval)?;
        Ok(outputs[net.output()].data.clone())
    }

    /// The predicted class of each of `x`'s vectors (the first on ties).
    pub fn predict_all(&self, x: &Features) -> Result<Vec<usize>, TrainError> {
        let k = self.classes.len();
        let scores = self.scores_all(x)?;
        Ok(scores.chunks_exact(k).map(argmax).collect())
    }

    /// The class probabilities of one feature vector.
    pub fn probabilities(&self, features: &[f32]) -> Result<Vec<f32>, TrainError> {
        let x = Features {
            dim: features.len(),
            data: features.to_vec(),
        };
        Ok(softmax(&self.scores_all(&x)?))
    }
}
