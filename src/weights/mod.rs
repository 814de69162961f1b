//! Parameter tensors of a network, keyed `node.tensor` (`features.0.weight`), and their random initialisation.

use crate::model::{Layer, Network};
use crate::tensor::Tensor;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;

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
