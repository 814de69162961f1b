//! Transfer learning's second way: retrain the last layers. The tail of a network after a
//! chosen node (for EfficientNet-Lite0 the final 1x1 convolution, its BatchNorm, ReLU6 and the
//! global average pooling) becomes a network of its own, reading that node's cached outputs,
//! with a new head on top; its convolution and BatchNorm scale and shift start from the
//! network's weights and are trained with the head by the trainer's backward pass. BatchNorm
//! keeps its running statistics (evaluation mode), as is usual when fine-tuning on little data.
//!
//! The head starts at zero and is trained together with the layers (a head trained alone
//! first fits a small training set exactly, leaving no loss to learn from). It reads
//! standardised features through a frozen BatchNorm (mean `m`, variance `1/s^2 - eps` of the
//! pooled training features), so one learning rate suits any network, as for [`train_head`].
//!
//! [`train_head`]: super::train_head

use super::forward::{Batch, Mode};
use super::head::{standardisation, zero_head, Features, HEAD_NODE};
use super::optim::{learning_rate, Sgd};
use super::trainer::gradients;
use super::{forward_batch, TrainError};
use crate::model::{BatchNorm, Dense, Layer, Network, Shape};
use crate::tensor::Tensor;
use crate::weights::Weights;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};
use std::collections::BTreeMap;

/// The frozen standardisation in front of the head.
const STANDARDISE: &str = "standardise";
/// Its epsilon (any positive value: the variance is set so that it cancels).
const EPS: f32 = 1e-5;

/// How the last layers are retrained. Defaults: 6 epochs, batches of 32, momentum 0.9,
/// learning rate 0.005 for the network's layers and 0.05 for the head (weight decay 1e-3 on
/// its weights, as for a head alone), the layers' gradient clipped to a global L2 norm of 1
/// (a random-weight network's large activations otherwise blow the first steps up), seed 0.
#[derive(Clone, Debug)]
pub struct TailConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_layers: f32,
    pub lr_head: f32,
    pub momentum: f32,
    /// The largest global L2 norm of the layers' gradient in one step.
    pub clip_layers: f32,
    pub seed: u64,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            epochs: 6,
            batch_size: 32,
            lr_layers: 0.005,
            lr_head: 0.05,
            momentum: 0.9,
            clip_layers: 1.0,
            seed: 0,
        }
    }
}

/// The tail network and its weights.
pub struct Tail {
    pub net: Network,
    pub weights: Weights,
    /// The nodes taken from the network (their tensors are trained).
    pub layers: Vec<String>,
}

/// The nodes of `full` after `from` up to `to` (a chain, each reading the one before), as a
/// network reading `from`'s output (`input` its shape), with their weights from `weights`,
/// then the frozen standardisation of `pooled` (`to`'s outputs on the training set) and a
/// zero head of `classes` outputs.
pub fn tail(
    full: &Network,
    weights: &Weights,
    (from, to): (&str, &str),
    input: Shape,
    classes: usize,
    pooled: &Features,
) -> Result<Tail, TrainError> {
    let find = |name: &str| {
        full.find(name).ok_or_else(|| TrainError::BadConfig {
            reason: format!("`{}` has no node `{name}`", full.name),
        })
    };
    let (start, end) = (find(from)?, find(to)?);
    let mut net = Network::new(&format!("{} tail", full.name), input.c, (input.h, input.w));
    let mut tensors = BTreeMap::new();
    let mut layers = Vec::new();
    for id in start + 1..=end {
        let node = &full.nodes[id];
        if node.inputs != [id - 1] {
            return Err(TrainError::BadConfig {
                reason: format!(
                    "`{}` does not read the node before it: the tail must be a chain",
                    node.name
                ),
            });
        }
        net.then(node.name.clone(), node.layer.clone());
        for spec in node.layer.tensors() {
            let key = format!("{}.{}", node.name, spec.name);
            tensors.insert(key, weights.get(&node.name, spec.name).clone());
        }
        layers.push(node.name.clone());
    }
    let dim = pooled.dim;
    let (mean, inv_std) = standardisation(pooled);
    let bn = BatchNorm {
        channels: dim,
        eps: EPS,
    };
    net.then(STANDARDISE, Layer::BatchNorm(bn));
    let out = net.then(HEAD_NODE, Layer::Dense(Dense::new(dim, classes)));
    net.outputs = vec![out];
    let var: Vec<f32> = inv_std.iter().map(|s| 1.0 / (s * s) - EPS).collect();
    let frozen = [
        ("weight", vec![1.0; dim]),
        ("bias", vec![0.0; dim]),
        ("running_mean", mean),
        ("running_var", var),
    ];
    for (name, v) in frozen {
        tensors.insert(format!("{STANDARDISE}.{name}"), Tensor::new(vec![dim], v));
    }
    tensors.extend(zero_head(dim, classes).tensors);
    Ok(Tail {
        net,
        weights: Weights { tensors },
        layers,
    })
}

/// Scales the gradients `names` of `grads` down so their global L2 norm is at most `max`.
fn clip<'a>(grads: &mut Weights, names: impl Iterator<Item = &'a String> + Clone, max: f32) {
    let norm = names
        .clone()
        .filter_map(|n| grads.tensors.get(n))
        .flat_map(|t| &t.data)
        .map(|&g| g as f64 * g as f64)
        .sum::<f64>()
        .sqrt();
    if norm <= max as f64 {
        return;
    }
    let scale = (max as f64 / norm) as f32;
    for n in names {
        if let Some(t) = grads.tensors.get_mut(n) {
            t.data.iter_mut().for_each(|g| *g *= scale);
        }
    }
}

/// `x`'s rows `indices` as a batch of `shape` images.
fn batch_of(x: &Features, indices: &[usize], shape: Shape) -> Batch {
    let mut batch = Batch::zeros(indices.len(), shape);
    for (b, &i) in indices.iter().enumerate() {
        batch.data[b * x.dim..(b + 1) * x.dim].copy_from_slice(x.row(i));
    }
    batch
}

impl Tail {
    /// Trains the taken layers' trainable tensors and the head on `x` (the `from` node's
    /// outputs) with `labels`; returns the mean loss of each epoch.
    pub fn train(
        &mut self,
        x: &Features,
        labels: &[usize],
        cfg: &TailConfig,
    ) -> Result<Vec<f32>, TrainError> {
        let shape = self.net.default_input_shape();
        let trainable = |names: &[String]| -> BTreeMap<String, bool> {
            let mut out = BTreeMap::new();
            for n in names {
                let node = &self.net.nodes[self.net.find(n).expect("a tail node")];
                for spec in node.layer.tensors().into_iter().filter(|s| s.trainable) {
                    out.insert(format!("{n}.{}", spec.name), spec.name == "weight");
                }
            }
            out
        };
        let layer_tensors = trainable(&self.layers);
        let mut layers = Sgd::new(cfg.momentum, 0.0, layer_tensors.clone());
        let mut head = Sgd::new(cfg.momentum, 1e-3, trainable(&[HEAD_NODE.to_string()]));
        let mut order: Vec<usize> = (0..x.len()).collect();
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let per_epoch = x.len().div_ceil(cfg.batch_size);
        let total = per_epoch * cfg.epochs;
        let mut losses = Vec::new();
        for epoch in 0..cfg.epochs {
            order.shuffle(&mut rng);
            let mut sum = 0.0;
            for (s, chunk) in order.chunks(cfg.batch_size).enumerate() {
                let ys: Vec<u8> = chunk.iter().map(|&i| labels[i] as u8).collect();
                let batch = batch_of(x, chunk, shape);
                let mut g = gradients(&self.net, &self.weights, &batch, &ys, Mode::Eval, 0.0)?;
                clip(&mut g.params, layer_tensors.keys(), cfg.clip_layers);
                sum += g.loss * chunk.len() as f64;
                let step = epoch * per_epoch + s;
                layers.step(
                    &mut self.weights,
                    &g.params,
                    learning_rate(step, total, 0, cfg.lr_layers),
                );
                head.step(
                    &mut self.weights,
                    &g.params,
                    learning_rate(step, total, 0, cfg.lr_head),
                );
            }
            let loss = (sum / x.len() as f64) as f32;
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    step: (epoch + 1) * per_epoch,
                    loss,
                });
            }
            losses.push(loss);
        }
        Ok(losses)
    }

    /// The predicted class of each of `x`'s rows.
    pub fn predict(&self, x: &Features) -> Result<Vec<usize>, TrainError> {
        let shape = self.net.default_input_shape();
        let mut out = Vec::with_capacity(x.len());
        let all: Vec<usize> = (0..x.len()).collect();
        for chunk in all.chunks(64) {
            let outputs = forward_batch(
                &self.net,
                &self.weights,
                &batch_of(x, chunk, shape),
                Mode::Eval,
            )?;
            let scores = &outputs[self.net.output()];
            out.extend((0..scores.n).map(|b| super::eval::argmax(scores.image(b))));
        }
        Ok(out)
    }
}
