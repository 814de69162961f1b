//! The one walk over a network's graph on the CPU reference: a node at a time (or a few
//! output channels of a long convolution at a time), able to stop at a node and to let its
//! caller act before each node. Every place that runs the reference goes through it: a whole
//! forward pass, BatchNorm calibration, the lab's first-layer responses, and the engine's
//! paced passes that give the page a turn between steps.

use super::{check_config, check_data, compute, conv, CpuError};
use crate::model::{Layer, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::{check_layer_weights, check_weights, Weights};

/// A forward pass in progress. Outputs are indexed by `NodeId`; node 0 is the input.
pub struct Stepper<'n> {
    net: &'n Network,
    shapes: Vec<Shape>,
    outputs: Vec<Tensor>,
    /// The last node to compute.
    last: NodeId,
    /// Multiply-accumulates a step may do inside a convolution; `None`: whole nodes.
    piece_macs: Option<usize>,
    /// The channels of a convolution computed so far, when it runs in pieces.
    partial: Vec<f32>,
}

impl<'n> Stepper<'n> {
    /// A pass of `net` over `input` (`[C, H, W]`). The graph, the input and every weight are
    /// checked here, before any work.
    pub fn new(net: &'n Network, weights: &Weights, input: &Tensor) -> Result<Self, CpuError> {
        let channels = match net.nodes.first().map(|n| &n.layer) {
            Some(Layer::Input { channels }) => *channels,
            _ => return Err(CpuError::NoInputNode),
        };
        for (id, node) in net.nodes.iter().enumerate() {
            if let Some(&bad) = node.inputs.iter().find(|&&i| i >= id) {
                return Err(CpuError::InputNotBefore {
                    node: node.name.clone(),
                    input: bad,
                });
            }
            check_config(&node.name, &node.layer)?;
        }
        check_data("input", input)?;
        let (h, w) = match input.shape[..] {
            [c, h, w] if c == channels => (h, w),
            _ => {
                return Err(CpuError::InputShape {
                    expected: format!("[{channels}, H, W]"),
                    found: input.shape.clone(),
                })
            }
        };
        let shapes = net.infer_shapes(h, w)?;
        check_weights(net, weights)?;
        let mut outputs = Vec::with_capacity(net.nodes.len());
        outputs.push(input.clone());
        Ok(Stepper {
            net,
            shapes,
            outputs,
            last: net.nodes.len() - 1,
            piece_macs: None,
            partial: Vec::new(),
        })
    }

    /// Stop once node `last` is computed (clipped to the graph).
    pub fn stop_at(mut self, last: NodeId) -> Self {
        self.last = last.min(self.net.nodes.len() - 1);
        self
    }

    /// Run convolutions in pieces of about `macs` multiply-accumulates (at least one output
    /// channel each), so a caller that must stay responsive can pause between them.
    pub fn in_pieces(mut self, macs: usize) -> Self {
        self.piece_macs = Some(macs.max(1));
        self
    }

    /// The node the next step works on, or `None` when the pass is done.
    pub fn next_node(&self) -> Option<NodeId> {
        let id = self.outputs.len();
        (id <= self.last).then_some(id)
    }

    /// Whether every node up to the stop is computed.
    pub fn done(&self) -> bool {
        self.next_node().is_none()
    }

    /// Every node's output so far.
    pub fn outputs(&self) -> &[Tensor] {
        &self.outputs
    }

    /// Every node's output so far, ending the pass.
    pub fn into_outputs(self) -> Vec<Tensor> {
        self.outputs
    }

    /// The shape of every node's output.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// How far the pass is, from 0 to 1, counted in nodes (a convolution's pieces count as
    /// parts of its node).
    pub fn progress(&self) -> f64 {
        let Some(id) = self.next_node() else {
            return 1.0;
        };
        let plane = self.shapes[id].h * self.shapes[id].w;
        let part = self.partial.len() as f64 / (self.shapes[id].c * plane).max(1) as f64;
        ((id - 1) as f64 + part) / self.last.max(1) as f64
    }

    /// Run the next node, or the next piece of a convolution run in pieces. Returns the node
    /// finished by this step, if one was. `weights` may differ from those checked in
    /// [`Stepper::new`] in values (calibration changes BatchNorm statistics between steps);
    /// the node's tensors are checked again before it runs.
    pub fn step(&mut self, weights: &Weights) -> Result<Option<NodeId>, CpuError> {
        let Some(id) = self.next_node() else {
            return Ok(None);
        };
        let node = &self.net.nodes[id];
        if self.partial.is_empty() {
            check_layer_weights(&node.name, &node.layer, weights)?;
        }
        let out = self.shapes[id];
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &self.outputs[i]).collect();
        let in_shapes: Vec<Shape> = node.inputs.iter().map(|&i| self.shapes[i]).collect();
        let data = match (&node.layer, self.piece_macs) {
            (Layer::Conv2d(c), Some(budget)) => {
                let plane = out.h * out.w;
                let channel_macs = (c.in_channels / c.groups.max(1)) * c.kernel.0 * c.kernel.1;
                let per_piece = (budget / (channel_macs * plane).max(1)).max(1);
                let first = self.partial.len() / plane.max(1);
                let channels = first..(first + per_piece).min(out.c);
                let w = &weights.get(&node.name, "weight").data;
                let bias = c.bias.then(|| &weights.get(&node.name, "bias").data[..]);
                let piece = conv::conv2d(c, &ins[0].data, in_shapes[0], w, bias, out, channels);
                self.partial.extend_from_slice(&piece);
                if self.partial.len() < out.len() {
                    return Ok(None);
                }
                std::mem::take(&mut self.partial)
            }
            _ => compute(&node.name, &node.layer, weights, &ins, &in_shapes, out).data,
        };
        self.outputs
            .push(Tensor::new(vec![out.c, out.h, out.w], data));
        Ok(Some(id))
    }

    /// Run to the stop; `before(id, weights, outputs)` is called before each node runs, with
    /// the outputs of every node before it, and may change the weights' values.
    pub fn run_with(
        mut self,
        weights: &mut Weights,
        mut before: impl FnMut(NodeId, &mut Weights, &[Tensor]) -> Result<(), CpuError>,
    ) -> Result<Vec<Tensor>, CpuError> {
        while let Some(id) = self.next_node() {
            if self.partial.is_empty() {
                before(id, weights, &self.outputs)?;
            }
            self.step(weights)?;
        }
        Ok(self.outputs)
    }

    /// Run to the stop.
    pub fn run(mut self, weights: &Weights) -> Result<Vec<Tensor>, CpuError> {
        while !self.done() {
            self.step(weights)?;
        }
        Ok(self.outputs)
    }
}
