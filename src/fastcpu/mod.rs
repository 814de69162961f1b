//! The fast CPU engine: f32, one thread, planned once per (network, weights, input size).
//!
//! Planning copies every node's weights into the form its kernel reads (BatchNorm folded into
//! the convolution before it, activations fused after it, by the rule every fusing engine
//! shares, `model::Fusion`); a pass then runs node after node. Convolutions are matrix
//! products (`gemm.rs`; 1x1 directly, others through im2col, `conv.rs`), depthwise ones
//! contiguous runs over a padded, phase-split copy of each plane (`depthwise.rs`); the other
//! layers are plain loops written to vectorise (`pool.rs`, `layers.rs`).
//! Every node stays readable: a node computed inside a fused convolution is computed on its
//! own when it is read, as the GPU plan does. The f64 reference (`cpu`) is its oracle.
//!
//! Files: `op.rs` (a planned node) uses `conv.rs`, `pool.rs`, `layers.rs`; `conv.rs` and
//! `layers.rs` use `gemm.rs`; `conv.rs` runs depthwise convolutions in `depthwise.rs`, both
//! over a `Window` (`window.rs`); `kernels.rs` holds the loops they share.

mod conv;
mod depthwise;
mod gemm;
mod kernels;
mod layers;
mod op;
mod pool;
mod window;

pub use conv::ConvKernel;

use crate::model::{fusions, Fusion, ModelError, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::{check_weights, TensorProblem, Weights};
use conv::Stage;
use op::{NodeShapes, Op};
use thiserror::Error;

/// Why the fast engine cannot plan a network or run or read a node.
#[derive(Debug, Error, PartialEq)]
pub enum FastError {
    /// Shape inference failed for the planned input size.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A tensor a layer owns is missing or misshapen.
    #[error(transparent)]
    Weights(#[from] TensorProblem),
    #[error("the plan is for inputs shaped {expected:?}, found {found:?}")]
    InputShape {
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("node {id} does not exist (the network has {nodes} nodes)")]
    NoNode { id: NodeId, nodes: usize },
    #[error("node `{node}` has not been computed in this pass yet")]
    NotComputed { node: String },
}

/// What a pass does at one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Runs its own kernel into its own output.
    Own,
    /// A convolution that also computes the nodes it absorbs, writing the output of the last.
    Fused(Fusion),
    /// Computed by the fused convolution before it.
    Skip,
}

/// A network planned for one input size.
pub struct FastPlan {
    net: Network,
    shapes: Vec<Shape>,
    in_shapes: Vec<Vec<Shape>>,
    ops: Vec<Op>,
    runs: Vec<Run>,
    fused_into: Vec<Option<NodeId>>,
    /// Each node's output; empty for a fused convolution and the nodes it absorbs but the last.
    outputs: Vec<Vec<f32>>,
    /// Which nodes the pass in progress has computed.
    done: Vec<bool>,
    /// The next node a step looks at.
    cursor: NodeId,
    scratch: Vec<f32>,
    times_ms: Vec<f64>,
}

impl FastPlan {
    /// Plan `net` with `weights` for `h x w` inputs: shapes inferred, weights checked, copied
    /// and folded, every output allocated.
    pub fn new(net: &Network, weights: &Weights, h: usize, w: usize) -> Result<Self, FastError> {
        let shapes = net.infer_shapes(h, w)?;
        check_weights(net, weights)?;
        let n = net.nodes.len();
        let mut runs = vec![Run::Own; n];
        let mut fused_into = vec![None; n];
        let fusions = fusions(net);
        for f in fusions.iter().flatten() {
            runs[f.conv] = Run::Fused(*f);
            for id in [f.batchnorm, f.activation].into_iter().flatten() {
                runs[id] = Run::Skip;
                fused_into[id] = Some(f.conv);
            }
        }
        let in_shapes: Vec<Vec<Shape>> = net
            .nodes
            .iter()
            .map(|node| node.inputs.iter().map(|&i| shapes[i]).collect())
            .collect();
        let ops: Vec<Op> = (0..n)
            .map(|id| {
                let at = NodeShapes {
                    id,
                    inputs: &in_shapes[id],
                    output: shapes[id],
                };
                Op::new(net, weights, &at, fusions[id])
            })
            .collect();
        let outputs = (0..n)
            .map(|id| {
                let stored = matches!(runs[id], Run::Own)
                    || fusions.iter().flatten().any(|f| f.last() == id);
                vec![0.0; if stored { shapes[id].len() } else { 0 }]
            })
            .collect();
        let scratch_len = ops.iter().map(Op::scratch_len).max().unwrap_or(0);
        Ok(FastPlan {
            net: net.clone(),
            shapes,
            in_shapes,
            ops,
            runs,
            fused_into,
            outputs,
            done: vec![false; n],
            cursor: n,
            scratch: Vec::with_capacity(scratch_len),
            times_ms: vec![0.0; n],
        })
    }

    /// The planned network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Every node's output shape.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// One whole pass over `input` (`[C, H, W]`, the planned size).
    pub fn forward(&mut self, input: &Tensor) -> Result<(), FastError> {
        self.start(input)?;
        while self.step().is_some() {}
        Ok(())
    }

    /// Begin a pass over `input`; [`FastPlan::step`] then runs it a node at a time.
    pub fn start(&mut self, input: &Tensor) -> Result<(), FastError> {
        let s = self.shapes[Network::INPUT];
        if input.shape != [s.c, s.h, s.w] || input.data.len() != s.len() {
            return Err(FastError::InputShape {
                expected: vec![s.c, s.h, s.w],
                found: input.shape.clone(),
            });
        }
        self.outputs[Network::INPUT].copy_from_slice(&input.data);
        self.done.fill(false);
        self.done[Network::INPUT] = true;
        self.times_ms.fill(0.0);
        self.cursor = 1;
        Ok(())
    }

    /// Run the next node of the pass (a fused convolution with the nodes it absorbs) and
    /// return it, or `None` when the pass is complete.
    pub fn step(&mut self) -> Option<NodeId> {
        while self.cursor < self.runs.len() && self.runs[self.cursor] == Run::Skip {
            self.cursor += 1;
        }
        let id = self.cursor;
        if id >= self.runs.len() {
            return None;
        }
        let started = now();
        let fusion = match self.runs[id] {
            Run::Fused(f) => Some(f),
            _ => None,
        };
        let last = fusion.map_or(id, |f| f.last());
        let mut scratch = std::mem::take(&mut self.scratch);
        let (before, rest) = self.outputs.split_at_mut(last);
        let inputs: Vec<&[f32]> = self.net.nodes[id]
            .inputs
            .iter()
            .map(|&i| &before[i][..])
            .collect();
        let at = NodeShapes {
            id,
            inputs: &self.in_shapes[id],
            output: self.shapes[id],
        };
        self.ops[id].run(&inputs, &at, &mut rest[0], &mut scratch, Stage::Full);
        self.scratch = scratch;
        self.done[id] = true;
        for absorbed in fusion
            .iter()
            .flat_map(|f| [f.batchnorm, f.activation])
            .flatten()
        {
            self.done[absorbed] = true;
        }
        if let Some(started) = started {
            self.times_ms[id] = started.elapsed().as_secs_f64() * 1e3;
        }
        self.cursor += 1;
        Some(id)
    }

    /// How far the pass is, from 0 to 1, in nodes.
    pub fn progress(&self) -> f64 {
        (self.cursor.min(self.runs.len()) as f64 / self.runs.len() as f64).min(1.0)
    }

    /// Node `id`'s output from the pass in progress or the last one. A fused convolution,
    /// or a node it absorbs whose output it does not keep, is computed on its own from its
    /// inputs.
    pub fn read(&self, id: NodeId) -> Result<Tensor, FastError> {
        let n = self.net.nodes.len();
        if id >= n {
            return Err(FastError::NoNode { id, nodes: n });
        }
        if !self.done[id] {
            return Err(FastError::NotComputed {
                node: self.net.nodes[id].name.clone(),
            });
        }
        let s = self.shapes[id];
        let shape = vec![s.c, s.h, s.w];
        if !self.outputs[id].is_empty() || s.is_empty() {
            return Ok(Tensor::new(shape, self.outputs[id].clone()));
        }
        // A fused convolution alone, or with its BatchNorm but before its activation.
        let (conv, stage) = match self.fused_into[id] {
            Some(conv) => (conv, Stage::Folded),
            None => (id, Stage::Raw),
        };
        let inputs: Vec<&[f32]> = self.net.nodes[conv]
            .inputs
            .iter()
            .map(|&i| &self.outputs[i][..])
            .collect();
        let at = NodeShapes {
            id: conv,
            inputs: &self.in_shapes[conv],
            output: self.shapes[conv],
        };
        let mut data = vec![0.0; s.len()];
        self.ops[conv].run(&inputs, &at, &mut data, &mut Vec::new(), stage);
        Ok(Tensor::new(shape, data))
    }

    /// Milliseconds each node took in the last pass (a fused convolution's time includes the
    /// nodes it absorbs, which read 0). Zero everywhere in WebAssembly, which has no clock
    /// here; the page times passes with its own.
    pub fn node_times_ms(&self) -> &[f64] {
        &self.times_ms
    }

    /// The convolution whose kernel computes node `id` in a pass, if it is a folded
    /// BatchNorm or fused activation.
    pub fn fused_into(&self, id: NodeId) -> Option<NodeId> {
        self.fused_into.get(id).copied().flatten()
    }

    /// How a convolution node runs (`None` for other nodes).
    pub fn conv_kernel(&self, id: NodeId) -> Option<ConvKernel> {
        match self.ops.get(id) {
            Some(Op::Conv(c)) => Some(c.kernel),
            _ => None,
        }
    }

    /// Whether node `id`'s layer is a convolution run through a fusion.
    pub fn is_fused(&self, id: NodeId) -> bool {
        matches!(self.runs.get(id), Some(Run::Fused(_)))
    }
}

/// The clock for per-node times: `Instant` natively; none in WebAssembly, where
/// `Instant::now` panics.
fn now() -> Option<std::time::Instant> {
    (!cfg!(target_arch = "wasm32")).then(std::time::Instant::now)
}
