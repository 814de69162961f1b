//! Layer kinds: one config struct per kind, with documented fields and defaults.
//!
//! A layer is pure data. Its output shape, its parameter tensors and everything the
//! analysis, the CPU reference and the GPU engine need are derived from these structs.

use super::Shape;
use serde::Serialize;

/// Padding of a 2-D window (convolution or pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Padding {
    /// Explicit zero padding on each side, in pixels.
    Explicit {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
    /// TensorFlow "SAME": output = ceil(input / stride); the total padding is split with the
    /// extra pixel at the bottom / right (so stride-2 layers pad asymmetrically).
    Same,
}

impl Padding {
    /// The same padding `p` on all four sides (PyTorch's `padding=p`).
    pub const fn uniform(p: usize) -> Self {
        Padding::Explicit {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }

    /// No padding ("VALID").
    pub const fn none() -> Self {
        Self::uniform(0)
    }

    /// The concrete padding `[top, bottom, left, right]` for an input of `in_h x in_w`.
    pub fn resolve(
        &self,
        in_h: usize,
        in_w: usize,
        window: (usize, usize),
        stride: (usize, usize),
    ) -> [usize; 4] {
        match *self {
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => [top, bottom, left, right],
            Padding::Same => {
                let (t, b) = same_padding(in_h, window.0, stride.0);
                let (l, r) = same_padding(in_w, window.1, stride.1);
                [t, b, l, r]
            }
        }
    }
}

/// TensorFlow's SAME rule on one axis: `(before, after)` with the extra pixel after.
fn same_padding(input: usize, window: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let needed = ((out.saturating_sub(1)) * stride + window).saturating_sub(input);
    (needed / 2, needed - needed / 2)
}

/// One axis of a sliding window: output length from `N = (W - F + P) / S + 1`,
/// with `P` the total padding and `F` the dilated window; `ceil` rounds up instead of down
/// (PyTorch's `ceil_mode`, where a last window must still start inside the input or its
/// left padding). Returns `None` when the window does not fit.
pub fn window_output(
    input: usize,
    window: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    dilation: usize,
    ceil: bool,
) -> Option<usize> {
    if window == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let span = dilation * (window - 1) + 1;
    let padded = input + pad_before + pad_after;
    // PyTorch's pooling_output_shape: ceil mode adds stride - 1 before dividing.
    let extra = if ceil { stride - 1 } else { 0 };
    if padded + extra < span {
        return None;
    }
    let mut out = (padded + extra - span) / stride + 1;
    // PyTorch: the last pooling window must start inside the input or the left padding.
    if ceil && (out - 1) * stride >= input + pad_before {
        out -= 1;
    }
    (out > 0).then_some(out)
}

/// 2-D convolution. Weight `[out_channels, in_channels / groups, kernel.0, kernel.1]`, bias `[out_channels]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conv2d {
    /// Input channels; checked against the incoming tensor during shape inference.
    pub in_channels: usize,
    /// Output channels (number of filters).
    pub out_channels: usize,
    /// Kernel `(height, width)`.
    pub kernel: (usize, usize),
    /// Stride `(vertical, horizontal)`. Default `(1, 1)`.
    pub stride: (usize, usize),
    /// Zero padding. Default none.
    pub padding: Padding,
    /// Dilation `(vertical, horizontal)`. Default `(1, 1)`.
    pub dilation: (usize, usize),
    /// Groups: `in_channels` and `out_channels` are split into this many independent groups
    /// (2 in AlexNet's two-GPU layers, `in_channels` for a depthwise convolution). Default 1.
    pub groups: usize,
    /// Whether a bias is added. Default true.
    pub bias: bool,
}

impl Conv2d {
    /// A square `k x k` convolution, stride 1, no padding, with bias.
    pub fn new(in_channels: usize, out_channels: usize, k: usize) -> Self {
        Conv2d {
            in_channels,
            out_channels,
            kernel: (k, k),
            stride: (1, 1),
            padding: Padding::none(),
            dilation: (1, 1),
            groups: 1,
            bias: true,
        }
    }
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }
    pub fn pad(mut self, p: usize) -> Self {
        self.padding = Padding::uniform(p);
        self
    }
    pub fn same(mut self) -> Self {
        self.padding = Padding::Same;
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }
    pub fn no_bias(mut self) -> Self {
        self.bias = false;
        self
    }
    /// Weights each output value reads: `in_channels / groups * kh * kw`.
    pub fn fan_in(&self) -> usize {
        self.in_channels / self.groups * self.kernel.0 * self.kernel.1
    }
}

/// LeNet-5's partially connected C3 layer: output map `o` convolves only the input maps
/// listed in `table[o]` (LeCun et al. 1998, Table I). No padding, stride 1.
///
/// Weight `[sum of table lengths, kernel, kernel]`, packed output map by output map in the
/// order of each row of the table; bias `[table.len()]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartialConv2d {
    /// Input maps (6 in LeNet-5).
    pub in_channels: usize,
    /// For each output map, the input maps it reads, ascending.
    pub table: Vec<Vec<usize>>,
    /// Square kernel size (5 in LeNet-5).
    pub kernel: usize,
}

impl PartialConv2d {
    /// Total number of (output map, input map) connections.
    pub fn connections(&self) -> usize {
        self.table.iter().map(Vec::len).sum()
    }
    /// Offset, in kernels, of output map `o`'s first kernel inside the packed weight.
    pub fn weight_offset(&self, o: usize) -> usize {
        self.table[..o].iter().map(Vec::len).sum()
    }
}

/// LeNet-5's trainable subsampling (S2, S4): each output is
/// `coefficient[c] * (sum of a non-overlapping window x window block) + bias[c]`.
/// Weight `[channels]` (the coefficients), bias `[channels]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subsample {
    pub channels: usize,
    /// Window size and stride. Default 2.
    pub window: usize,
}

/// Max or average pooling over a `kernel` window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pool2d {
    /// Window `(height, width)`.
    pub kernel: (usize, usize),
    /// Stride; smaller than the kernel means overlapping pooling (AlexNet's 3x3/2).
    pub stride: (usize, usize),
    /// Padding: max pooling pads with -infinity; average pooling with zeros.
    pub padding: Padding,
    /// Round the output size up instead of down (PyTorch `ceil_mode`). Default false.
    pub ceil_mode: bool,
    /// Average pooling only: whether padded zeros count in the divisor (PyTorch's default,
    /// true). Windows cut short by `ceil_mode` always divide by the in-bounds part only.
    pub count_include_pad: bool,
}

impl Pool2d {
    /// A square `k x k` window with stride `s`, no padding, floor mode.
    pub fn new(k: usize, s: usize) -> Self {
        Pool2d {
            kernel: (k, k),
            stride: (s, s),
            padding: Padding::none(),
            ceil_mode: false,
            count_include_pad: true,
        }
    }
    pub fn pad(mut self, p: usize) -> Self {
        self.padding = Padding::uniform(p);
        self
    }
    pub fn same(mut self) -> Self {
        self.padding = Padding::Same;
        self
    }
    pub fn ceil(mut self) -> Self {
        self.ceil_mode = true;
        self
    }
    /// Average pooling's windows on an input of shape `s` giving `out`, one per output pixel
    /// (row-major): the real-pixel ranges `(y0..y1, x0..x1)` and PyTorch's divisor. With
    /// `count_include_pad` the divisor is the window clipped to the padded input (padded
    /// positions count, positions past the padding added by `ceil_mode` do not); otherwise
    /// it is the number of real pixels. A window of padding only has divisor 0.
    pub fn avg_windows(&self, s: Shape, out: Shape) -> Vec<(usize, usize, usize, usize, usize)> {
        let [top, bottom, left, right] = self.padding.resolve(s.h, s.w, self.kernel, self.stride);
        let mut windows = Vec::with_capacity(out.h * out.w);
        for oy in 0..out.h {
            let y0 = oy * self.stride.0;
            let y1 = (y0 + self.kernel.0).min(s.h + top + bottom);
            let (in_y0, in_y1) = (y0.max(top) - top, y1.min(s.h + top).max(top) - top);
            for ox in 0..out.w {
                let x0 = ox * self.stride.1;
                let x1 = (x0 + self.kernel.1).min(s.w + left + right);
                let (in_x0, in_x1) = (x0.max(left) - left, x1.min(s.w + left).max(left) - left);
                let (in_y1, in_x1) = (in_y1.max(in_y0), in_x1.max(in_x0));
                let divisor = if self.count_include_pad {
                    (y1 - y0) * (x1 - x0)
                } else {
                    (in_y1 - in_y0) * (in_x1 - in_x0)
                };
                windows.push((in_y0, in_y1, in_x0, in_x1, divisor));
            }
        }
        windows
    }
}

/// PyTorch's adaptive average pooling to a fixed `output` size: output cell `i` of an axis
/// of length `n` averages input cells `floor(i n / out)` to `ceil((i + 1) n / out) - 1`.
/// torchvision puts it before the classifiers of AlexNet (6x6) and VGG (7x7) so they take any
/// input size; at 224x224 it is the identity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdaptiveAvgPool2d {
    /// Output `(height, width)`.
    pub output: (usize, usize),
}

impl AdaptiveAvgPool2d {
    /// The input cells `[start, end)` averaged into output cell `i` of `out` along an axis of `n`.
    pub fn bin(i: usize, n: usize, out: usize) -> (usize, usize) {
        (i * n / out, ((i + 1) * n).div_ceil(out))
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Activation {
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    Sigmoid,
    Tanh,
    /// LeNet-5's squashing function `1.7159 * tanh(2x / 3)` (LeCun et al. 1998, Appendix A).
    ScaledTanh,
}

impl Activation {
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::ScaledTanh => 1.7159 * (2.0 * x / 3.0).tanh(),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::ScaledTanh => "scaled_tanh",
        }
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
