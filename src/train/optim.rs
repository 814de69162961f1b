//! Stochastic gradient descent with momentum and weight decay, and the learning-rate schedule:
//! a linear warm-up, then cosine decay to zero (Loshchilov & Hutter 2017, "SGDR", without
//! restarts; warm-up as in Goyal et al. 2017).

use crate::weights::Weights;
use std::collections::BTreeMap;

/// SGD as in PyTorch's `torch.optim.SGD` (dampening 0, not Nesterov):
/// `v = momentum * v + g + weight_decay * w; w -= lr * v`.
pub struct Sgd {
    pub momentum: f32,
    pub weight_decay: f32,
    /// The tensors to update, and whether each is weight-decayed.
    updates: BTreeMap<String, bool>,
    velocity: BTreeMap<String, Vec<f32>>,
}

impl Sgd {
    /// An optimiser updating the tensors `updates` (`name -> decayed`); others stay fixed.
    pub fn new(momentum: f32, weight_decay: f32, updates: BTreeMap<String, bool>) -> Self {
        Sgd {
            momentum,
            weight_decay,
            updates,
            velocity: BTreeMap::new(),
        }
    }

    /// One step with learning rate `lr` along the gradients `grads` (same keys as `weights`).
    pub fn step(&mut self, weights: &mut Weights, grads: &Weights, lr: f32) {
        for (name, &decayed) in &self.updates {
            let (Some(w), Some(g)) = (weights.tensors.get_mut(name), grads.tensors.get(name))
            else {
                continue;
            };
            let v = self
                .velocity
                .entry(name.clone())
                .or_insert_with(|| vec![0.0; g.data.len()]);
            let wd = if decayed { self.weight_decay } else { 0.0 };
            for ((w, &g), v) in w.data.iter_mut().zip(&g.data).zip(v.iter_mut()) {
                *v = self.momentum * *v + g + wd * *w;
                *w -= lr * *v;
            }
        }
    }
}

/// The learning rate at `step` (counting from 0) of `total` steps: rises linearly from
/// `peak / warmup` to `peak` over the first `warmup` steps, then follows half a cosine from
/// `peak` down to 0 at the last step.
pub fn learning_rate(step: usize, total: usize, warmup: usize, peak: f32) -> f32 {
    if step < warmup {
        return peak * (step + 1) as f32 / warmup as f32;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    (peak as f64 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32
}
