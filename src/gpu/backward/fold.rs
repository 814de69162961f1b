//! BatchNorm folded into the backward of the convolution before it. At inference BatchNorm
//! scales each channel by `s_c = weight_c / sqrt(running_var_c + eps)`, so the convolution's
//! input gradient `W^T (s * dy_bn)` is `(s W)^T dy_bn`: the convolution runs back straight
//! from the BatchNorm's output gradient on weights scaled per output channel (the forward
//! pass's fold, `model::Fusion`, read backwards), and the BatchNorm's own element-wise pass
//! is skipped. The BatchNorm still fills the convolution's output gradient when that is read
//! (a test), and runs as usual where the pass stops at the convolution (Grad-CAM there); the
//! convolution keeps its plain backward for a pass that does not run back through the
//! BatchNorm (seeded at the convolution: a deconvnet projection of one of its units).
//!
//! A convolution folds when its only reader is a BatchNorm: then nothing else adds to the
//! gradient the pass skips.

use crate::model::{Layer, Network, NodeId};
use crate::tensor::Tensor;
use crate::weights::Weights;
use std::collections::BTreeMap;

/// Which convolutions run back through the BatchNorm after them, and their scaled weights.
pub struct Folds {
    /// For each BatchNorm folded away, its convolution.
    pub conv_of: Vec<Option<NodeId>>,
    /// For each folded convolution, its BatchNorm.
    pub bn_of: Vec<Option<NodeId>>,
    /// `s_c W_c` under each folded convolution's `NAME.weight`.
    pub weights: Weights,
}

impl Folds {
    /// The folds of `net` with `weights`.
    pub fn new(net: &Network, weights: &Weights) -> Folds {
        let n = net.nodes.len();
        let mut readers = vec![0usize; n];
        for node in &net.nodes {
            for &i in &node.inputs {
                readers[i] += 1;
            }
        }
        let (mut conv_of, mut bn_of) = (vec![None; n], vec![None; n]);
        let mut tensors = BTreeMap::new();
        for (id, node) in net.nodes.iter().enumerate() {
            let Layer::BatchNorm(b) = &node.layer else {
                continue;
            };
            let conv = node.inputs[0];
            if !matches!(net.nodes[conv].layer, Layer::Conv2d(_)) || readers[conv] != 1 {
                continue;
            }
            let name = &net.nodes[conv].name;
            let gamma = &weights.get(&node.name, "weight").data;
            let var = &weights.get(&node.name, "running_var").data;
            let w = weights.get(name, "weight");
            let per_channel = w.len() / gamma.len();
            let data = (w.data.chunks(per_channel).enumerate())
                .flat_map(|(c, row)| {
                    let s = gamma[c] as f64 / (var[c] as f64 + b.eps as f64).sqrt();
                    row.iter().map(move |&v| (v as f64 * s) as f32)
                })
                .collect();
            let scaled = Tensor::new(w.shape.clone(), data);
            tensors.insert(format!("{name}.weight"), scaled);
            conv_of[id] = Some(conv);
            bn_of[conv] = Some(id);
        }
        Folds {
            conv_of,
            bn_of,
            weights: Weights { tensors },
        }
    }
}
