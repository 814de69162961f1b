//! Parameter tensors of a network, keyed `node.tensor` (`features.0.weight`), and their random initialisation.
//!
//! Files: `safetensors_io` reads and writes safetensors, checked against the network by
//! `validate`; `torch_legacy` reads old-format PyTorch `.pth` files and converts them.

mod safetensors_io;
mod torch_legacy;
mod validate;

pub use safetensors_io::{
    check_safetensors, decode_f32, load_safetensors, save_safetensors, TensorLayout,
};
pub use torch_legacy::{
    convert_legacy_torch, read_legacy_torch, LegacyTorchError, TorchGlobal,
    EFFICIENTNET_LITE0_PTH_SHA256,
};
pub use validate::{expected_tensors, TensorProblem};

use crate::model::{Layer, Network};
use crate::tensor::Tensor;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why weights cannot be loaded, saved or converted for a network.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WeightsError {
    /// The file parses but its tensors do not fit the model; every problem is listed.
    #[error("{}", validate::list_problems(.model, .problems))]
    Mismatch {
        model: String,
        problems: Vec<TensorProblem>,
    },
    #[error("safetensors file is truncated: it has {found} bytes, its header needs {needed}{}",
        .tensor.as_ref().map(|t| format!(" (the data of tensor `{t}` is cut short)")).unwrap_or_default())]
    Truncated {
        needed: u128,
        found: usize,
        tensor: Option<String>,
    },
    #[error("safetensors file has {found} bytes but its header describes only {expected}")]
    TrailingBytes { expected: u128, found: usize },
    #[error(
        "safetensors header length field says {declared} bytes, over the crate's 100 MB limit"
    )]
    HeaderTooLarge { declared: u64 },
    #[error("safetensors header is invalid: {reason}")]
    InvalidHeader { reason: String },
    #[error("tensor `{tensor}`: its data offsets overlap, leave a gap or run backwards")]
    BadOffsets { tensor: String },
    #[error("tensor `{tensor}`: the header gives it {range_bytes} bytes of data but its dtype and shape need {needed_bytes}")]
    SizeMismatch {
        tensor: String,
        range_bytes: u128,
        needed_bytes: u128,
    },
    #[error("tensor `{tensor}` is given twice")]
    DuplicateTensor { tensor: String },
    #[error("tensor `{tensor}`: {len} values do not fill shape {shape:?}")]
    InconsistentTensor {
        tensor: String,
        shape: Vec<usize>,
        len: usize,
    },
    #[error("legacy torch file: {0}")]
    Legacy(#[from] LegacyTorchError),
}

/// All parameter and buffer tensors of one network, by full name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
}

impl Weights {
    /// The tensor `suffix` of node `node`; panics if missing (weights are validated on load).
    pub fn get(&self, node: &str, suffix: &str) -> &Tensor {
        let key = format!("{node}.{suffix}");
        self.tensors
            .get(&key)
            .unwrap_or_else(|| panic!("missing weight tensor `{key}`"))
    }

    /// The tensor `suffix` of node `node`, if present.
    pub fn try_get(&self, node: &str, suffix: &str) -> Option<&Tensor> {
        self.tensors.get(&format!("{node}.{suffix}"))
    }

    /// Seeded random weights that keep activations of order one through deep networks:
    /// He-uniform weights (`U(-sqrt(6/fan_in), +)`), small biases, BatchNorm near identity.
    pub fn random(net: &Network, seed: u64) -> Self {
        let mut maker = RandomWeights::new(net, seed);
        while !maker.step(usize::MAX) {}
        maker.finish()
    }
}

/// [`Weights::random`] made a bounded number of values at a time, so a caller that must stay
/// responsive (the page) can pause between steps. The values are the same whatever the steps.
pub struct RandomWeights {
    rng: StdRng,
    /// Every tensor to make, in order: name, shape, and the uniform range of its values.
    todo: Vec<(String, Vec<usize>, f32, f32)>,
    next: usize,
    partial: Vec<f32>,
    tensors: BTreeMap<String, Tensor>,
    made: usize,
    total: usize,
}

impl RandomWeights {
    pub fn new(net: &Network, seed: u64) -> Self {
        let mut todo = Vec::new();
        for node in &net.nodes {
            let fan_in = match &node.layer {
                Layer::Conv2d(c) => c.fan_in(),
                Layer::PartialConv2d(p) => 4 * p.kernel * p.kernel,
                Layer::Dense(d) => d.in_features,
                Layer::Subsample(s) => s.window * s.window,
                _ => 1,
            };
            for spec in node.layer.tensors() {
                let (lo, hi) = match (&node.layer, spec.name) {
                    (Layer::BatchNorm(_), "weight") => (0.8, 1.2),
                    (Layer::BatchNorm(_), "running_var") => (0.5, 1.5),
                    (Layer::BatchNorm(_), _) => (-0.1, 0.1),
                    (Layer::Rbf(_), _) => (-1.0, 1.0),
                    (_, "bias") => (-0.1, 0.1),
                    _ => {
                        let a = (6.0 / fan_in as f32).sqrt();
                        (-a, a)
                    }
                };
                todo.push((format!("{}.{}", node.name, spec.name), spec.shape, lo, hi));
            }
        }
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
        while let Some((name, shape, lo, hi)) = self.todo.get(self.next) {
            let n: usize = shape.iter().product();
            if self.partial.is_empty() {
                self.partial.reserve_exact(n);
            }
            let take = (n - self.partial.len()).min(left);
            let rng = &mut self.rng;
            self.partial
                .extend((0..take).map(|_| rng.random_range(*lo..*hi)));
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
