//! What the forward pass runs for each node, given which nodes each convolution's kernel
//! absorbs (`model::Fusion`, the rule every fusing engine shares): a BatchNorm folded into
//! its weights, then an activation applied before the store.

use crate::gpu::lower::Epilogue;
use crate::model::{fusions, Fusion as Absorbed, Layer, Network, NodeId};

/// The nodes one convolution's kernel absorbs, and what the kernel applies for them.
pub struct Fusion<'n> {
    pub nodes: Absorbed,
    /// What the convolution's kernel applies for them.
    pub epilogue: Epilogue<'n>,
}

impl<'n> Fusion<'n> {
    fn new(net: &'n Network, nodes: Absorbed) -> Self {
        let mut epilogue = Epilogue::default();
        if let Some(bn) = nodes.batchnorm {
            if let Layer::BatchNorm(b) = &net.nodes[bn].layer {
                epilogue.batchnorm = Some((&net.nodes[bn].name, b));
            }
        }
        if let Some(act) = nodes.activation {
            if let Layer::Activation(a) = net.nodes[act].layer {
                epilogue.activation = Some(a);
            }
        }
        Fusion { nodes, epilogue }
    }

    /// The node whose buffer receives the fused result.
    pub fn last(&self) -> NodeId {
        self.nodes.last()
    }
}

/// What the forward pass runs for one node.
pub enum Role<'n> {
    /// Its own dispatches.
    Own,
    /// A convolution running as one kernel with the nodes of its fusion; its own dispatches
    /// run only when it is read.
    Fused(Fusion<'n>),
    /// Skipped over by a fused kernel: its own dispatches run only when it is read.
    Absorbed,
    /// The last node of a fusion: the fused kernel writes its buffer, so it needs no
    /// dispatches of its own.
    Produced,
}

/// Each node's role, and the convolution whose kernel computes each absorbed or produced
/// node. Without `fuse`, every node runs its own dispatches.
pub fn schedule(net: &Network, fuse: bool) -> (Vec<Role<'_>>, Vec<Option<NodeId>>) {
    let n = net.nodes.len();
    let mut roles: Vec<Role> = (0..n).map(|_| Role::Own).collect();
    let mut fused_into = vec![None; n];
    if !fuse {
        return (roles, fused_into);
    }
    for f in fusions(net).into_iter().flatten() {
        let last = f.last();
        for id in [f.batchnorm, f.activation].into_iter().flatten() {
            roles[id] = if id == last {
                Role::Produced
            } else {
                Role::Absorbed
            };
            fused_into[id] = Some(f.conv);
        }
        roles[f.conv] = Role::Fused(Fusion::new(net, f));
    }
    (roles, fused_into)
}
