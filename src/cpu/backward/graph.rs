//! The whole-network backward pass: from a seed gradient at any node, walk the graph in
//! reverse a node at a time, summing the gradients of nodes read by more than one node.

use super::{layer_backward, Mode};
use crate::cpu::CpuError;
use crate::model::{Network, NodeId};
use crate::tensor::Tensor;
use crate::weights::Weights;

/// A backward pass in progress over the forward outputs of one image (`cpu::forward`'s
/// result, index = `NodeId`). After the step that leaves node `n` next (or ends the pass),
/// the gradient w.r.t. node `n`'s output is complete.
pub struct Backward<'a> {
    net: &'a Network,
    weights: &'a Weights,
    outputs: &'a [Tensor],
    mode: Mode,
    /// `grads[n]`: d seed / d output of node `n`; `None` where nothing reached it yet.
    grads: Vec<Option<Vec<f64>>>,
    seed: NodeId,
    /// The next node to pass back through (descending); `None` when done.
    next: Option<NodeId>,
    /// The last node whose gradient is needed: nodes at or before it are not passed through.
    stop: NodeId,
}

impl<'a> Backward<'a> {
    /// Start at node `seed` with `d/d output = seed_grad` (laid out as that node's output:
    /// for a class score, one-hot on the logits, never on probabilities).
    pub fn new(
        net: &'a Network,
        weights: &'a Weights,
        outputs: &'a [Tensor],
        seed: NodeId,
        seed_grad: Vec<f64>,
        mode: Mode,
    ) -> Result<Self, CpuError> {
        let Some(seed_output) = outputs.get(seed) else {
            return Err(CpuError::MissingOutput {
                node: seed,
                computed: outputs.len(),
            });
        };
        if seed_grad.len() != seed_output.data.len() {
            return Err(CpuError::GradientLength {
                node: net.nodes[seed].name.clone(),
                expected: seed_output.data.len(),
                found: seed_grad.len(),
            });
        }
        let mut grads = vec![None; seed + 1];
        grads[seed] = Some(seed_grad);
        Ok(Backward {
            net,
            weights,
            outputs,
            mode,
            grads,
            seed,
            next: Some(seed),
            stop: 0,
        })
    }

    /// End the pass once node `node`'s gradient is complete (Grad-CAM needs no more).
    pub fn stop_at(mut self, node: NodeId) -> Self {
        self.stop = node.min(self.seed);
        if self.stop == self.seed {
            self.next = None;
        }
        self
    }

    /// The node the pass starts from and its gradient there, the mode, and the node it
    /// stops at: what another engine needs to run the same pass (call before stepping).
    pub fn setup(&self) -> (NodeId, Option<&[f64]>, Mode, NodeId) {
        (self.seed, self.grad(self.seed), self.mode, self.stop)
    }

    /// The node the next step passes back through, or `None` when the pass is done.
    pub fn next_node(&self) -> Option<NodeId> {
        self.next
    }

    /// How far the pass is, from 0 to 1, in nodes.
    pub fn progress(&self) -> f64 {
        match self.next {
            None => 1.0,
            Some(n) => (self.seed - n) as f64 / (self.seed - self.stop).max(1) as f64,
        }
    }

    /// Pass back through the next node; returns it, or `None` when done. A node the seed
    /// does not depend on is skipped at no cost.
    pub fn step(&mut self) -> Result<Option<NodeId>, CpuError> {
        let Some(id) = self.next else {
            return Ok(None);
        };
        self.next = (id > self.stop + 1).then(|| id - 1);
        let Some(dy) = self.grads[id].take() else {
            return Ok(Some(id));
        };
        let node = &self.net.nodes[id];
        let inputs: Vec<&Tensor> = node.inputs.iter().map(|&i| &self.outputs[i]).collect();
        let dxs = layer_backward(
            &node.name,
            &node.layer,
            self.weights,
            &inputs,
            &self.outputs[id],
            &dy,
            self.mode,
        )?;
        self.grads[id] = Some(dy);
        for (&input, dx) in node.inputs.iter().zip(dxs) {
            match &mut self.grads[input] {
                Some(acc) => acc.iter_mut().zip(&dx).for_each(|(a, d)| *a += d),
                empty => *empty = Some(dx),
            }
        }
        Ok(Some(id))
    }

    /// The gradient w.r.t. node `node`'s output so far (complete once the pass is past it).
    pub fn grad(&self, node: NodeId) -> Option<&[f64]> {
        self.grads.get(node)?.as_deref()
    }

    /// Run to the end; the gradient at every node up to the seed (`None`: the seed does not
    /// depend on it, or it lies before the stop).
    pub fn run(mut self) -> Result<Vec<Option<Vec<f64>>>, CpuError> {
        while self.step()?.is_some() {}
        Ok(self.grads)
    }
}

/// The gradient of `seed_grad . output(seed)` w.r.t. every node's output, back to the input
/// (`result[0]`), through the forward `outputs` of `cpu::forward`.
pub fn backward(
    net: &Network,
    weights: &Weights,
    outputs: &[Tensor],
    seed: NodeId,
    seed_grad: Vec<f64>,
    mode: Mode,
) -> Result<Vec<Option<Vec<f64>>>, CpuError> {
    Backward::new(net, weights, outputs, seed, seed_grad, mode)?.run()
}
