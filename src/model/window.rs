//! Layers that slide a window over the input: convolutions (general and LeNet's partial C3),
//! LeNet's subsampling, and pooling; with the padding and output-length rules they share.

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
/// with `P` the total padding and `F` the window's `span` (dilated, as [`Conv2d::span`] gives
/// it); `ceil` rounds up instead of down (PyTorch's `ceil_mode`, where a last window must
/// still start inside the input or its left padding). Returns `None` when the window does
/// not fit.
pub fn window_output(
    input: usize,
    span: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    ceil: bool,
) -> Option<usize> {
    if span == 0 || stride == 0 {
        return None;
    }
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
    /// The window the kernel covers once dilated: `d * (k - 1) + 1` per axis.
    pub fn span(&self) -> (usize, usize) {
        (
            self.dilation.0 * (self.kernel.0.max(1) - 1) + 1,
            self.dilation.1 * (self.kernel.1.max(1) - 1) + 1,
        )
    }
    /// The padding `[top, bottom, left, right]` on an input of `in_h x in_w`; SAME is
    /// resolved for the dilated window. The one padding rule of a convolution: shape
    /// inference, the CPU reference, the trainer, the GPU lowering and the receptive
    /// fields all call it.
    pub fn pads(&self, in_h: usize, in_w: usize) -> [usize; 4] {
        self.padding.resolve(in_h, in_w, self.span(), self.stride)
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
    /// The padding `[top, bottom, left, right]` on an input of `in_h x in_w`: the one
    /// padding rule of a pooling window.
    pub fn pads(&self, in_h: usize, in_w: usize) -> [usize; 4] {
        self.padding.resolve(in_h, in_w, self.kernel, self.stride)
    }
    /// Average pooling's windows on an input of shape `s` giving `out`, one per output pixel
    /// (row-major): the real-pixel ranges `(y0..y1, x0..x1)` and PyTorch's divisor. With
    /// `count_include_pad` the divisor is the window clipped to the padded input (padded
    /// positions count, positions past the padding added by `ceil_mode` do not); otherwise
    /// it is the number of real pixels. A window of padding only has divisor 0.
    pub fn avg_windows(&self, s: Shape, out: Shape) -> Vec<(usize, usize, usize, usize, usize)> {
        let [top, bottom, left, right] = self.pads(s.h, s.w);
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
