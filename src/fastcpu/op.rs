//! One planned node of the fast engine: its layer with the weights it needs copied out and
//! made ready (convolutions packed and folded), and the call that runs it.

use super::conv::{ConvOp, Packed, Stage, Window};
use super::kernels::activate;
use super::{layers, pool};
use crate::model::{softmax, Activation, Fusion, Layer, Lrn, Network, NodeId, Pool2d, Shape};
use crate::weights::Weights;

/// A node's work, with everything it reads besides its inputs.
pub enum Op {
    /// The network input: written by `start`.
    Input,
    /// Flatten and dropout: the input unchanged.
    Copy,
    Conv(Box<ConvOp>),
    MaxPool(Pool2d),
    /// Average pooling's windows (input span and divisor), resolved once.
    AvgPool(Vec<(usize, usize, usize, usize, usize)>),
    AdaptiveAvgPool,
    GlobalAvgPool,
    /// A BatchNorm not folded into a convolution: per-channel scale and shift.
    ScaleShift(Vec<f32>, Vec<f32>),
    Activation(Activation),
    /// Weight `[out, in]` and bias (zeros when the layer has none).
    Dense(Vec<f32>, Vec<f32>),
    Rbf(Vec<f32>),
    /// Weight and bias of LeNet-5's subsampling or partial convolution.
    Layer(Layer, [Vec<f32>; 2]),
    Lrn(Lrn),
    Concat,
    Add,
    Softmax,
}

/// Where one node sits: its id, its input shapes and its output shape.
pub struct NodeShapes<'a> {
    pub id: NodeId,
    pub inputs: &'a [Shape],
    pub output: Shape,
}

impl Op {
    /// Node `at.id` of `net`, made ready; `fusion` when it is a convolution that absorbs the
    /// nodes after it. Weights must have been checked (`weights::check_weights`).
    pub fn new(net: &Network, weights: &Weights, at: &NodeShapes, fusion: Option<Fusion>) -> Op {
        let node = &net.nodes[at.id];
        let w = |suffix: &str| weights.get(&node.name, suffix).data.clone();
        let bias = |present: bool, len: usize| if present { w("bias") } else { vec![0.0; len] };
        match &node.layer {
            Layer::Input { .. } => Op::Input,
            Layer::Dropout(_) | Layer::Flatten => Op::Copy,
            Layer::Conv2d(c) => {
                let window = Window::new(c, at.inputs[0], at.output);
                let raw = Packed {
                    weight: w("weight"),
                    bias: bias(c.bias, c.out_channels),
                };
                let bn = fusion.and_then(|f| f.batchnorm).map(|id| &net.nodes[id]);
                let batchnorm = bn.map(|n| {
                    let t = |s: &str| &weights.get(&n.name, s).data[..];
                    let Layer::BatchNorm(b) = &n.layer else {
                        unreachable!("a fusion's batchnorm is a BatchNorm")
                    };
                    (
                        b,
                        [t("weight"), t("bias"), t("running_mean"), t("running_var")],
                    )
                });
                let activation =
                    fusion
                        .and_then(|f| f.activation)
                        .and_then(|id| match net.nodes[id].layer {
                            Layer::Activation(a) => Some(a),
                            _ => None,
                        });
                Op::Conv(Box::new(ConvOp::new(c, window, raw, batchnorm, activation)))
            }
            Layer::MaxPool2d(p) => Op::MaxPool(p.clone()),
            Layer::AvgPool2d(p) => Op::AvgPool(p.avg_windows(at.inputs[0], at.output)),
            Layer::AdaptiveAvgPool2d(_) => Op::AdaptiveAvgPool,
            Layer::GlobalAvgPool => Op::GlobalAvgPool,
            Layer::BatchNorm(b) => {
                let (gamma, beta, mean, var) =
                    (w("weight"), w("bias"), w("running_mean"), w("running_var"));
                let scale: Vec<f32> = (0..b.channels)
                    .map(|c| (gamma[c] as f64 / (var[c] as f64 + b.eps as f64).sqrt()) as f32)
                    .collect();
                let shift = (0..b.channels)
                    .map(|c| beta[c] - mean[c] * scale[c])
                    .collect();
                Op::ScaleShift(scale, shift)
            }
            Layer::Activation(a) => Op::Activation(*a),
            Layer::Dense(d) => Op::Dense(w("weight"), bias(d.bias, d.out_features)),
            Layer::Rbf(_) => Op::Rbf(w("weight")),
            Layer::Subsample(_) | Layer::PartialConv2d(_) => {
                Op::Layer(node.layer.clone(), [w("weight"), w("bias")])
            }
            Layer::Lrn(l) => Op::Lrn(l.clone()),
            Layer::Concat => Op::Concat,
            Layer::Add => Op::Add,
            Layer::Softmax => Op::Softmax,
        }
    }

    /// Scratch values the node needs while it runs.
    pub fn scratch_len(&self) -> usize {
        match self {
            Op::Conv(c) => c.scratch_len(),
            _ => 0,
        }
    }

    /// Run the node on `inputs` into `y` (sized for its output); `stage` matters only for a
    /// convolution.
    pub fn run(
        &self,
        inputs: &[&[f32]],
        at: &NodeShapes,
        y: &mut [f32],
        scratch: &mut Vec<f32>,
        stage: Stage,
    ) {
        // The first input and its shape (the input node has none).
        let out = at.output;
        let x = inputs.first().copied().unwrap_or(&[]);
        let s = at.inputs.first().copied().unwrap_or(out);
        match self {
            Op::Input => {}
            Op::Copy => y.copy_from_slice(x),
            Op::Conv(c) => c.run(x, y, scratch, stage),
            Op::MaxPool(p) => pool::max_pool(p, x, s, out, y),
            Op::AvgPool(windows) => pool::avg_pool(windows, x, s, y),
            Op::AdaptiveAvgPool => pool::adaptive_avg_pool(x, s, out, y),
            Op::GlobalAvgPool => pool::global_avg_pool(x, s, y),
            Op::ScaleShift(scale, shift) => layers::scale_shift(scale, shift, x, y),
            Op::Activation(a) => {
                y.copy_from_slice(x);
                activate(*a, y);
            }
            Op::Dense(weight, bias) => layers::dense(weight, bias, x, y),
            Op::Rbf(weight) => layers::rbf(weight, x, y),
            Op::Layer(Layer::Subsample(sub), [w, b]) => pool::subsample(sub, [w, b], x, s, out, y),
            Op::Layer(Layer::PartialConv2d(p), [w, b]) => {
                layers::partial_conv(p, [w, b], x, s, out, y)
            }
            Op::Layer(..) => unreachable!("only subsampling and partial convolutions"),
            Op::Lrn(l) => layers::lrn(l, x, s, y),
            Op::Concat => {
                let mut at = 0;
                for t in inputs {
                    y[at..at + t.len()].copy_from_slice(t);
                    at += t.len();
                }
            }
            Op::Add => layers::add(inputs, y),
            Op::Softmax => y.copy_from_slice(&softmax(x)),
        }
    }
}
