//! The trainer's parameter bookkeeping: initial values, the checks before a run, which tensors
//! the optimiser updates, and saving to safetensors.

use super::{TrainConfig, TrainError};
use crate::model::{Activation, Layer, Network};
use crate::tensor::Tensor;
use crate::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};

/// Seeded starting weights for training. Convolution and dense weights are uniform with
/// variance `2 / fan_in` in networks with ReLU (He et al. 2015) and `1 / fan_in` otherwise
/// (LeCun et al. 1998, Appendix A, pairs that with the scaled tanh); biases start at 0;
/// subsampling starts as a plain average; BatchNorm as the identity; RBF centres are random
/// +-1 codes (the paper's were +-1 bitmaps).
pub fn init_weights(net: &Network, seed: u64) -> Weights {
    let mut rng = StdRng::seed_from_u64(seed);
    let relu = net.nodes.iter().any(|n| {
        matches!(
            n.layer,
            Layer::Activation(Activation::Relu | Activation::Relu6)
        )
    });
    let gain = if relu { 6.0 } else { 3.0 };
    let mut uniform = |n: usize, fan_in: usize| -> Vec<f32> {
        let bound = (gain / fan_in.max(1) as f32).sqrt();
        (0..n).map(|_| rng.random_range(-bound..bound)).collect()
    };
    let mut tensors = BTreeMap::new();
    for node in &net.nodes {
        for spec in node.layer.tensors() {
            let n = spec.len();
            let data = match (&node.layer, spec.name) {
                (Layer::Conv2d(c), "weight") => uniform(n, c.fan_in()),
                (Layer::Dense(d), "weight") => uniform(n, d.in_features),
                (Layer::PartialConv2d(p), "weight") => {
                    let kk = p.kernel * p.kernel;
                    p.table
                        .iter()
                        .flat_map(|row| uniform(row.len() * kk, row.len() * kk))
                        .collect()
                }
                (Layer::Subsample(s), "weight") => vec![1.0 / (s.window * s.window) as f32; n],
                (Layer::Rbf(_), _) => uniform(n, 1).iter().map(|v| v.signum()).collect(),
                (Layer::BatchNorm(_), "weight" | "running_var") => vec![1.0; n],
                _ => vec![0.0; n],
            };
            let key = format!("{}.{}", node.name, spec.name);
            tensors.insert(key, Tensor::new(spec.shape, data));
        }
    }
    Weights { tensors }
}

/// Every tensor the layers own must be present with its documented shape.
pub(super) fn check_weights(net: &Network, weights: &Weights) -> Result<(), TrainError> {
    for node in &net.nodes {
        for spec in node.layer.tensors() {
            let tensor = format!("{}.{}", node.name, spec.name);
            let Some(t) = weights.tensors.get(&tensor) else {
                return Err(TrainError::MissingWeight { tensor });
            };
            if t.shape != spec.shape || t.data.len() != spec.len() {
                return Err(TrainError::WeightShape {
                    tensor,
                    expected: spec.shape,
                    found: t.shape.clone(),
                });
            }
        }
    }
    Ok(())
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
