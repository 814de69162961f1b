//! Convolutions in f32: weights made ready once (BatchNorm folded in), then run as matrix
//! products (1x1 directly on the `[C, H x W]` input, others through im2col) or, for depthwise
//! convolutions, as row sweeps that vectorise (`depthwise.rs`).

use super::depthwise::depthwise;
use super::gemm::{matmul, Dims};
use super::kernels::{valid_range, Epilogue};
pub use super::window::Window;
use crate::model::{Activation, BatchNorm, Conv2d};

/// How one convolution runs, chosen once when it is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKernel {
    /// 1x1, stride 1, no padding: the input planes are already the matrix product's operand.
    Pointwise,
    /// One input channel per group: each output plane sums shifted rows of one input plane.
    Depthwise,
    /// Everything else: the receptive fields copied into columns, then one product a group.
    Im2col,
}

/// Weights `[out_c, in_c / groups * kh * kw]` (row-major, the matrix product's left operand)
/// and one bias per output channel.
pub struct Packed {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// How much of a fused convolution to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The convolution alone (reading a fused convolution's own output).
    Raw,
    /// With its BatchNorm folded in, before the activation.
    Folded,
    /// With its BatchNorm and activation: what the forward pass stores.
    Full,
}

/// A planned convolution.
pub struct ConvOp {
    pub kernel: ConvKernel,
    window: Window,
    folded: Packed,
    /// The weights before folding, kept only when a BatchNorm was folded in.
    raw: Option<Packed>,
    activation: Option<Activation>,
}

impl ConvOp {
    /// `weight` and `bias` as the layer owns them; `batchnorm` is the folded BatchNorm's
    /// config and its `[weight, bias, running_mean, running_var]`.
    pub fn new(
        c: &Conv2d,
        window: Window,
        raw: Packed,
        batchnorm: Option<(&BatchNorm, [&[f32]; 4])>,
        activation: Option<Activation>,
    ) -> Self {
        let kernel = if c.kernel == (1, 1) && c.stride == (1, 1) && window.pad == (0, 0) {
            ConvKernel::Pointwise
        } else if window.groups > 1 && window.in_per_group() == 1 {
            ConvKernel::Depthwise
        } else {
            ConvKernel::Im2col
        };
        let (folded, raw) = match batchnorm {
            Some((bn, params)) => (fold(&raw, bn, params), Some(raw)),
            None => (raw, None),
        };
        ConvOp {
            kernel,
            window,
            folded,
            raw,
            activation,
        }
    }

    /// Scratch values the im2col kernel needs.
    pub fn scratch_len(&self) -> usize {
        match self.kernel {
            ConvKernel::Im2col => self.window.depth() * self.window.output.h * self.window.output.w,
            _ => 0,
        }
    }

    /// Convolution of `x` into `out` (`[out_c, oh, ow]`), as far as `stage`.
    pub fn run(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<f32>, stage: Stage) {
        let packed = match (stage, &self.raw) {
            (Stage::Raw, Some(raw)) => raw,
            _ => &self.folded,
        };
        let activation = self.activation.filter(|_| stage == Stage::Full);
        let epilogue = Epilogue {
            bias: &packed.bias,
            activation,
        };
        // The products store their sums; the bias and activation follow in one pass (the
        // depthwise kernel applies them a plane at a time, while the plane is in cache).
        match self.kernel {
            ConvKernel::Pointwise => self.pointwise(x, out, &packed.weight),
            ConvKernel::Depthwise => depthwise(&self.window, x, out, &packed.weight, epilogue),
            ConvKernel::Im2col => self.im2col(x, out, &packed.weight, scratch),
        }
        if self.kernel != ConvKernel::Depthwise {
            let plane = self.window.output.h * self.window.output.w;
            for (o, y) in out.chunks_exact_mut(plane).enumerate() {
                epilogue.apply(o, y);
            }
        }
    }

    fn pointwise(&self, x: &[f32], out: &mut [f32], weight: &[f32]) {
        let w = &self.window;
        let plane = w.input.h * w.input.w;
        let (cin, cout) = (w.in_per_group(), w.out_per_group());
        for g in 0..w.groups {
            matmul(
                (&weight[g * cout * cin..], Dims::packed(cout, cin)),
                (&x[g * cin * plane..], Dims::packed(cin, plane)),
                (&mut out[g * cout * plane..], Dims::packed(cout, plane)),
                false,
            );
        }
    }

    fn im2col(&self, x: &[f32], out: &mut [f32], weight: &[f32], scratch: &mut Vec<f32>) {
        let w = &self.window;
        let plane = w.output.h * w.output.w;
        let (cin, cout, depth) = (w.in_per_group(), w.out_per_group(), w.depth());
        scratch.resize(self.scratch_len(), 0.0);
        let in_plane = w.input.h * w.input.w;
        for g in 0..w.groups {
            let planes = &x[g * cin * in_plane..][..cin * in_plane];
            columns(w, planes, &mut scratch[..depth * plane]);
            matmul(
                (&weight[g * cout * depth..], Dims::packed(cout, depth)),
                (&scratch[..], Dims::packed(depth, plane)),
                (&mut out[g * cout * plane..], Dims::packed(cout, plane)),
                false,
            );
        }
    }
}

/// `weight * scale`, `(bias - mean) * scale + beta` with `scale = gamma / sqrt(var + eps)`.
fn fold(raw: &Packed, bn: &BatchNorm, params: [&[f32]; 4]) -> Packed {
    let [gamma, beta, mean, var] = params;
    let per_out = raw.weight.len() / raw.bias.len().max(1);
    let mut weight = raw.weight.clone();
    let mut bias = raw.bias.clone();
    for (o, (row, b)) in weight.chunks_exact_mut(per_out).zip(&mut bias).enumerate() {
        let scale = gamma[o] as f64 / (var[o] as f64 + bn.eps as f64).sqrt();
        row.iter_mut().for_each(|v| *v = (*v as f64 * scale) as f32);
        *b = ((*b as f64 - mean[o] as f64) * scale + beta[o] as f64) as f32;
    }
    Packed { weight, bias }
}

/// im2col: row `(ci, ky, kx)` of `cols` holds, for every output pixel, the input value its
/// window reads at that tap (0 in the padding).
fn columns(w: &Window, planes: &[f32], cols: &mut [f32]) {
    let (oh, ow) = (w.output.h, w.output.w);
    let (kh, kw) = w.kernel;
    let in_plane = w.input.h * w.input.w;
    let mut rows = cols.chunks_exact_mut(oh * ow);
    for src in planes.chunks_exact(in_plane) {
        for ky in 0..kh {
            for kx in 0..kw {
                let row = rows.next().expect("one row per tap");
                let tap_x = (kx * w.dilation.1) as isize;
                let (lo, hi) = valid_range(ow, w.stride.1, kx * w.dilation.1, w.pad.1, w.input.w);
                for (oy, dst) in row.chunks_exact_mut(ow).enumerate() {
                    let iy = (oy * w.stride.0 + ky * w.dilation.0).checked_sub(w.pad.0);
                    match iy.filter(|&iy| iy < w.input.h) {
                        None => dst.fill(0.0),
                        Some(iy) => {
                            let line = &src[iy * w.input.w..][..w.input.w];
                            gather(dst, line, (lo, hi), tap_x - w.pad.1 as isize, w.stride.1);
                        }
                    }
                }
            }
        }
    }
}

/// `dst[j] = line[j * stride + shift]` for `j` in `lo..hi` (where that index is inside the
/// line, see [`valid_range`]), 0 elsewhere.
fn gather(dst: &mut [f32], line: &[f32], (lo, hi): (usize, usize), shift: isize, stride: usize) {
    dst[..lo].fill(0.0);
    dst[hi..].fill(0.0);
    if lo >= hi {
        return;
    }
    let first = ((lo * stride) as isize + shift) as usize;
    let inside = &mut dst[lo..hi];
    if stride == 1 {
        inside.copy_from_slice(&line[first..first + inside.len()]);
    } else {
        for (d, &v) in inside.iter_mut().zip(line[first..].iter().step_by(stride)) {
            *d = v;
        }
    }
}
