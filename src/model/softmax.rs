//! The softmax of `Layer::Softmax`, written once: the CPU reference's layer, the trainer's
//! forward pass and loss, and the ranking of any network's outputs all call it.

use super::Layer;

/// How a network's output values become scores and probabilities (`predict::head_scores`,
/// and the GPU's occlusion reduction, read the rule here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreRule {
    /// Logits: higher is better, probabilities by a softmax.
    Logits,
    /// The output is a softmax already: its own scores and probabilities.
    Probabilities,
    /// LeNet-5's RBF distances: smaller is a better match, so the scores are negated.
    Distances,
}

impl ScoreRule {
    /// The rule of an output head whose last layer is `layer`.
    pub fn of(layer: &Layer) -> ScoreRule {
        match layer {
            Layer::Softmax => ScoreRule::Probabilities,
            Layer::Rbf(_) => ScoreRule::Distances,
            _ => ScoreRule::Logits,
        }
    }
}

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

    /// tests/cpu_layers.rs checks the values through the layer; here the logarithm.
    #[test]
    fn log_softmax_stays_finite_where_softmax_underflows() {
        assert_eq!(softmax(&[1000.0, -1000.0]), [1.0, 0.0]);
        let log_p = log_softmax(&[1000.0, -1000.0]);
        assert!(
            log_p[0].abs() < 1e-12 && (log_p[1] + 2000.0).abs() < 1e-9,
            "{log_p:?}"
        );
    }
}
