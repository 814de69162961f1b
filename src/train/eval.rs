//! Classification with the batched forward pass in evaluation mode: predictions, accuracy,
//! and the checks and input batches the trainer shares.

use super::forward::{Batch, Mode};
use super::graph;
use super::{Dataset, TrainError};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::preprocess::GreyscaleFrame;
use crate::weights::{check_weights, Weights};
use std::fmt;

/// Correct predictions over a data set, overall and per class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
    /// `[correct, total]` for each class label.
    pub per_class: Vec<[usize; 2]>,
}

impl Accuracy {
    /// `correct / total`, 0 for an empty set.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f32 / self.total as f32
        }
    }
}

impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, t) = (self.correct, self.total);
        write!(f, "{:.2}% ({c} / {t})", 100.0 * self.fraction())
    }
}

/// What the trainer and the evaluator derive from a network before running it.
pub(super) struct Setup {
    pub pre: GreyscaleFrame,
    pub shapes: Vec<Shape>,
    /// The node whose output the loss and the predictions read, and the sign that makes
    /// larger mean more likely ([`head`] of the main output).
    pub scores: (NodeId, f32),
    /// The same for each auxiliary head (`Network::outputs` after the first), whose losses
    /// training adds with weight [`AUX_LOSS_WEIGHT`](crate::model::AUX_LOSS_WEIGHT).
    pub aux: Vec<(NodeId, f32)>,
}

/// The node an output head's scores are read from, and their sign: -1 for LeNet-5's RBF
/// distances (smaller is a better match), the logits before a final Softmax node, else the
/// output itself.
fn head(net: &Network, out: NodeId) -> (NodeId, f32) {
    match &net.nodes[out].layer {
        Layer::Rbf(_) => (out, -1.0),
        Layer::Softmax => (net.nodes[out].inputs[0], 1.0),
        _ => (out, 1.0),
    }
}

impl Setup {
    /// For training or evaluating on a data set of `classes` classes, at the network's
    /// default input size.
    pub fn new(net: &Network, classes: usize) -> Result<Self, TrainError> {
        let pre = GreyscaleFrame::for_network(net);
        if net.input_channels() != 1 {
            return Err(TrainError::InputChannels {
                found: net.input_channels(),
            });
        }
        let shapes = net.infer_shapes(pre.size.0, pre.size.1)?;
        let setup = Setup::with_shapes(net, pre, shapes)?;
        let network = setup.shapes[setup.scores.0].len();
        if network != classes {
            return Err(TrainError::ClassCount {
                network,
                dataset: classes,
            });
        }
        Ok(setup)
    }

    /// For inputs whose inferred node shapes are `shapes`.
    pub fn with_shapes(
        net: &Network,
        pre: GreyscaleFrame,
        shapes: Vec<Shape>,
    ) -> Result<Self, TrainError> {
        let unsupported = |n: &&crate::model::Node| matches!(n.layer, Layer::Input { .. });
        if let Some(node) = net.nodes.iter().skip(1).find(unsupported) {
            return Err(TrainError::Unsupported {
                node: node.name.clone(),
                kind: node.layer.kind(),
            });
        }
        let scores = head(net, net.output());
        let aux = net.outputs.iter().skip(1).map(|&o| head(net, o)).collect();
        Ok(Setup {
            pre,
            shapes,
            scores,
            aux,
        })
    }

    /// The preprocessed images `indices` of `data`, mirrored where `mirror` says so.
    pub fn input(&self, data: &Dataset, indices: &[usize], mirror: &[bool]) -> Batch {
        let (h, w) = self.pre.size;
        let mut batch = Batch::zeros(indices.len(), Shape::new(1, h, w));
        let len = self.pre.len();
        for (k, &i) in indices.iter().enumerate() {
            let flip = mirror.get(k).copied().unwrap_or(false);
            let out = &mut batch.data[k * len..(k + 1) * len];
            self.pre
                .write(data.image(i), data.rows, data.cols, flip, out);
        }
        batch
    }
}

/// Index of the largest score; the first on ties, NaN never wins.
pub(super) fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] || scores[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Every node's output for the batch `input` (index = node id; node 0 is the input), in
/// `mode`. In evaluation mode this computes what `cpu::forward` computes, image by image.
pub fn forward_batch(
    net: &Network,
    weights: &Weights,
    input: &Batch,
    mode: Mode,
) -> Result<Vec<Batch>, TrainError> {
    check_weights(net, weights)?;
    let (c, h, w) = (input.shape.c, input.shape.h, input.shape.w);
    if c != net.input_channels() {
        return Err(TrainError::InputChannels { found: c });
    }
    let shapes = net.infer_shapes(h, w)?;
    let setup = Setup::with_shapes(net, GreyscaleFrame::for_network(net), shapes)?;
    let tape = graph::forward(net, weights, &setup.shapes, input.clone(), mode)?;
    Ok(tape.outputs)
}

/// The predicted class of each image of `input` (a batch of preprocessed images).
pub fn predict(net: &Network, weights: &Weights, input: &Batch) -> Result<Vec<usize>, TrainError> {
    check_weights(net, weights)?;
    let (c, h, w) = (input.shape.c, input.shape.h, input.shape.w);
    if c != net.input_channels() {
        return Err(TrainError::InputChannels { found: c });
    }
    let shapes = net.infer_shapes(h, w)?;
    let setup = Setup::with_shapes(net, GreyscaleFrame::for_network(net), shapes)?;
    let tape = graph::forward(net, weights, &setup.shapes, input.clone(), Mode::Eval)?;
    let (node, sign) = setup.scores;
    let out = &tape.outputs[node];
    Ok((0..out.n)
        .map(|b| {
            let scores: Vec<f32> = out.image(b).iter().map(|v| sign * v).collect();
            argmax(&scores)
        })
        .collect())
}

/// Accuracy of `net` with `weights` on all of `data`, each image preprocessed with
/// [`GreyscaleFrame::for_network`]. Images are independent in evaluation mode, so the work is
/// split across the machine's cores without changing the result.
pub fn evaluate(net: &Network, weights: &Weights, data: &Dataset) -> Result<Accuracy, TrainError> {
    const BLOCK: usize = 256;
    check_weights(net, weights)?;
    let setup = Setup::new(net, data.classes)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let all: Vec<usize> = (0..data.len()).collect();
    let part = data.len().div_ceil(threads).max(1);
    let run = |indices: &[usize]| -> Result<Vec<usize>, TrainError> {
        let mut predictions = Vec::with_capacity(indices.len());
        for block in indices.chunks(BLOCK) {
            predictions.extend(predict(net, weights, &setup.input(data, block, &[]))?);
        }
        Ok(predictions)
    };
    let parts: Vec<Result<Vec<usize>, TrainError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = all
            .chunks(part)
            .map(|indices| scope.spawn(move || run(indices)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation thread panicked"))
            .collect()
    });
    let mut accuracy = Accuracy {
        correct: 0,
        total: data.len(),
        per_class: vec![[0, 0]; data.classes],
    };
    let predictions = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    for (&label, predicted) in data.labels.iter().zip(predictions.into_iter().flatten()) {
        let hit = (predicted == label as usize) as usize;
        accuracy.correct += hit;
        accuracy.per_class[label as usize][0] += hit;
        accuracy.per_class[label as usize][1] += 1;
    }
    Ok(accuracy)
}
