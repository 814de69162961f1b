//! Which nodes a convolution's kernel absorbs (a BatchNorm folded into its weights, then an
//! activation applied before the store), and so what the forward pass runs for each node.

use crate::gpu::lower::Epilogue;
use crate::model::{Layer, Network, NodeId};

/// The nodes one convolution's kernel absorbs: a BatchNorm, then an activation, each the
/// only consumer of the node before it and not a network output.
pub struct Fusion<'n> {
    pub batchnorm: Option<NodeId>,
    pub activation: Option<NodeId>,
    /// What the convolution's kernel applies for them.
    pub epilogue: Epilogue<'n>,
}

impl<'n> Fusion<'n> {
    /// The fusion starting at convolution `conv`, given each node's consumers.
    pub fn find(net: &'n Network, consumers: &[Vec<NodeId>], conv: NodeId) -> Option<Self> {
        let sole = |id: NodeId| match consumers[id].as_slice() {
            [next] if !net.outputs.contains(&id) => Some(*next),
            _ => None,
        };
        let mut fusion = Fusion {
            batchnorm: None,
            activation: None,
            epilogue: Epilogue::default(),
        };
        let mut last = conv;
        if let Some(next) = sole(last) {
            if let Layer::BatchNorm(bn) = &net.nodes[next].layer {
                fusion.batchnorm = Some(next);
                fusion.epilogue.batchnorm = Some((&net.nodes[next].name, bn));
                last = next;
            }
        }
        if let Some(next) = sole(last) {
            if let Layer::Activation(a) = net.nodes[next].layer {
                fusion.activation = Some(next);
                fusion.epilogue.activation = Some(a);
            }
        }
        (fusion.batchnorm.is_some() || fusion.activation.is_some()).then_some(fusion)
    }

    /// The node whose buffer receives the fused result.
    pub fn last(&self) -> NodeId {
        self.activation
            .or(self.batchnorm)
            .expect("a fusion absorbs a node")
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
    let mut consumers = vec![Vec::new(); n];
    for (id, node) in net.nodes.iter().enumerate() {
        for &i in &node.inputs {
            consumers[i].push(id);
        }
    }
    for (conv, node) in net.nodes.iter().enumerate() {
        if !matches!(node.layer, Layer::Conv2d(_)) {
            continue;
        }
        let Some(f) = Fusion::find(net, &consumers, conv) else {
            continue;
        };
        let last = f.last();
        for id in [f.batchnorm, f.activation].into_iter().flatten() {
            roles[id] = if id == last {
                Role::Produced
            } else {
                Role::Absorbed
            };
            fused_into[id] = Some(conv);
        }
        roles[conv] = Role::Fused(f);
    }
    (roles, fused_into)
}
