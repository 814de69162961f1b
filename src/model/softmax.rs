//! The softmax of `Layer::Softmax`, written once: the CPU reference's layer, the trainer's
//! forward pass and loss, and the ranking of any network's outputs all call it.

/// `ln softmax(x)_i = x_i - (max + ln sum_j exp(x_j - max))`, in f64. Subtracting the
/// maximum keeps every exponent at most 0, so large logits cannot overflow, and working in
/// logarithms keeps tiny probabilities finite (the trainer's cross-entropy takes their log).
pub fn log_softmax(x: &[f32]) -> Vec<f64> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = x.iter().map(|&v| (v as f64 - max).exp()).sum();
    let log_sum = max + sum.ln();
    x.iter().map(|&v| v as f64 - log_sum).collect()
}

/// `softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max)` over all elements: the
/// exponential of [`log_softmax`].
pub fn softmax(x: &[f32]) -> Vec<f32> {
    log_softmax(x).into_iter().map(|l| l.exp() as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::{log_softmax, softmax};

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!(
            (p[0] - 0.5).abs() < 1e-7 && (p[1] - 0.5).abs() < 1e-7,
            "{p:?}"
        );
        assert_eq!(p[2], 0.0);
        // exp(-2000) underflows, its logarithm does not.
        assert!((log_softmax(&[1000.0, -1000.0])[1] + 2000.0).abs() < 1e-9);
        let q = softmax(&[0.5, -1.25, 3.0, 0.0]);
        assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
