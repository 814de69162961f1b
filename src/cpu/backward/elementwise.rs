//! Backward of the layers that keep the shape: activations (in the three modes), BatchNorm at
//! inference, LRN and softmax; and of the layers that only move values: add, concat.

use super::Mode;
use crate::model::{Activation, BatchNorm, Lrn, Shape};

/// `dx = f'(x) * dy` with `x` the activation's input, changed by `mode` for the rectifiers:
/// - `Gradient`: ReLU `1[x > 0] * g`, ReLU6 `1[0 < x < 6] * g`, leaky ReLU `g` where `x > 0`
///   else `alpha * g`; sigmoid `s (1 - s) g`, tanh `(1 - t^2) g`, scaled tanh
///   `1.7159 * 2/3 * (1 - tanh^2(2x/3)) g`;
/// - `Guided` (Springenberg et al. 2014): the rectifier's gradient, and only where `g > 0`
///   (leaky ReLU: its gradient, `alpha * g` for `x <= 0`, kept where `g > 0`);
/// - `Deconvnet` (Zeiler & Fergus 2013, §2.1): the rectifier applied to the signal going back,
///   whatever `x`: `relu(g)`, and leaky ReLU's own `leaky(g)` (`alpha * g` where `g <= 0`).
///
/// Sigmoid, tanh and scaled tanh have no switch to change: they use their derivative in every
/// mode (as Captum's `GuidedBackprop` and `Deconvolution`, which override only ReLUs).
pub fn activation_backward(a: Activation, mode: Mode, x: &[f32], dy: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| {
            let v = v as f64;
            // `closed`: the slope where the rectifier is shut (0, or leaky ReLU's alpha).
            let rectifier = |open: bool, closed: f64| {
                let slope = if open { 1.0 } else { closed };
                match mode {
                    Mode::Gradient => slope * g,
                    Mode::Guided => (g > 0.0) as u8 as f64 * slope * g,
                    Mode::Deconvnet => g.max(0.0) + closed * g.min(0.0),
                }
            };
            match a {
                Activation::Relu => rectifier(v > 0.0, 0.0),
                Activation::Relu6 => rectifier(v > 0.0 && v < 6.0, 0.0),
                Activation::LeakyRelu { alpha } => rectifier(v > 0.0, alpha as f64),
                Activation::Sigmoid => {
                    let s = 1.0 / (1.0 + (-v).exp());
                    s * (1.0 - s) * g
                }
                Activation::Tanh => (1.0 - v.tanh().powi(2)) * g,
                Activation::ScaledTanh => {
                    1.7159 * 2.0 / 3.0 * (1.0 - (2.0 * v / 3.0).tanh().powi(2)) * g
                }
            }
        })
        .collect()
}

/// `dx = dy * weight[c] / sqrt(running_var[c] + eps)`: at inference BatchNorm is a
/// per-channel affine map. `params` = `[weight, running_var]`.
pub fn batch_norm_backward(b: &BatchNorm, s: Shape, params: [&[f32]; 2], dy: &[f64]) -> Vec<f64> {
    let [weight, var] = params;
    let plane = s.h * s.w;
    dy.iter()
        .enumerate()
        .map(|(i, &g)| {
            let c = i / plane;
            g * weight[c] as f64 / (var[c] as f64 + b.eps as f64).sqrt()
        })
        .collect()
}

/// With `S_c = k + alpha * sum_{c' in W(c)} x_c'^2` and `y_c = x_c S_c^-beta` (the window
/// `W(c)` as in the forward pass):
/// `dx_j = dy_j S_j^-beta - 2 alpha beta x_j sum_{c : j in W(c)} dy_c x_c S_c^(-beta-1)`.
pub fn lrn_backward(l: &Lrn, x: &[f32], s: Shape, dy: &[f64]) -> Vec<f64> {
    let plane = s.h * s.w;
    let (k, alpha, beta) = (l.k as f64, l.alpha as f64, l.beta as f64);
    let window = |c: usize| c.saturating_sub(l.size / 2)..(c + l.size.div_ceil(2)).min(s.c);
    let mut dx = vec![0.0f64; x.len()];
    let mut scale = vec![0.0f64; s.c];
    for p in 0..plane {
        let at = |c: usize| x[c * plane + p] as f64;
        for (c, sc) in scale.iter_mut().enumerate() {
            *sc = k + alpha * window(c).map(|c2| at(c2) * at(c2)).sum::<f64>();
        }
        for c in 0..s.c {
            let g = dy[c * plane + p];
            dx[c * plane + p] += g * scale[c].powf(-beta);
            let back = -2.0 * alpha * beta * g * at(c) * scale[c].powf(-beta - 1.0);
            for j in window(c) {
                dx[j * plane + p] += back * at(j);
            }
        }
    }
    dx
}

/// `dx = y * (dy - sum_j dy_j y_j)` with `y` the softmax's output. Seeds are logits, so
/// explanations start before a softmax; this is for a gradient that must cross one.
pub fn softmax_backward(y: &[f32], dy: &[f64]) -> Vec<f64> {
    let dot: f64 = y.iter().zip(dy).map(|(&p, &g)| p as f64 * g).sum();
    y.iter()
        .zip(dy)
        .map(|(&p, &g)| p as f64 * (g - dot))
        .collect()
}

/// Add copies its gradient to every branch.
pub fn add_backward(inputs: usize, dy: &[f64]) -> Vec<Vec<f64>> {
    vec![dy.to_vec(); inputs]
}

/// Concat (along channels) splits its gradient: input `i` gets its `channels[i]` planes of
/// `plane` values, in order.
pub fn concat_backward(channels: &[usize], plane: usize, dy: &[f64]) -> Vec<Vec<f64>> {
    let mut start = 0;
    channels
        .iter()
        .map(|&c| {
            let part = dy[start..start + c * plane].to_vec();
            start += c * plane;
            part
        })
        .collect()
}
