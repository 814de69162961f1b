//! From a network's output to a ranking: the scores to rank by and their probabilities,
//! shared by the command line and the page.

use crate::model::{softmax, Layer, Network, ScoreRule};

/// Scores (higher is better) and probabilities of the main output `output`. RBF outputs are
/// distances (smaller is a better match), so they are negated; an output that is already a
/// softmax is its own probability; anything else goes through a softmax.
pub fn scores(net: &Network, output: &[f32]) -> (Vec<f32>, Vec<f32>) {
    head_scores(&net.nodes[net.output()].layer, output)
}

/// Scores and probabilities of an output head whose last layer is `layer`, by the rule of
/// [`scores`] (GoogLeNet's auxiliary classifiers are heads too).
pub fn head_scores(layer: &Layer, output: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let rule = ScoreRule::of(layer);
    let logits: Vec<f32> = match rule {
        ScoreRule::Distances => output.iter().map(|d| -d).collect(),
        _ => output.to_vec(),
    };
    if rule == ScoreRule::Probabilities {
        return (logits.clone(), logits);
    }
    let probs = softmax(&logits);
    (logits, probs)
}
