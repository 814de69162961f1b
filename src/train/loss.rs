//! The training loss on a batch: softmax cross-entropy of the main output head plus
//! [`AUX_LOSS_WEIGHT`] times that of each auxiliary head (GoogLeNet's classifiers), with the
//! gradient at each head's scores node, which the backward pass starts from.

use super::eval::{argmax, Setup};
use super::graph::Tape;
use crate::model::{log_softmax, NodeId, AUX_LOSS_WEIGHT};

/// Cross-entropy of softmax(`logits`) against `label` smoothed by `smoothing`; writes
/// `scale * d loss / d logits` into `grad`.
fn cross_entropy(
    logits: &[f32],
    label: usize,
    smoothing: f32,
    scale: f32,
    grad: &mut [f32],
) -> f64 {
    let k = logits.len() as f64;
    let mut loss = 0.0;
    for (i, (log_p, g)) in log_softmax(logits)
        .into_iter()
        .zip(grad.iter_mut())
        .enumerate()
    {
        let target = smoothing as f64 / k
            + if i == label {
                1.0 - smoothing as f64
            } else {
                0.0
            };
        loss -= target * log_p;
        *g = ((log_p.exp() - target) * scale as f64) as f32;
    }
    loss
}

/// `(seeds, loss_sum, correct)`: each head's `(scores node, scale * d loss / d scores)` with
/// `scale = 1 / total` (so that shards of one batch add up to the batch mean), the summed
/// weighted loss over the batch, and how many images the main head classifies right.
pub(super) fn head_losses(
    setup: &Setup,
    tape: &Tape,
    labels: &[u8],
    smoothing: f32,
    total: usize,
) -> (Vec<(NodeId, Vec<f32>)>, f64, usize) {
    let (mut loss_sum, mut correct) = (0.0, 0);
    let heads =
        std::iter::once((setup.scores, 1.0)).chain(setup.aux.iter().map(|&h| (h, AUX_LOSS_WEIGHT)));
    let mut seeds = Vec::with_capacity(1 + setup.aux.len());
    for ((node, sign), weight) in heads {
        let out = &tape.outputs[node];
        let mut d_out = vec![0.0; out.data.len()];
        let classes = out.shape.len();
        let main = seeds.is_empty();
        for (b, &label) in labels.iter().enumerate() {
            let logits: Vec<f32> = out.image(b).iter().map(|v| sign * v).collect();
            if main {
                correct += (argmax(&logits) == label as usize) as usize;
            }
            let grad = &mut d_out[b * classes..(b + 1) * classes];
            let scale = weight * sign / total as f32;
            let loss = cross_entropy(&logits, label as usize, smoothing, scale, grad);
            loss_sum += weight as f64 * loss;
        }
        seeds.push((node, d_out));
    }
    (seeds, loss_sum, correct)
}
