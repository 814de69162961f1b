//! Layer kinds: one config struct per kind, with documented fields and defaults.
//!
//! A layer is pure data. Its output shape, its parameter tensors and everything the
//! analysis, the CPU reference and the GPU engine need are derived from these structs.

use super::window::{AdaptiveAvgPool2d, Conv2d, PartialConv2d, Pool2d, Subsample};
use serde::Serialize;

/// Local response normalisation across channels, as written in Krizhevsky et al. 2012, §3.3:
/// `b_c = a_c / (k + alpha * sum_{c' in window} a_c'^2) ^ beta`, the window being `size`
/// channels centred on `c` (clipped at the ends). Note: `alpha` is NOT divided by `size`
/// (PyTorch's `LocalResponseNorm` divides it; convert with `alpha_paper = alpha_torch / size`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lrn {
    /// Channels in the window, `n` in the paper (5 in AlexNet).
    pub size: usize,
    /// Scale (1e-4 in AlexNet).
    pub alpha: f32,
    /// Exponent (0.75 in AlexNet).
    pub beta: f32,
    /// Additive constant (2 in AlexNet).
    pub k: f32,
}

impl Lrn {
    /// AlexNet's constants: k = 2, n = 5, alpha = 1e-4, beta = 0.75.
    pub fn alexnet() -> Self {
        Lrn {
            size: 5,
            alpha: 1e-4,
            beta: 0.75,
            k: 2.0,
        }
    }
}

/// Batch normalisation at inference: `(x - running_mean) / sqrt(running_var + eps) * weight + bias`,
/// per channel. Tensors `weight`, `bias`, `running_mean`, `running_var`, each `[channels]`;
/// only weight and bias are trainable parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchNorm {
    pub channels: usize,
    /// Default 1e-5 (PyTorch); EfficientNet-Lite uses 1e-3.
    pub eps: f32,
}

/// Element-wise activation functions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Activation {
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` where `x > 0`, else `alpha * x` (Maas et al. 2013); ONNX's default `alpha` is 0.01.
    /// `alpha >= 0` (the ONNX import refuses a negative one): then the output's sign is the
    /// input's, which lets a backward pass read the slope from the output alone.
    LeakyRelu {
        alpha: f32,
    },
    Sigmoid,
    Tanh,
    /// LeNet-5's squashing function `1.7159 * tanh(2x / 3)` (LeCun et al. 1998, Appendix A).
    ScaledTanh,
}

/// LeNet-5's squashing function `A tanh(S x)`: amplitude and slope (LeCun et al. 1998, Appendix A).
pub const SCALED_TANH_A: f32 = 1.7159;
pub const SCALED_TANH_S: f32 = 2.0 / 3.0;

impl Activation {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::LeakyRelu { alpha } => leaky(x, alpha),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::ScaledTanh => 1.7159 * (2.0 * x / 3.0).tanh(),
        }
    }
    /// `d a(u) / du` at input `u`, whose output is `v = a(u)` (so sigmoid and tanh need no
    /// second exponential). ReLU's kink at 0 and ReLU6's at 0 and 6 take the derivative 0,
    /// and leaky ReLU's kink at 0 the slope `alpha`, as PyTorch's autograd does.
    pub fn derivative(self, u: f32, v: f32) -> f32 {
        match self {
            Activation::Relu => (u > 0.0) as u8 as f32,
            Activation::Relu6 => (u > 0.0 && u < 6.0) as u8 as f32,
            Activation::LeakyRelu { alpha } => leaky_slope(u > 0.0, alpha),
            Activation::Sigmoid => v * (1.0 - v),
            Activation::Tanh => 1.0 - v * v,
            // v = A tanh(S u)  =>  dv/du = A S (1 - tanh^2) = S (A - v^2 / A).
            Activation::ScaledTanh => SCALED_TANH_S * (SCALED_TANH_A - v * v / SCALED_TANH_A),
        }
    }
    /// The slope `d a / du` at `u`.
    pub fn slope(self, u: f32) -> f32 {
        self.derivative(u, self.apply(u))
    }
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::ScaledTanh => "scaled_tanh",
        }
    }
}

/// Leaky ReLU: `x` where `x > 0`, else `alpha * x`.
pub fn leaky(x: f32, alpha: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        alpha * x
    }
}

/// Leaky ReLU's slope: 1 on the open side, `alpha` on the other (the kink at 0 included).
pub fn leaky_slope(open: bool, alpha: f32) -> f32 {
    if open {
        1.0
    } else {
        alpha
    }
}

/// Fully connected layer. Weight `[out_features, in_features]` (PyTorch layout), bias `[out_features]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dense {
    /// Checked against the incoming (flattened) tensor during shape inference.
    pub in_features: usize,
    pub out_features: usize,
    /// Default true.
    pub bias: bool,
}

impl Dense {
    pub fn new(in_features: usize, out_features: usize) -> Self {
        Dense {
            in_features,
            out_features,
            bias: true,
        }
    }
}

/// LeNet-5's Euclidean radial basis function output: `y_i = sum_j (x_j - w_ij)^2`
/// (LeCun et al. 1998, §II-B). Weight `[outputs, in_features]`; smaller is a better match.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rbf {
    pub in_features: usize,
    pub outputs: usize,
}

/// Dropout: the identity at inference, kept as a layer so the page shows where it sits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dropout {
    /// Drop probability during training (0.5 in AlexNet and VGG).
    pub p: f32,
}

/// One node's operation. Inputs come from the graph: every kind takes one input except
/// `Concat` and `Add` (two or more) and `Input` (none).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Layer {
    /// The network input: an image of `channels x H x W`; its size is chosen per run.
    Input {
        channels: usize,
    },
    Conv2d(Conv2d),
    PartialConv2d(PartialConv2d),
    Subsample(Subsample),
    MaxPool2d(Pool2d),
    AvgPool2d(Pool2d),
    AdaptiveAvgPool2d(AdaptiveAvgPool2d),
    Lrn(Lrn),
    BatchNorm(BatchNorm),
    Activation(Activation),
    Dropout(Dropout),
    /// `C x H x W` to `(C*H*W) x 1 x 1`, channel-major as PyTorch's `flatten`.
    Flatten,
    Dense(Dense),
    Rbf(Rbf),
    /// Concatenation along channels; all inputs share H x W.
    Concat,
    /// Element-wise sum (residual connection); all inputs share one shape.
    Add,
    /// Mean over H x W per channel, giving `C x 1 x 1`.
    GlobalAvgPool,
    /// Softmax over all elements (used on `C x 1 x 1` logits).
    Softmax,
}

/// A named parameter tensor of a layer: `name` is the suffix after the node name
/// (`weight`, `bias`, `running_mean`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TensorSpec {
    pub name: &'static str,
    pub shape: Vec<usize>,
    /// False for buffers such as BatchNorm running statistics.
    pub trainable: bool,
}

impl TensorSpec {
    fn trained(name: &'static str, shape: Vec<usize>) -> Self {
        TensorSpec {
            name,
            shape,
            trainable: true,
        }
    }
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Layer {
    /// Short lower-case kind name, as shown in tables and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Input { .. } => "input",
            Layer::Conv2d(c) if c.groups > 1 && c.groups == c.in_channels => "conv_depthwise",
            Layer::Conv2d(_) => "conv",
            Layer::PartialConv2d(_) => "conv_partial",
            Layer::Subsample(_) => "subsample",
            Layer::MaxPool2d(_) => "maxpool",
            Layer::AvgPool2d(_) => "avgpool",
            Layer::AdaptiveAvgPool2d(_) => "adaptive_avgpool",
            Layer::Lrn(_) => "lrn",
            Layer::BatchNorm(_) => "batchnorm",
            Layer::Activation(a) => a.name(),
            Layer::Dropout(_) => "dropout",
            Layer::Flatten => "flatten",
            Layer::Dense(_) => "dense",
            Layer::Rbf(_) => "rbf",
            Layer::Concat => "concat",
            Layer::Add => "add",
            Layer::GlobalAvgPool => "global_avgpool",
            Layer::Softmax => "softmax",
        }
    }

    /// The parameter and buffer tensors this layer owns, in a fixed order.
    pub fn tensors(&self) -> Vec<TensorSpec> {
        match self {
            Layer::Conv2d(c) => {
                let mut t = vec![TensorSpec::trained(
                    "weight",
                    vec![
                        c.out_channels,
                        c.in_channels / c.groups,
                        c.kernel.0,
                        c.kernel.1,
                    ],
                )];
                if c.bias {
                    t.push(TensorSpec::trained("bias", vec![c.out_channels]));
                }
                t
            }
            Layer::PartialConv2d(p) => vec![
                TensorSpec::trained("weight", vec![p.connections(), p.kernel, p.kernel]),
                TensorSpec::trained("bias", vec![p.table.len()]),
            ],
            Layer::Subsample(s) => vec![
                TensorSpec::trained("weight", vec![s.channels]),
                TensorSpec::trained("bias", vec![s.channels]),
            ],
            Layer::BatchNorm(b) => vec![
                TensorSpec::trained("weight", vec![b.channels]),
                TensorSpec::trained("bias", vec![b.channels]),
                TensorSpec {
                    name: "running_mean",
                    shape: vec![b.channels],
                    trainable: false,
                },
                TensorSpec {
                    name: "running_var",
                    shape: vec![b.channels],
                    trainable: false,
                },
            ],
            Layer::Dense(d) => {
                let mut t = vec![TensorSpec::trained(
                    "weight",
                    vec![d.out_features, d.in_features],
                )];
                if d.bias {
                    t.push(TensorSpec::trained("bias", vec![d.out_features]));
                }
                t
            }
            Layer::Rbf(r) => vec![TensorSpec::trained(
                "weight",
                vec![r.outputs, r.in_features],
            )],
            _ => Vec::new(),
        }
    }

    /// Number of trainable parameters.
    pub fn params(&self) -> usize {
        self.tensors()
            .iter()
            .filter(|t| t.trainable)
            .map(TensorSpec::len)
            .sum()
    }
}
