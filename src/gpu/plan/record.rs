//! Recording every node's dispatches: what the forward pass runs, and the un-fused
//! dispatches of nodes a fused kernel skips over, run only when they are read.

use super::fusion::Role;
use crate::gpu::dispatch::Dispatch;
use crate::gpu::error::GpuError;
use crate::gpu::lower::{self, Lowering, NodeIo};
use crate::gpu::options::Choice;
use crate::model::{Network, Shape};

/// A network's dispatches.
pub struct Recorded {
    /// The forward pass, per node. A fused kernel is recorded under its convolution.
    pub steps: Vec<Vec<Dispatch>>,
    /// For nodes a fused kernel skips over (the fused convolution itself among them): the
    /// dispatches computing their own output, run on demand before they are read.
    pub deferred: Vec<Option<Vec<Dispatch>>>,
}

/// Lower every node of `net` on its chosen kernel, into `buffers`, as `roles` say.
pub fn record(
    l: &Lowering,
    net: &Network,
    shapes: &[Shape],
    buffers: &[wgpu::Buffer],
    choices: &[Choice],
    roles: &[Role],
) -> Result<Recorded, GpuError> {
    let n = net.nodes.len();
    let mut recorded = Recorded {
        steps: Vec::with_capacity(n),
        deferred: Vec::with_capacity(n),
    };
    for (id, node) in net.nodes.iter().enumerate() {
        let inputs: Vec<&wgpu::Buffer> = node.inputs.iter().map(|&i| &buffers[i]).collect();
        let in_shapes: Vec<Shape> = node.inputs.iter().map(|&i| shapes[i]).collect();
        let io = NodeIo {
            name: &node.name,
            inputs: &inputs,
            in_shapes: &in_shapes,
            output: &buffers[id],
            out_shape: shapes[id],
        };
        let (step, deferred) = match (&roles[id], choices[id]) {
            _ if id == Network::INPUT => (Vec::new(), None),
            (Role::Fused(f), Choice::Conv(c, kernel)) => {
                let own = lower::node(l, choices[id], &io)?;
                // One kernel for the convolution and the nodes it absorbs, written to the
                // last one's buffer.
                let last = f.last();
                let io = NodeIo {
                    output: &buffers[last],
                    out_shape: shapes[last],
                    ..io
                };
                (lower::conv(l, &io, c, kernel, f.epilogue)?, Some(own))
            }
            (Role::Absorbed, choice) => (Vec::new(), Some(lower::node(l, choice, &io)?)),
            (Role::Produced, _) => (Vec::new(), None),
            (Role::Own | Role::Fused(_), choice) => (lower::node(l, choice, &io)?, None),
        };
        recorded.steps.push(step);
        recorded.deferred.push(deferred);
    }
    Ok(recorded)
}
