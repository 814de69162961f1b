//! A whole network on a batch: the forward pass that records every node's output (the tape),
//! and the backward pass that walks it in reverse, summing gradients where a node feeds
//! several others.

use super::backward::{backward_layer, GradSink};
use super::forward::{forward_layer, Batch, Mode, Params, Saved};
use super::TrainError;
use crate::model::{Network, NodeId, Shape};
use crate::weights::Weights;

/// Every node's output on one batch (node 0 is the input) and what its backward pass needs.
pub struct Tape {
    pub outputs: Vec<Batch>,
    pub saved: Vec<Saved>,
}

/// Runs `net` on `input`; `shapes` are the network's inferred shapes for that input size.
/// In training mode each Dropout node draws its mask from `seed` mixed with its node id.
pub fn forward(
    net: &Network,
    weights: &Weights,
    shapes: &[Shape],
    input: Batch,
    mode: Mode,
) -> Result<Tape, TrainError> {
    let mut tape = Tape {
        outputs: Vec::with_capacity(net.nodes.len()),
        saved: Vec::with_capacity(net.nodes.len()),
    };
    tape.outputs.push(input);
    tape.saved.push(Saved::Nothing);
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let ins: Vec<&Batch> = node.inputs.iter().map(|&i| &tape.outputs[i]).collect();
        let params = Params {
            node: &node.name,
            weights,
        };
        let node_mode = match mode {
            Mode::Train { seed } => Mode::Train {
                seed: seed ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            },
            Mode::Eval => Mode::Eval,
        };
        let (y, saved) = forward_layer(&node.layer, params, &ins, shapes[id], node_mode)?;
        tape.outputs.push(y);
        tape.saved.push(saved);
    }
    Ok(tape)
}

/// Back-propagates the gradients `seeds` (`(node, d loss / d node output)`, one per output
/// head the loss reads) through the tape, adding parameter gradients to `grads`; returns the
/// gradient with respect to the input batch if `input_grad` asks for it (zeros otherwise).
pub fn backward(
    net: &Network,
    weights: &Weights,
    tape: &Tape,
    seeds: Vec<(NodeId, Vec<f32>)>,
    grads: &mut Weights,
    input_grad: bool,
) -> Result<Vec<f32>, TrainError> {
    let mut pending: Vec<Option<Vec<f32>>> = vec![None; net.nodes.len()];
    let from = seeds.iter().map(|s| s.0).max().unwrap_or(0);
    for (node, d_output) in seeds {
        match &mut pending[node] {
            Some(acc) => acc.iter_mut().zip(&d_output).for_each(|(a, d)| *a += d),
            slot => *slot = Some(d_output),
        }
    }
    for id in (1..=from).rev() {
        let Some(dy) = pending[id].take() else {
            continue;
        };
        let node = &net.nodes[id];
        let ins: Vec<&Batch> = node.inputs.iter().map(|&i| &tape.outputs[i]).collect();
        let params = Params {
            node: &node.name,
            weights,
        };
        let mut sink = GradSink {
            node: &node.name,
            grads,
        };
        let y = &tape.outputs[id];
        let need_dx = input_grad || node.inputs.iter().any(|&i| i != 0);
        let saved = &tape.saved[id];
        let dxs = backward_layer(&node.layer, params, &ins, y, saved, &dy, &mut sink, need_dx)?;
        for (&input, dx) in node.inputs.iter().zip(dxs) {
            match &mut pending[input] {
                Some(acc) => acc.iter_mut().zip(&dx).for_each(|(a, d)| *a += d),
                slot => *slot = Some(dx),
            }
        }
    }
    Ok(pending[0]
        .take()
        .unwrap_or_else(|| vec![0.0; tape.outputs[0].data.len()]))
}
