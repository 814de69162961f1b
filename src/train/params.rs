//! The trainer's parameter bookkeeping: initial values, the checks before a run, which tensors
//! the optimiser updates, and saving to safetensors.

use super::{TrainConfig, TrainError};
use crate::model::{Layer, Network};
use crate::tensor::Tensor;
use crate::weights::{check_weights, Init, Weights};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};

/// Seeded starting weights for training: [`Init::training`] for `net`.
pub fn init_weights(net: &Network, seed: u64) -> Weights {
    Weights::init(net, seed, Init::training(net))
}

/// Zeroed gradient tensors, one per trainable tensor.
pub(super) fn zero_grads(net: &Network) -> Weights {
    let tensors = net
        .nodes
        .iter()
        .flat_map(|node| {
            node.layer
                .tensors()
                .into_iter()
                .filter(|s| s.trainable)
                .map(move |s| (format!("{}.{}", node.name, s.name), Tensor::zeros(s.shape)))
        })
        .collect();
    Weights { tensors }
}

/// The tensors SGD updates, each with whether it is weight-decayed (only the weights of
/// convolutions and dense layers are).
pub(super) fn optimised(net: &Network, cfg: &TrainConfig) -> BTreeMap<String, bool> {
    let mut updates = BTreeMap::new();
    for node in &net.nodes {
        if matches!(node.layer, Layer::Rbf(_)) && !cfg.train_rbf_centres {
            continue;
        }
        let decayed_kind = matches!(
            node.layer,
            Layer::Conv2d(_) | Layer::PartialConv2d(_) | Layer::Dense(_)
        );
        for spec in node.layer.tensors().into_iter().filter(|s| s.trainable) {
            let decayed = decayed_kind && spec.name == "weight";
            updates.insert(format!("{}.{}", node.name, spec.name), decayed);
        }
    }
    updates
}

/// `net`'s weights as safetensors bytes: every tensor of `Layer::tensors()`, named
/// `{node}.{tensor}`, F32 little-endian. The header metadata records the model and the
/// preprocessing the weights expect. Equal weights give equal bytes.
pub fn save_weights(net: &Network, weights: &Weights) -> Result<Vec<u8>, TrainError> {
    check_weights(net, weights)?;
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for node in &net.nodes {
        for spec in node.layer.tensors() {
            let t = weights.get(&node.name, spec.name);
            let bytes = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            named.push((
                format!("{}.{}", node.name, spec.name),
                t.shape.clone(),
                bytes,
            ));
        }
    }
    let serialize_error = |e: safetensors::SafeTensorError| TrainError::Serialize {
        reason: e.to_string(),
    };
    let views = named
        .iter()
        .map(|(name, shape, bytes)| Ok((name, TensorView::new(Dtype::F32, shape.clone(), bytes)?)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(serialize_error)?;
    // One metadata entry: the crate takes a HashMap, whose order would vary between runs.
    let (h, w) = net.default_input;
    let note = format!(
        "{} trained on Fashion-MNIST by convscope; input: pixels / 255, zero-padded or \
         centre-cropped to {h}x{w}, not normalised",
        net.name
    );
    let metadata = HashMap::from([("convscope".to_string(), note)]);
    safetensors::serialize(views, Some(metadata)).map_err(serialize_error)
}
