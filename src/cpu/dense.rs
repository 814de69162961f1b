//! Fully connected layers: the dense (affine) layer and LeNet-5's Euclidean RBF output.

use crate::model::{Dense, Rbf};

/// `y[o] = bias[o] + sum_i weight[o, i] * x[i]`, weight `[out_features, in_features]`.
pub(super) fn dense(d: &Dense, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    (0..d.out_features)
        .map(|o| {
            let row = &weight[o * d.in_features..(o + 1) * d.in_features];
            let dot: f64 = row.iter().zip(x).map(|(&w, &v)| w as f64 * v as f64).sum();
            (dot + bias.map_or(0.0, |b| b[o] as f64)) as f32
        })
        .collect()
}

/// `y[o] = sum_i (x[i] - weight[o, i])^2`, weight `[outputs, in_features]`.
pub(super) fn rbf(r: &Rbf, x: &[f32], weight: &[f32]) -> Vec<f32> {
    (0..r.outputs)
        .map(|o| {
            let row = &weight[o * r.in_features..(o + 1) * r.in_features];
            let dist: f64 = row
                .iter()
                .zip(x)
                .map(|(&w, &v)| (v as f64 - w as f64).powi(2))
                .sum();
            dist as f32
        })
        .collect()
}
