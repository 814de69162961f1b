//! The batched forward pass used for training and fast evaluation: every layer on `n` images
//! at once, convolutions as matrix products, in f32. In evaluation mode it computes what
//! `cpu::forward` computes (a test checks); in training mode Dropout drops and BatchNorm uses
//! batch statistics. Each layer also returns what its backward pass needs.

use super::activation::activate;
use super::batch::add_bias;
pub use super::batch::Batch;
use super::conv::{conv_forward, expand_partial, ConvSpec};
use super::gemm::matmul_nt;
use super::lrn::lrn_forward;
use super::TrainError;
use crate::model::{softmax, Layer, Pool2d, Shape};
use crate::weights::Weights;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Training mode (Dropout active, BatchNorm on batch statistics) or evaluation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `seed` draws the dropout masks; the same seed draws the same masks.
    Train {
        seed: u64,
    },
    Eval,
}

/// What a layer's backward pass needs besides its inputs and output.
#[derive(Clone, Debug, Default)]
pub enum Saved {
    #[default]
    Nothing,
    /// Max pooling: the input index (within its image) each output took, `u32::MAX` for none.
    Argmax(Vec<u32>),
    /// Dropout: the factor each value was multiplied by (0 or `1 / (1 - p)`).
    Mask(Vec<f32>),
    /// LRN: each value's `k + alpha * sum of squares` over its channel window.
    LrnScale(Vec<f32>),
    /// BatchNorm in training mode: per-channel batch mean, biased variance and `1/sqrt(var+eps)`.
    BatchStats {
        mean: Vec<f32>,
        var: Vec<f32>,
        inv_std: Vec<f32>,
        count: usize,
    },
}

/// The parameter tensors of one node.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    pub node: &'a str,
    pub weights: &'a Weights,
}

impl<'a> Params<'a> {
    pub fn get(&self, suffix: &str) -> &'a [f32] {
        &self.weights.get(self.node, suffix).data
    }
}

/// The real-pixel window `(y0..y1, x0..x1)` and divisor of each output pixel of an average
/// pooling: [`Pool2d::avg_windows`], the rule the reference uses, with an f32 divisor.
pub fn avg_windows(p: &Pool2d, s: Shape, out: Shape) -> Vec<(usize, usize, usize, usize, f32)> {
    p.avg_windows(s, out)
        .into_iter()
        .map(|(y0, y1, x0, x1, d)| (y0, y1, x0, x1, d as f32))
        .collect()
}

/// One layer on a batch. `out` is the output shape from shape inference.
// One arm per layer kind, each the batched forward of that kind alone.
#[allow(clippy::too_many_lines)]
pub fn forward_layer(
    layer: &Layer,
    params: Params,
    ins: &[&Batch],
    out: Shape,
    mode: Mode,
) -> Result<(Batch, Saved), TrainError> {
    let x = ins[0];
    let (n, s) = (x.n, x.shape);
    let mut y = Batch::zeros(n, out);
    let mut saved = Saved::Nothing;
    match layer {
        Layer::Conv2d(c) => {
            let bias = c.bias.then(|| params.get("bias"));
            conv_forward(
                &ConvSpec::of_conv(c, s),
                x,
                params.get("weight"),
                bias,
                &mut y,
            );
        }
        Layer::PartialConv2d(p) => {
            let weight = expand_partial(p, params.get("weight"));
            let bias = Some(params.get("bias"));
            conv_forward(&ConvSpec::of_partial(p), x, &weight, bias, &mut y);
        }
        Layer::Subsample(sub) => {
            let (coef, bias) = (params.get("weight"), params.get("bias"));
            let k = sub.window;
            for (i, v) in y.data.iter_mut().enumerate() {
                let (b, c, oy, ox) = unravel(i, out);
                let mut sum = 0.0;
                for ky in 0..k {
                    let row = ((b * s.c + c) * s.h + oy * k + ky) * s.w + ox * k;
                    sum += x.data[row..row + k].iter().sum::<f32>();
                }
                *v = coef[c] * sum + bias[c];
            }
        }
        Layer::MaxPool2d(p) => {
            let [top, _, left, _] = p.pads(s.h, s.w);
            let mut argmax = vec![u32::MAX; y.data.len()];
            for (i, v) in y.data.iter_mut().enumerate() {
                let (b, c, oy, ox) = unravel(i, out);
                let mut m = f32::NEG_INFINITY;
                for ky in 0..p.kernel.0 {
                    let iy = (oy * p.stride.0 + ky) as isize - top as isize;
                    for kx in 0..p.kernel.1 {
                        let ix = (ox * p.stride.1 + kx) as isize - left as isize;
                        if iy < 0 || ix < 0 || iy as usize >= s.h || ix as usize >= s.w {
                            continue;
                        }
                        let at = (c * s.h + iy as usize) * s.w + ix as usize;
                        let value = x.data[b * s.len() + at];
                        if value > m || value.is_nan() || argmax[i] == u32::MAX {
                            m = value;
                            argmax[i] = at as u32;
                        }
                    }
                }
                *v = m;
            }
            saved = Saved::Argmax(argmax);
        }
        Layer::AvgPool2d(p) => {
            let windows = avg_windows(p, s, out);
            for (i, v) in y.data.iter_mut().enumerate() {
                let (b, c, oy, ox) = unravel(i, out);
                let (y0, y1, x0, x1, divisor) = windows[oy * out.w + ox];
                let plane = (b * s.c + c) * s.h;
                let sum: f32 = (y0..y1)
                    .map(|iy| {
                        x.data[(plane + iy) * s.w + x0..(plane + iy) * s.w + x1]
                            .iter()
                            .sum::<f32>()
                    })
                    .sum();
                *v = if divisor == 0.0 { 0.0 } else { sum / divisor };
            }
        }
        Layer::GlobalAvgPool => {
            let plane = s.h * s.w;
            for (i, v) in y.data.iter_mut().enumerate() {
                *v = x.data[i * plane..(i + 1) * plane].iter().sum::<f32>() / plane as f32;
            }
        }
        Layer::Activation(a) => {
            for (v, &u) in y.data.iter_mut().zip(&x.data) {
                *v = activate(*a, u);
            }
        }
        Layer::Dropout(d) => match mode {
            Mode::Eval => y.data.copy_from_slice(&x.data),
            Mode::Train { seed } => {
                let mut rng = StdRng::seed_from_u64(seed);
                let keep = 1.0 - d.p;
                let scale = if keep > 0.0 { 1.0 / keep } else { 0.0 };
                let mask: Vec<f32> = (0..x.data.len())
                    .map(|_| {
                        if rng.random::<f32>() < keep {
                            scale
                        } else {
                            0.0
                        }
                    })
                    .collect();
                for ((v, &u), &m) in y.data.iter_mut().zip(&x.data).zip(&mask) {
                    *v = u * m;
                }
                saved = Saved::Mask(mask);
            }
        },
        Layer::BatchNorm(bn) => {
            let (gamma, beta) = (params.get("weight"), params.get("bias"));
            let plane = s.h * s.w;
            let (mean, var) = match mode {
                Mode::Eval => (
                    params.get("running_mean").to_vec(),
                    params.get("running_var").to_vec(),
                ),
                Mode::Train { .. } => channel_stats(x),
            };
            let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + bn.eps).sqrt()).collect();
            for (i, v) in y.data.iter_mut().enumerate() {
                let c = (i / plane) % s.c;
                *v = (x.data[i] - mean[c]) * inv_std[c] * gamma[c] + beta[c];
            }
            if let Mode::Train { .. } = mode {
                let count = n * plane;
                saved = Saved::BatchStats {
                    mean,
                    var,
                    inv_std,
                    count,
                };
            }
        }
        Layer::Lrn(l) => saved = Saved::LrnScale(lrn_forward(l, x, &mut y.data)),
        Layer::Flatten => y.data.copy_from_slice(&x.data),
        Layer::Dense(d) => {
            matmul_nt(
                n,
                d.in_features,
                d.out_features,
                &x.data,
                params.get("weight"),
                &mut y.data,
            );
            if d.bias {
                add_bias(&mut y.data, params.get("bias"), 1);
            }
        }
        Layer::Rbf(r) => {
            let centres = params.get("weight");
            for (i, v) in y.data.iter_mut().enumerate() {
                let (b, o) = (i / r.outputs, i % r.outputs);
                let row = &centres[o * r.in_features..(o + 1) * r.in_features];
                *v = row
                    .iter()
                    .zip(x.image(b))
                    .map(|(w, u)| (u - w) * (u - w))
                    .sum();
            }
        }
        Layer::Concat => {
            let mut offset = 0;
            for b in 0..n {
                for t in ins {
                    let part = t.image(b);
                    y.data[offset..offset + part.len()].copy_from_slice(part);
                    offset += part.len();
                }
            }
        }
        Layer::Add => {
            for t in ins {
                for (v, u) in y.data.iter_mut().zip(&t.data) {
                    *v += u;
                }
            }
        }
        Layer::Softmax => {
            for b in 0..n {
                let logits = x.image(b);
                let probs = softmax(logits);
                y.data[b * out.len()..(b + 1) * out.len()].copy_from_slice(&probs);
            }
        }
        Layer::Input { .. } | Layer::AdaptiveAvgPool2d(_) => {
            return Err(TrainError::Unsupported {
                node: params.node.to_string(),
                kind: layer.kind(),
            })
        }
    }
    Ok((y, saved))
}

/// `(image, channel, row, column)` of flat index `i` in a batch of `s`-shaped images.
pub fn unravel(i: usize, s: Shape) -> (usize, usize, usize, usize) {
    let (plane, ox) = (i / s.w, i % s.w);
    let (chan, oy) = (plane / s.h, plane % s.h);
    (chan / s.c, chan % s.c, oy, ox)
}

/// Per-channel mean and biased variance over every image and pixel.
fn channel_stats(x: &Batch) -> (Vec<f32>, Vec<f32>) {
    let (c, plane) = (x.shape.c, x.shape.h * x.shape.w);
    let count = (x.n * plane) as f64;
    let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let values = || (0..x.n).flat_map(move |b| x.data[(b * c + ch) * plane..][..plane].iter());
        let m = values().map(|&v| v as f64).sum::<f64>() / count;
        let v = values().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / count;
        (mean[ch], var[ch]) = (m as f32, v as f32);
    }
    (mean, var)
}
