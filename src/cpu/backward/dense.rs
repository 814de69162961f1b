//! Backward of the fully connected layers: dense (the transposed weight) and LeNet-5's RBF.

use crate::model::{Dense, Rbf};

/// `dx[i] = sum_o weight[o, i] * dy[o]`, weight `[out_features, in_features]`.
pub fn dense_backward(d: &Dense, weight: &[f32], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0f64; d.in_features];
    for (o, &g) in dy.iter().enumerate().take(d.out_features) {
        let row = &weight[o * d.in_features..(o + 1) * d.in_features];
        for (acc, &w) in dx.iter_mut().zip(row) {
            *acc += w as f64 * g;
        }
    }
    dx
}

/// `y[o] = sum_i (x[i] - weight[o, i])^2`, so `dx[i] = sum_o 2 (x[i] - weight[o, i]) dy[o]`.
pub fn rbf_backward(r: &Rbf, x: &[f32], weight: &[f32], dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0f64; r.in_features];
    for (o, &g) in dy.iter().enumerate().take(r.outputs) {
        let row = &weight[o * r.in_features..(o + 1) * r.in_features];
        for ((acc, &w), &v) in dx.iter_mut().zip(row).zip(x) {
            *acc += 2.0 * (v as f64 - w as f64) * g;
        }
    }
    dx
}
