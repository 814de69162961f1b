//! What a unit responds to, in pixels, on the CPU: the gradient and guided backprop of a class
//! score w.r.t. the input, Zeiler & Fergus's deconvnet projection of one unit, Grad-CAM at any
//! node with spatial extent, occlusion sensitivity and the top-9 inputs of a channel. The
//! backward passes run on the f64 reference (`cpu::backward`); the many forward passes of
//! occlusion and top-9 on the fast CPU engine. The engine runs the GPU's twins first where
//! it has a plan and routes here otherwise; every long method can run in steps so the page
//! stays responsive.
//!
//! Seeds are logits, never probabilities: a network ending in a softmax is seeded at the
//! softmax's input, and LeNet-5's RBF distances (smaller is better) are seeded with -1.

mod error;
mod gradcam;
mod occlusion;
pub mod picture;
mod top9;

pub use error::ExplainError;
pub use gradcam::{upsample_bilinear, GradCam};
pub use occlusion::{
    position_values, watched_node, Occlusion, OcclusionGrid, OcclusionMaps, OcclusionSettings,
};
pub use top9::{crop, Top9, Top9Entry};

use crate::cpu::backward::{Backward, Mode};
use crate::cpu::{forward, top_k};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::predict::scores;
use crate::tensor::Tensor;
use crate::weights::Weights;

/// One unit of a node: a channel at a position of its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Unit {
    pub node: NodeId,
    pub channel: usize,
    pub y: usize,
    pub x: usize,
}

/// The node whose outputs are the class scores, and the sign that makes higher better.
pub fn score_node(net: &Network) -> (NodeId, f64) {
    let out = net.output();
    match &net.nodes[out].layer {
        Layer::Softmax => (net.nodes[out].inputs[0], 1.0),
        Layer::Rbf(_) => (out, -1.0),
        _ => (out, 1.0),
    }
}

/// One image's forward pass on the reference, and the explanations read from it.
pub struct Explainer<'a> {
    net: &'a Network,
    weights: &'a Weights,
    outputs: Vec<Tensor>,
}

impl<'a> Explainer<'a> {
    /// Run the reference forward pass over `input` (`[C, H, W]`, preprocessed).
    pub fn new(
        net: &'a Network,
        weights: &'a Weights,
        input: &Tensor,
    ) -> Result<Self, ExplainError> {
        let outputs = forward(net, weights, input)?;
        Ok(Self::from_outputs(net, weights, outputs))
    }

    /// From every node's output of a reference pass (e.g. one run in steps by `cpu::Stepper`).
    pub fn from_outputs(net: &'a Network, weights: &'a Weights, outputs: Vec<Tensor>) -> Self {
        Explainer {
            net,
            weights,
            outputs,
        }
    }

    /// Every node's forward output.
    pub fn outputs(&self) -> &[Tensor] {
        &self.outputs
    }

    pub fn shape(&self, node: NodeId) -> Shape {
        let s = &self.outputs[node].shape;
        Shape::new(s[0], s[1], s[2])
    }

    /// The probabilities of the main output (as `predict::scores` ranks them).
    pub fn probabilities(&self) -> Vec<f32> {
        scores(self.net, &self.outputs[self.net.output()].data).1
    }

    /// The top-1 class.
    pub fn top_class(&self) -> usize {
        top_k(&self.probabilities(), 1)[0].0
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.outputs[self.net.output()].len()
    }

    /// A node id by name, or an error naming the model.
    pub fn node(&self, name: &str) -> Result<NodeId, ExplainError> {
        self.net
            .find(name)
            .ok_or_else(|| ExplainError::UnknownNode {
                model: self.net.name.clone(),
                node: name.into(),
            })
    }

    fn check_class(&self, class: usize) -> Result<(), ExplainError> {
        let classes = self.classes();
        if class >= classes {
            return Err(ExplainError::ClassOutOfRange { class, classes });
        }
        Ok(())
    }

    /// A backward pass from class `class`'s score (its logit), to run in steps.
    pub fn class_pass(&self, class: usize, mode: Mode) -> Result<Backward<'_>, ExplainError> {
        self.check_class(class)?;
        let (node, sign) = score_node(self.net);
        let mut seed = vec![0.0; self.outputs[node].len()];
        seed[class] = sign;
        Ok(Backward::new(
            self.net,
            self.weights,
            &self.outputs,
            node,
            seed,
            mode,
        )?)
    }

    /// The unit of `node`'s channel `channel` at `at`, or at the channel's strongest
    /// activation (first on ties); checked against the node's shape.
    pub fn unit(
        &self,
        node: NodeId,
        channel: usize,
        at: Option<(usize, usize)>,
    ) -> Result<Unit, ExplainError> {
        let s = self.shape(node);
        if channel >= s.c {
            return Err(ExplainError::ChannelOutOfRange {
                node: self.net.nodes[node].name.clone(),
                channel,
                channels: s.c,
            });
        }
        let plane = &self.outputs[node].data[channel * s.h * s.w..][..s.h * s.w];
        let (y, x) = match at {
            Some((y, x)) if y < s.h && x < s.w => (y, x),
            Some((y, x)) => {
                return Err(ExplainError::PositionOutOfRange {
                    node: self.net.nodes[node].name.clone(),
                    y,
                    x,
                    h: s.h,
                    w: s.w,
                })
            }
            None => {
                let best = argmax(plane);
                (best / s.w, best % s.w)
            }
        };
        Ok(Unit {
            node,
            channel,
            y,
            x,
        })
    }

    /// A deconvnet pass from `unit`, seeded 1.0 there and 0 elsewhere in its node.
    pub fn unit_pass(&self, unit: Unit, mode: Mode) -> Result<Backward<'_>, ExplainError> {
        let s = self.shape(unit.node);
        let mut seed = vec![0.0; s.len()];
        seed[(unit.channel * s.h + unit.y) * s.w + unit.x] = 1.0;
        Ok(Backward::new(
            self.net,
            self.weights,
            &self.outputs,
            unit.node,
            seed,
            mode,
        )?)
    }

    /// d score(class) / d input in `mode` (`Gradient` or `Guided`), shaped as the input.
    pub fn saliency(&self, class: usize, mode: Mode) -> Result<Tensor, ExplainError> {
        let grads = self.class_pass(class, mode)?.run()?;
        Ok(self.input_tensor(grads[0].as_deref()))
    }

    /// Zeiler & Fergus's projection of `unit` to the input (deconvnet mode), shaped as the input.
    pub fn deconvnet(&self, unit: Unit) -> Result<Tensor, ExplainError> {
        let grads = self.unit_pass(unit, Mode::Deconvnet)?.run()?;
        Ok(self.input_tensor(grads[0].as_deref()))
    }

    /// The input's gradient as a tensor shaped as the input (zero where nothing reached it).
    pub fn input_tensor(&self, grad: Option<&[f64]>) -> Tensor {
        let shape = self.outputs[0].shape.clone();
        let data = match grad {
            Some(g) => g.iter().map(|&v| v as f32).collect(),
            None => vec![0.0; self.outputs[0].len()],
        };
        Tensor::new(shape, data)
    }

    pub fn network(&self) -> &'a Network {
        self.net
    }
}

/// Index of the largest value, the first on ties (NaNs never win).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || values[best].is_nan() && !v.is_nan() {
            best = i;
        }
    }
    best
}
