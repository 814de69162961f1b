//! Seeded starting values of a network's tensors: the one place that says how each tensor a
//! layer owns is drawn, for looking at an untrained network and for training one.

use super::Weights;
use crate::model::{Activation, Layer, Network, TensorSpec};
use crate::tensor::Tensor;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;
use std::ops::Range;

/// Which starting values a network's tensors get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Values to look at an untrained network through, keeping activations of order one
    /// through deep networks: He-uniform weights (`U(-sqrt(6 / fan_in), +)`), small random
    /// biases, BatchNorm near the identity with random statistics, RBF centres in `U(-1, 1)`.
    Random,
    /// Values to train from. Convolution and dense weights are uniform with variance
    /// `2 / fan_in` when `relu` (He et al. 2015) and `1 / fan_in` otherwise (LeCun et al.
    /// 1998, Appendix A, pairs that with the scaled tanh); biases start at 0; subsampling as a
    /// plain average; BatchNorm as the identity; RBF centres as random +-1 codes (the paper's
    /// were +-1 bitmaps).
    Training { relu: bool },
}

impl Init {
    /// [`Init::Training`] for `net`: He's variance when any of its activations is a ReLU.
    pub fn training(net: &Network) -> Self {
        let relu = net.nodes.iter().any(|n| {
            matches!(
                n.layer,
                Layer::Activation(
                    Activation::Relu | Activation::Relu6 | Activation::LeakyRelu { .. }
                )
            )
        });
        Init::Training { relu }
    }
}

/// How the values of one tensor are drawn, in order.
#[derive(Clone, Debug, PartialEq)]
enum Draw {
    /// Consecutive runs `(count, lo, hi)`, each of its values uniform in `[lo, hi)`.
    Uniform(Vec<(usize, f32, f32)>),
    /// Every value the same; draws nothing.
    Constant(f32),
    /// +-1, the sign of a value uniform in `[-1, 1)`.
    Sign,
}

impl Draw {
    /// The one rule for starting values: how `init` draws tensor `spec` of `layer`.
    fn of(layer: &Layer, spec: &TensorSpec, init: Init) -> Draw {
        let n = spec.len();
        let uniform = |lo: f32, hi: f32| Draw::Uniform(vec![(n, lo, hi)]);
        match init {
            Init::Random => match (layer, spec.name) {
                (Layer::BatchNorm(_), "weight") => uniform(0.8, 1.2),
                (Layer::BatchNorm(_), "running_var") => uniform(0.5, 1.5),
                (Layer::BatchNorm(_), _) | (_, "bias") => uniform(-0.1, 0.1),
                (Layer::Rbf(_), _) => uniform(-1.0, 1.0),
                _ => Draw::fan_in_uniform(layer, n, 6.0),
            },
            Init::Training { relu } => match (layer, spec.name) {
                (Layer::BatchNorm(_), "weight" | "running_var") => Draw::Constant(1.0),
                (Layer::Subsample(s), "weight") => {
                    Draw::Constant(1.0 / (s.window * s.window) as f32)
                }
                (Layer::Rbf(_), _) => Draw::Sign,
                (Layer::Conv2d(_) | Layer::PartialConv2d(_) | Layer::Dense(_), "weight") => {
                    Draw::fan_in_uniform(layer, n, if relu { 6.0 } else { 3.0 })
                }
                _ => Draw::Constant(0.0),
            },
        }
    }

    /// `n` weights uniform in `+-sqrt(gain / fan_in)` (variance `gain / (3 fan_in)`), where
    /// `fan_in` counts the inputs one output reads; C3's output maps read different numbers of
    /// input maps, so each map's kernels get their own bound.
    fn fan_in_uniform(layer: &Layer, n: usize, gain: f32) -> Draw {
        let runs = match layer {
            Layer::Conv2d(c) => vec![(n, c.fan_in())],
            Layer::Dense(d) => vec![(n, d.in_features)],
            Layer::Subsample(s) => vec![(n, s.window * s.window)],
            Layer::PartialConv2d(p) => p
                .table
                .iter()
                .map(|row| {
                    (
                        row.len() * p.kernel * p.kernel,
                        row.len() * p.kernel * p.kernel,
                    )
                })
                .collect(),
            _ => vec![(n, 1)],
        };
        Draw::Uniform(
            runs.into_iter()
                .map(|(count, fan_in)| {
                    let bound = (gain / fan_in.max(1) as f32).sqrt();
                    (count, -bound, bound)
                })
                .collect(),
        )
    }

    /// Appends values `range` of the tensor to `out`, drawing from `rng` in order.
    fn extend(&self, range: Range<usize>, rng: &mut StdRng, out: &mut Vec<f32>) {
        match self {
            Draw::Constant(v) => out.extend(std::iter::repeat_n(*v, range.len())),
            Draw::Sign => out.extend(range.map(|_| rng.random_range(-1.0f32..1.0).signum())),
            Draw::Uniform(runs) => {
                let mut start = 0;
                for &(count, lo, hi) in runs {
                    let run = range.start.max(start)..range.end.min(start + count);
                    out.extend(run.map(|_| rng.random_range(lo..hi)));
                    start += count;
                }
            }
        }
    }
}

/// A network's starting weights made a bounded number of values at a time, so a caller that
/// must stay responsive (the page) can pause between steps. The values are the same whatever
/// the steps: [`Weights::random`] and the trainer's `init_weights` make them in one go.
pub struct RandomWeights {
    rng: StdRng,
    /// Every tensor to make, in order: name, shape, and how its values are drawn.
    todo: Vec<(String, Vec<usize>, Draw)>,
    next: usize,
    partial: Vec<f32>,
    tensors: BTreeMap<String, Tensor>,
    made: usize,
    total: usize,
}

impl RandomWeights {
    /// [`Init::Random`] weights for `net` from `seed`.
    pub fn new(net: &Network, seed: u64) -> Self {
        Self::with_init(net, seed, Init::Random)
    }

    /// `init`'s weights for `net` from `seed`.
    pub fn with_init(net: &Network, seed: u64, init: Init) -> Self {
        let todo: Vec<_> = net
            .nodes
            .iter()
            .flat_map(|node| {
                node.layer.tensors().into_iter().map(move |spec| {
                    let draw = Draw::of(&node.layer, &spec, init);
                    (format!("{}.{}", node.name, spec.name), spec.shape, draw)
                })
            })
            .collect();
        let total = todo.iter().map(|t| t.1.iter().product::<usize>()).sum();
        RandomWeights {
            rng: StdRng::seed_from_u64(seed),
            todo,
            next: 0,
            partial: Vec::new(),
            tensors: BTreeMap::new(),
            made: 0,
            total,
        }
    }

    /// Make up to `budget` more values (at least one tensor's worth when a tensor is empty);
    /// true once every tensor is made.
    pub fn step(&mut self, budget: usize) -> bool {
        let mut left = budget;
        while let Some((name, shape, draw)) = self.todo.get(self.next) {
            let n: usize = shape.iter().product();
            let done = self.partial.len();
            if done == 0 {
                self.partial.reserve_exact(n);
            }
            let take = (n - done).min(left);
            draw.extend(done..done + take, &mut self.rng, &mut self.partial);
            self.made += take;
            left -= take;
            if self.partial.len() < n {
                return false;
            }
            let data = std::mem::take(&mut self.partial);
            self.tensors
                .insert(name.clone(), Tensor::new(shape.clone(), data));
            self.next += 1;
            if left == 0 {
                break;
            }
        }
        self.next == self.todo.len()
    }

    /// The share of values made so far, in [0, 1].
    pub fn progress(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.made as f64 / self.total as f64
        }
    }

    /// The weights; call once [`RandomWeights::step`] has returned true.
    pub fn finish(self) -> Weights {
        Weights {
            tensors: self.tensors,
        }
    }
}
