//! What each family of networks added, measured on the last pass from node reads (so the
//! GPU, the fast CPU engine and the reference give the same numbers): GoogLeNet's auxiliary
//! heads, ResNet's residual branches against their shortcuts, BatchNorm's effect on each
//! channel, the share of dead (and, for ReLU6, saturated) units of every activation, and the
//! activation functions' curves. AlexNet's LRN and overlapping pooling are in `families_alexnet`.

use super::report::Prediction;
use super::{Engine, EngineError};
use crate::cpu::top_k;
use crate::model::{Activation, Layer, Network, NodeId};
use crate::predict::head_scores;
use crate::tensor::Tensor;
use serde::Serialize;
use std::collections::HashMap;

/// One output head: the main classifier or an auxiliary one.
#[derive(Debug, Serialize)]
pub struct Head {
    pub node: String,
    pub main: bool,
    pub top5: Vec<Prediction>,
}

/// The network's output heads after the last pass and what training did with them.
#[derive(Debug, Serialize)]
pub struct Heads {
    pub heads: Vec<Head>,
    /// Weight of each auxiliary head's loss in training (Szegedy et al. 2014, §5: "their loss
    /// gets added to the total loss of the network with a discount weight (the losses of the
    /// auxiliary classifiers were weighted by 0.3)"); at inference they are dropped.
    pub aux_loss_weight: f32,
}

/// GoogLeNet's auxiliary loss weight (Szegedy et al. 2014, §5), as the trainer uses it.
pub use crate::model::AUX_LOSS_WEIGHT;

/// One residual connection: the `Add` node, its residual branch `F(x)` and its shortcut.
#[derive(Debug, Serialize)]
pub struct ResidualBlock {
    pub add: String,
    pub branch: String,
    pub shortcut: String,
    /// True when the shortcut is the block's input itself (no projection on the way).
    pub identity: bool,
    /// L2 norms over the whole map, and `branch / shortcut`.
    pub branch_norm: f64,
    pub shortcut_norm: f64,
    pub ratio: f64,
}

/// Each channel's mean and standard deviation (population, over H x W) before and after a
/// BatchNorm node, for the last input.
#[derive(Debug, Serialize)]
pub struct BatchNormStats {
    pub node: String,
    pub input: String,
    pub before_mean: Vec<f64>,
    pub before_std: Vec<f64>,
    pub after_mean: Vec<f64>,
    pub after_std: Vec<f64>,
}

/// One activation node's units after the last pass.
#[derive(Debug, Serialize)]
pub struct ActivationShare {
    pub node: String,
    pub kind: &'static str,
    pub units: usize,
    /// Share of units at exactly 0 (ReLU and ReLU6: no gradient flows back through them).
    pub zero: Option<f64>,
    /// ReLU6: share of units at the ceiling 6 (no gradient either).
    pub ceiling: Option<f64>,
    /// Sigmoid and tanh: share of units whose slope is under a tenth of the largest.
    pub saturated: Option<f64>,
}

/// One activation function sampled: values and derivatives at `Curves::x`.
#[derive(Debug, Serialize)]
pub struct Curve {
    pub name: &'static str,
    pub value: Vec<f32>,
    pub derivative: Vec<f32>,
}

#[derive(Debug, Serialize)]
pub struct Curves {
    pub x: Vec<f32>,
    pub curves: Vec<Curve>,
}

/// The leaky ReLU drawn among the curves: 0.1, ten times ONNX's default 0.01, so that its
/// slope on the negative side can be seen.
pub const CURVE_LEAKY_ALPHA: f32 = 0.1;

/// Below this fraction of its largest slope a sigmoid or tanh unit counts as saturated.
pub const SATURATED_SLOPE: f32 = 0.1;

/// Sigmoid, tanh, ReLU, ReLU6 and leaky ReLU (alpha 0.1, [`CURVE_LEAKY_ALPHA`]) and their
/// derivatives at `n` points from `lo` to `hi`.
pub fn activation_curves(lo: f32, hi: f32, n: usize) -> Curves {
    let n = n.max(2);
    let x: Vec<f32> = (0..n)
        .map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32)
        .collect();
    let curves = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu {
            alpha: CURVE_LEAKY_ALPHA,
        },
    ]
    .into_iter()
    .map(|a| Curve {
        name: a.name(),
        value: x.iter().map(|&u| a.apply(u)).collect(),
        derivative: x.iter().map(|&u| a.slope(u)).collect(),
    })
    .collect();
    Curves { x, curves }
}

/// The L2 norm of all of `t`'s values, summed in f64.
pub fn l2_norm(t: &Tensor) -> f64 {
    t.data
        .iter()
        .map(|&v| (v as f64) * (v as f64))
        .sum::<f64>()
        .sqrt()
}

/// Each channel's `(mean, population standard deviation)` of a `[c, h, w]` tensor, in f64.
pub fn channel_moments(t: &Tensor) -> Vec<(f64, f64)> {
    let c = t.shape[0];
    let n = t.data.len() / c.max(1);
    t.data
        .chunks_exact(n.max(1))
        .map(|ch| {
            let mean = ch.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = ch.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            (mean, var.sqrt())
        })
        .collect()
}

/// Shares of an activation's units that pass no gradient back: at 0 (ReLU, ReLU6), at 6
/// (ReLU6), or saturated (sigmoid, tanh: slope from the input `u` under [`SATURATED_SLOPE`]).
pub fn activation_share(
    node: &str,
    a: Activation,
    output: &Tensor,
    input: Option<&Tensor>,
) -> ActivationShare {
    let units = output.data.len();
    let share = |count: usize| count as f64 / units.max(1) as f64;
    let count = |f: &dyn Fn(f32) -> bool| output.data.iter().filter(|&&v| f(v)).count();
    let (zero, ceiling, saturated) = match a {
        Activation::Relu => (Some(share(count(&|v| v == 0.0))), None, None),
        Activation::Relu6 => (
            Some(share(count(&|v| v == 0.0))),
            Some(share(count(&|v| v == 6.0))),
            None,
        ),
        // Its slope is alpha or 1: no unit blocks the gradient.
        Activation::LeakyRelu { .. } => (None, None, None),
        _ => {
            let limit = SATURATED_SLOPE * a.slope(0.0);
            let saturated = input.map(|u| {
                let flat = u.data.iter().zip(&output.data);
                share(flat.filter(|(&u, &v)| a.derivative(u, v) < limit).count())
            });
            (None, None, saturated)
        }
    };
    ActivationShare {
        node: node.into(),
        kind: a.name(),
        units,
        zero,
        ceiling,
        saturated,
    }
}

/// For an `Add` of two inputs, `(branch, shortcut, identity)`: the shortcut is the input with
/// the shorter way back to the nearest node both inputs come from; `identity` when it is
/// that node itself (a downsampling block's shortcut is a projection instead). `None` for
/// other nodes.
pub fn residual_inputs(net: &Network, add: NodeId) -> Option<(NodeId, NodeId, bool)> {
    let (Layer::Add, [a, b]) = (&net.nodes[add].layer, &net.nodes[add].inputs[..]) else {
        return None;
    };
    let (a, b) = (*a, *b);
    let (from_a, from_b) = (steps_back(net, a), steps_back(net, b));
    let (da, db) = from_a
        .iter()
        .filter_map(|(node, &da)| from_b.get(node).map(|&db| (da, db)))
        .min_by_key(|&(da, db)| (da + db, da.max(db)))?;
    Some(if da <= db {
        (b, a, da == 0)
    } else {
        (a, b, db == 0)
    })
}

/// How many edges back each ancestor of `from` is (itself at 0), by the shortest way.
fn steps_back(net: &Network, from: NodeId) -> HashMap<NodeId, usize> {
    let mut steps = HashMap::from([(from, 0)]);
    let mut frontier = vec![from];
    let mut depth = 0;
    while !frontier.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        for id in frontier {
            for &i in &net.nodes[id].inputs {
                if let std::collections::hash_map::Entry::Vacant(e) = steps.entry(i) {
                    e.insert(depth);
                    next.push(i);
                }
            }
        }
        frontier = next;
    }
    steps
}

impl Engine {
    /// Every output head's top-5 after the last pass (main first), by the rule the main
    /// classification uses (`predict::head_scores`).
    pub async fn output_heads(&self) -> Result<Heads, EngineError> {
        let model = self.model()?;
        let mut heads = Vec::new();
        for (i, &id) in model.net.outputs.iter().enumerate() {
            let node = &model.net.nodes[id];
            let output = self.node_output(&node.name).await?;
            let (logits, probs) = head_scores(&node.layer, &output.data);
            let top5 = top_k(&logits, 5)
                .into_iter()
                .map(|(class, logit)| Prediction {
                    class,
                    name: self.name_of(&model.classes, class),
                    probability: probs[class],
                    logit,
                })
                .collect();
            heads.push(Head {
                node: node.name.clone(),
                main: i == 0,
                top5,
            });
        }
        Ok(Heads {
            heads,
            aux_loss_weight: AUX_LOSS_WEIGHT,
        })
    }

    /// Every residual `Add` in depth order: the norm of its branch against its shortcut.
    pub async fn residual_blocks(&self) -> Result<Vec<ResidualBlock>, EngineError> {
        let net = &self.model()?.net;
        let mut blocks = Vec::new();
        for (id, node) in net.nodes.iter().enumerate() {
            if !matches!(node.layer, Layer::Add) {
                continue;
            }
            let Some((branch, shortcut, identity)) = residual_inputs(net, id) else {
                continue;
            };
            let (branch, shortcut) = (&net.nodes[branch], &net.nodes[shortcut]);
            let branch_norm = l2_norm(&self.node_output(&branch.name).await?);
            let shortcut_norm = l2_norm(&self.node_output(&shortcut.name).await?);
            blocks.push(ResidualBlock {
                add: node.name.clone(),
                branch: branch.name.clone(),
                shortcut: shortcut.name.clone(),
                identity,
                branch_norm,
                shortcut_norm,
                ratio: branch_norm / shortcut_norm,
            });
        }
        Ok(blocks)
    }

    /// Each channel's mean and standard deviation before and after BatchNorm node `node`.
    pub async fn batchnorm_stats(&self, node: &str) -> Result<BatchNormStats, EngineError> {
        let model = self.model()?;
        let id = Self::node_id(&model, node)?;
        let n = &model.net.nodes[id];
        if !matches!(n.layer, Layer::BatchNorm(_)) {
            return Err(EngineError::WrongKind {
                node: node.into(),
                kind: n.layer.kind(),
                wanted: "batchnorm",
            });
        }
        let input = model.net.nodes[n.inputs[0]].name.clone();
        let before = channel_moments(&self.node_output(&input).await?);
        let after = channel_moments(&self.node_output(node).await?);
        let split = |m: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { m.iter().copied().unzip() };
        let ((before_mean, before_std), (after_mean, after_std)) = (split(&before), split(&after));
        Ok(BatchNormStats {
            node: node.into(),
            input,
            before_mean,
            before_std,
            after_mean,
            after_std,
        })
    }

    /// Every activation node's shares of units that pass no gradient, in graph order.
    pub async fn activation_shares(&self) -> Result<Vec<ActivationShare>, EngineError> {
        let net = &self.model()?.net;
        let mut shares = Vec::new();
        for node in &net.nodes {
            let Layer::Activation(a) = node.layer else {
                continue;
            };
            let output = self.node_output(&node.name).await?;
            let input = match a {
                Activation::Relu | Activation::Relu6 | Activation::LeakyRelu { .. } => None,
                _ => Some(self.node_output(&net.nodes[node.inputs[0]].name).await?),
            };
            shares.push(activation_share(&node.name, a, &output, input.as_ref()));
        }
        Ok(shares)
    }
}
