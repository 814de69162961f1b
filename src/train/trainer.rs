//! The training loop: shuffled mini-batches split across threads, softmax cross-entropy,
//! SGD steps on the warm-up + cosine schedule, BatchNorm running statistics, a report per
//! epoch.

use super::eval::{evaluate, Setup};
use super::forward::{Batch, Mode, Saved};
use super::graph::{self, Tape};
use super::loss::head_losses;
use super::optim::{learning_rate, Sgd};
use super::params::{init_weights, optimised, zero_grads};
use super::{Dataset, Schedule, TrainConfig, TrainError};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::preprocess::GreyscaleFrame;
use crate::weights::{check_weights, Weights};
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use std::fmt;
use std::time::Instant;

/// BatchNorm running statistics are updated as `0.9 * running + 0.1 * batch` (PyTorch).
const BN_MOMENTUM: f32 = 0.1;

/// One epoch's progress.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// Counting from 1.
    pub epoch: usize,
    pub epochs: usize,
    /// Mean loss over the epoch's steps, with the weights as they were at each step.
    pub train_loss: f32,
    /// Fraction of training images classified right during the epoch (training mode).
    pub train_accuracy: f32,
    /// Fraction of the test set classified right after the epoch, if a test set was given.
    pub test_accuracy: Option<f32>,
    /// Largest global L2 norm of a batch gradient during the epoch (before any clipping).
    pub max_grad_norm: f32,
    /// Learning rate of the epoch's last step.
    pub lr: f32,
    /// Wall time of the epoch, evaluation included.
    pub seconds: f32,
}

impl fmt::Display for EpochReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {:>2}/{}  loss {:.4}  train {:.2}%",
            self.epoch,
            self.epochs,
            self.train_loss,
            100.0 * self.train_accuracy
        )?;
        if let Some(t) = self.test_accuracy {
            write!(f, "  test {:.2}%", 100.0 * t)?;
        }
        let (g, lr, s) = (self.max_grad_norm, self.lr, self.seconds);
        write!(f, "  |grad| max {g:.2}  lr {lr:.4}  {s:.1} s")
    }
}

/// The loss on a batch and its gradients.
#[derive(Clone, Debug)]
pub struct Gradients {
    /// Mean cross-entropy over the batch (main head plus the weighted auxiliary heads).
    pub loss: f64,
    /// `d loss / d tensor` for every trainable tensor.
    pub params: Weights,
    /// `d loss / d input`, laid out as the input batch.
    pub input: Vec<f32>,
}

/// What one shard of a batch gives back.
struct ShardResult {
    grads: Weights,
    loss_sum: f64,
    correct: usize,
    /// `(node, mean, biased variance, count)` of each BatchNorm node.
    batch_stats: Vec<(NodeId, Vec<f32>, Vec<f32>, usize)>,
}

/// Forward, loss and backward on one batch; the loss gradient is scaled by `1 / total` so
/// that shards of one batch add up to the batch mean. The loss is the main head's
/// cross-entropy plus 0.3 times each auxiliary head's ([`head_losses`]).
#[allow(clippy::too_many_arguments)]
fn run_batch(
    net: &Network,
    weights: &Weights,
    setup: &Setup,
    shapes: &[Shape],
    input: Batch,
    labels: &[u8],
    mode: Mode,
    smoothing: f32,
    total: usize,
    input_grad: bool,
) -> Result<(ShardResult, Vec<f32>), TrainError> {
    let tape: Tape = graph::forward(net, weights, shapes, input, mode)?;
    let (seeds, loss_sum, correct) = head_losses(setup, &tape, labels, smoothing, total);
    let mut grads = zero_grads(net);
    let d_input = graph::backward(net, weights, &tape, seeds, &mut grads, input_grad)?;
    let batch_stats = tape
        .saved
        .iter()
        .enumerate()
        .filter_map(|(id, saved)| match saved {
            Saved::BatchStats {
                mean, var, count, ..
            } => Some((id, mean.clone(), var.clone(), *count)),
            _ => None,
        })
        .collect();
    let result = ShardResult {
        grads,
        loss_sum,
        correct,
        batch_stats,
    };
    Ok((result, d_input))
}

/// The mean loss on `input` (preprocessed images with `labels`) and its gradients, in one
/// thread; what the gradient-check tests differentiate.
pub fn gradients(
    net: &Network,
    weights: &Weights,
    input: &Batch,
    labels: &[u8],
    mode: Mode,
    label_smoothing: f32,
) -> Result<Gradients, TrainError> {
    check_weights(net, weights)?;
    let shapes = net.infer_shapes(input.shape.h, input.shape.w)?;
    let setup = Setup::with_shapes(net, GreyscaleFrame::for_network(net), shapes.clone())?;
    let (r, d_input) = run_batch(
        net,
        weights,
        &setup,
        &shapes,
        input.clone(),
        labels,
        mode,
        label_smoothing,
        labels.len(),
        true,
    )?;
    Ok(Gradients {
        loss: r.loss_sum / labels.len() as f64,
        params: r.grads,
        input: d_input,
    })
}

/// Trains `net` from seeded random weights on `train_set`, calling `progress` after every
/// epoch (with test accuracy when `test_set` is given). Returns the trained weights, BatchNorm
/// running statistics included.
pub fn train(
    net: &Network,
    cfg: &TrainConfig,
    train_set: &Dataset,
    test_set: Option<&Dataset>,
    mut progress: impl FnMut(&EpochReport),
) -> Result<Weights, TrainError> {
    train_with_snapshots(net, cfg, train_set, test_set, |r, _| progress(r))
}

/// [`train`], handing `progress` the weights as they stand after each epoch as well (running
/// statistics included), so a caller can keep checkpoints.
pub fn train_with_snapshots(
    net: &Network,
    cfg: &TrainConfig,
    train_set: &Dataset,
    test_set: Option<&Dataset>,
    mut progress: impl FnMut(&EpochReport, &Weights),
) -> Result<Weights, TrainError> {
    cfg.check()?;
    if train_set.is_empty() {
        return Err(TrainError::EmptyDataset);
    }
    let setup = Setup::new(net, train_set.classes)?;
    let mut weights = init_weights(net, cfg.seed);
    let updates = optimised(net, cfg);
    let mut sgd = Sgd::new(cfg.momentum, cfg.weight_decay, updates.clone());
    let steps_per_epoch = train_set.len().div_ceil(cfg.batch_size);
    let total_steps = steps_per_epoch * cfg.epochs;
    let warmup = (cfg.warmup_epochs * steps_per_epoch as f32).round() as usize;
    let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_add(0x5eed));
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    for epoch in 0..cfg.epochs {
        let start = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut lr, mut max_norm) = (0.0f64, 0usize, 0.0, 0.0f32);
        for (s, batch) in order.chunks(cfg.batch_size).enumerate() {
            let step = epoch * steps_per_epoch + s;
            let mirror: Vec<bool> = batch.iter().map(|_| cfg.mirror && rng.random()).collect();
            let seed = cfg.seed ^ (step as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03);
            let shards = run_shards(net, &weights, &setup, cfg, train_set, batch, &mirror, seed)?;
            let batch_loss: f64 = shards.iter().map(|r| r.loss_sum).sum();
            if !batch_loss.is_finite() {
                let loss = batch_loss as f32;
                return Err(TrainError::Diverged {
                    epoch: epoch + 1,
                    step,
                    loss,
                });
            }
            loss_sum += batch_loss / batch.len() as f64;
            correct += shards.iter().map(|r| r.correct).sum::<usize>();
            lr = match cfg.schedule {
                Schedule::WarmupCosine => learning_rate(step, total_steps, warmup, cfg.lr),
                Schedule::Constant => cfg.lr,
            };
            let mut grads = sum_shards(net, &shards, &updates);
            max_norm = max_norm.max(clip_gradients(&mut grads, cfg.clip_grad_norm));
            sgd.step(&mut weights, &grads, lr);
            update_running_stats(net, &mut weights, &shards);
        }
        let test_accuracy = match test_set {
            Some(t) => Some(evaluate(net, &weights, t)?.fraction()),
            None => None,
        };
        progress(
            &EpochReport {
                epoch: epoch + 1,
                epochs: cfg.epochs,
                train_loss: (loss_sum / steps_per_epoch as f64) as f32,
                train_accuracy: correct as f32 / train_set.len() as f32,
                test_accuracy,
                max_grad_norm: max_norm,
                lr,
                seconds: start.elapsed().as_secs_f32(),
            },
            &weights,
        );
    }
    Ok(weights)
}

/// One batch split into `cfg.threads` contiguous shards, each run on its own thread; results
/// come back in shard order so their sum does not depend on scheduling.
#[allow(clippy::too_many_arguments)]
fn run_shards(
    net: &Network,
    weights: &Weights,
    setup: &Setup,
    cfg: &TrainConfig,
    data: &Dataset,
    batch: &[usize],
    mirror: &[bool],
    seed: u64,
) -> Result<Vec<ShardResult>, TrainError> {
    let size = batch.len().div_ceil(cfg.threads);
    let run = |k: usize, indices: &[usize], flips: &[bool]| {
        let labels: Vec<u8> = indices.iter().map(|&i| data.labels[i]).collect();
        let input = setup.input(data, indices, flips);
        let mode = Mode::Train {
            seed: seed ^ (k as u64).wrapping_mul(0x2545_f491_4f6c_dd1d),
        };
        let smoothing = cfg.label_smoothing;
        let shapes = &setup.shapes;
        run_batch(
            net,
            weights,
            setup,
            shapes,
            input,
            &labels,
            mode,
            smoothing,
            batch.len(),
            false,
        )
        .map(|(r, _)| r)
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = batch
            .chunks(size)
            .zip(mirror.chunks(size))
            .enumerate()
            .map(|(k, (indices, flips))| scope.spawn(move || run(k, indices, flips)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("training thread panicked"))
            .collect()
    })
}

/// The batch gradient of the tensors in `updates`: the shards' gradients summed in order.
fn sum_shards(
    net: &Network,
    shards: &[ShardResult],
    updates: &std::collections::BTreeMap<String, bool>,
) -> Weights {
    let mut grads = zero_grads(net);
    grads.tensors.retain(|name, _| updates.contains_key(name));
    for shard in shards {
        for (name, g) in grads.tensors.iter_mut() {
            let add = &shard.grads.tensors[name].data;
            g.data.iter_mut().zip(add).for_each(|(a, b)| *a += b);
        }
    }
    grads
}

/// Rescales `grads` to global L2 norm at most `max_norm` (if given); returns the norm before.
fn clip_gradients(grads: &mut Weights, max_norm: Option<f32>) -> f32 {
    let values = || grads.tensors.values().flat_map(|g| &g.data);
    let norm = values().map(|v| v * v).sum::<f32>().sqrt();
    if let Some(clip) = max_norm.filter(|&c| norm > c) {
        let scale = clip / norm;
        for g in grads.tensors.values_mut() {
            g.data.iter_mut().for_each(|v| *v *= scale);
        }
    }
    norm
}

/// Folds the shards' batch statistics into each BatchNorm node's running mean and variance
/// (unbiased, as PyTorch), combining the shards exactly as if they were one batch.
fn update_running_stats(net: &Network, weights: &mut Weights, shards: &[ShardResult]) {
    for (id, node) in net.nodes.iter().enumerate() {
        let Layer::BatchNorm(bn) = &node.layer else {
            continue;
        };
        let stats: Vec<_> = shards
            .iter()
            .flat_map(|s| s.batch_stats.iter().filter(|st| st.0 == id))
            .collect();
        let total: usize = stats.iter().map(|s| s.3).sum();
        if total < 2 {
            continue;
        }
        for c in 0..bn.channels {
            let n = total as f64;
            let mean = stats
                .iter()
                .map(|s| s.1[c] as f64 * s.3 as f64)
                .sum::<f64>()
                / n;
            let spread = stats
                .iter()
                .map(|s| s.3 as f64 * (s.2[c] as f64 + (s.1[c] as f64 - mean).powi(2)))
                .sum::<f64>();
            let unbiased = spread / (n - 1.0);
            let key = |t: &str| format!("{}.{t}", node.name);
            let rm = &mut weights
                .tensors
                .get_mut(&key("running_mean"))
                .expect("checked")
                .data;
            rm[c] = (1.0 - BN_MOMENTUM) * rm[c] + BN_MOMENTUM * mean as f32;
            let rv = &mut weights
                .tensors
                .get_mut(&key("running_var"))
                .expect("checked")
                .data;
            rv[c] = (1.0 - BN_MOMENTUM) * rv[c] + BN_MOMENTUM * unbiased as f32;
        }
    }
}
