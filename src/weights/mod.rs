//! Parameter tensors of a network, keyed `node.tensor` (`features.0.weight`).
//!
//! Files: `init` draws seeded starting values; `safetensors_io` reads and writes safetensors,
//! checked against the network by `validate`; `torch` reads PyTorch `.pth` checkpoints (the
//! zip format and the legacy one) and converts legacy files; `load` tells the formats apart
//! by their first bytes and loads either.

mod init;
mod load;
mod safetensors_io;
mod torch;
mod validate;

pub use init::{Init, RandomWeights};
pub use load::{check_torch, load_weights, TorchFit};
pub use safetensors_io::{
    check_safetensors, decode_f32, load_safetensors, save_safetensors, TensorLayout,
};
pub use torch::{
    convert_legacy_torch, read_legacy_torch, LegacyTorchError, TorchCheckpoint, TorchError,
    TorchFormat, TorchGlobal, TorchTensor, EFFICIENTNET_LITE0_PTH_SHA256,
};
pub use validate::{check_layer_weights, check_weights, expected_tensors, TensorProblem};

use crate::model::Network;
use crate::tensor::Tensor;
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
    /// One tensor given twice, or whose values do not fill its shape.
    #[error(transparent)]
    Tensor(#[from] TensorProblem),
    #[error("PyTorch checkpoint: {0}")]
    Torch(#[from] TorchError),
    /// A `.pth` where only safetensors is read (the engine and `load_weights` read both).
    #[error("this is {}, not a safetensors file: give it where .pth files are taken (`classify --weights`, `eval --weights`, the page), or convert it", .format.describe())]
    NotSafetensors { format: TorchFormat },
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

    /// Seeded [`Init::Random`] weights, which keep activations of order one through deep
    /// networks.
    pub fn random(net: &Network, seed: u64) -> Self {
        Self::init(net, seed, Init::Random)
    }

    /// Seeded starting weights of `net` as `init` draws them.
    pub fn init(net: &Network, seed: u64, init: Init) -> Self {
        let mut maker = RandomWeights::with_init(net, seed, init);
        while !maker.step(usize::MAX) {}
        maker.finish()
    }
}
