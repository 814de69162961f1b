//! Layers that keep the shape: local response normalisation, batch normalisation and residual
//! addition. (Activations use `Activation::apply` and softmax `model::softmax` directly.)

use crate::model::{BatchNorm, Lrn, Shape};
use crate::tensor::Tensor;

/// `b_c = a_c / (k + alpha * sum_{c'} a_c'^2) ^ beta` at every pixel, the sum running over
/// channels `c - size/2 ..= c + (size-1)/2` clipped to the tensor (for odd `size`, as in
/// AlexNet, the window is centred; for even `size` it matches PyTorch's `LocalResponseNorm`).
/// `alpha` is used as given, not divided by `size`.
pub(super) fn lrn(l: &Lrn, x: &[f32], s: Shape) -> Vec<f32> {
    let plane = s.h * s.w;
    let mut y = vec![0.0; x.len()];
    for c in 0..s.c {
        // Half-open channel window; `size.div_ceil(2)` is `(size - 1) / 2 + 1`, and 0 when size is 0.
        let window = c.saturating_sub(l.size / 2)..(c + l.size.div_ceil(2)).min(s.c);
        for p in 0..plane {
            let mut sum = 0.0f64;
            for c2 in window.clone() {
                let v = x[c2 * plane + p] as f64;
                sum += v * v;
            }
            let scale = (l.k as f64 + l.alpha as f64 * sum).powf(l.beta as f64);
            y[c * plane + p] = (x[c * plane + p] as f64 / scale) as f32;
        }
    }
    y
}

/// `(x - running_mean) / sqrt(running_var + eps) * weight + bias`, per channel.
pub(super) fn batch_norm(b: &BatchNorm, x: &[f32], s: Shape, params: [&[f32]; 4]) -> Vec<f32> {
    let [weight, bias, mean, var] = params;
    let plane = s.h * s.w;
    let mut y = vec![0.0; x.len()];
    for c in 0..s.c {
        let scale = weight[c] as f64 / (var[c] as f64 + b.eps as f64).sqrt();
        for p in 0..plane {
            let v = (x[c * plane + p] as f64 - mean[c] as f64) * scale + bias[c] as f64;
            y[c * plane + p] = v as f32;
        }
    }
    y
}

/// Element-wise sum of tensors of one shape.
pub(super) fn add(inputs: &[&Tensor]) -> Vec<f32> {
    let mut y = inputs[0].data.clone();
    for t in &inputs[1..] {
        for (acc, &v) in y.iter_mut().zip(&t.data) {
            *acc += v;
        }
    }
    y
}
