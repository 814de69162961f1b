//! Parameter tensors of a network, keyed `node.tensor` (`features.0.weight`), and their random initialisation.
//!
//! Files: `safetensors_io` reads and writes safetensors, checked against the network by
//! `validate`; `torch_legacy` reads old-format PyTorch `.pth` files and converts them.

mod safetensors_io;
mod torch_legacy;
mod validate;

pub use safetensors_io::{load_safetensors, save_safetensors};
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
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tensors = BTreeMap::new();
        for node in &net.nodes {
            let fan_in = match &node.layer {
                Layer::Conv2d(c) => c.fan_in(),
                Layer::PartialConv2d(p) => 4 * p.kernel * p.kernel,
                Layer::Dense(d) => d.in_features,
                Layer::Subsample(s) => s.window * s.window,
                _ => 1,
            };
            for spec in node.layer.tensors() {
                let n = spec.len();
                let data: Vec<f32> = match (&node.layer, spec.name) {
                    (Layer::BatchNorm(_), "weight") => uniform(&mut rng, n, 0.8, 1.2),
                    (Layer::BatchNorm(_), "running_var") => uniform(&mut rng, n, 0.5, 1.5),
                    (Layer::BatchNorm(_), _) => uniform(&mut rng, n, -0.1, 0.1),
                    (Layer::Rbf(_), _) => uniform(&mut rng, n, -1.0, 1.0),
                    (_, "bias") => uniform(&mut rng, n, -0.1, 0.1),
                    _ => {
                        let a = (6.0 / fan_in as f32).sqrt();
                        uniform(&mut rng, n, -a, a)
                    }
                };
                tensors.insert(
                    format!("{}.{}", node.name, spec.name),
                    Tensor::new(spec.shape, data),
                );
            }
        }
        Weights { tensors }
    }
}

fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}
