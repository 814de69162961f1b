//! Which nodes a convolution absorbs when an engine runs it as one kernel: the BatchNorm after
//! it (folded into its weights), then the activation after that (applied before the store).
//! One rule for every engine that fuses (the GPU plan and the fast CPU engine).

use super::{Layer, Network, NodeId};

/// The nodes one convolution absorbs: a BatchNorm, then an activation, each the only consumer
/// of the node before it and not a network output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fusion {
    pub conv: NodeId,
    pub batchnorm: Option<NodeId>,
    pub activation: Option<NodeId>,
}

impl Fusion {
    /// The fusion starting at convolution `conv`, given each node's consumers
    /// ([`consumers`]); `None` when it absorbs nothing.
    pub fn find(net: &Network, consumers: &[Vec<NodeId>], conv: NodeId) -> Option<Self> {
        let sole = |id: NodeId| match consumers[id].as_slice() {
            [next] if !net.outputs.contains(&id) => Some(*next),
            _ => None,
        };
        let mut fusion = Fusion {
            conv,
            batchnorm: None,
            activation: None,
        };
        let mut last = conv;
        if let Some(next) = sole(last) {
            if let Layer::BatchNorm(_) = net.nodes[next].layer {
                fusion.batchnorm = Some(next);
                last = next;
            }
        }
        if let Some(next) = sole(last) {
            if let Layer::Activation(_) = net.nodes[next].layer {
                fusion.activation = Some(next);
            }
        }
        (fusion.batchnorm.is_some() || fusion.activation.is_some()).then_some(fusion)
    }

    /// The node whose output the fused kernel writes.
    pub fn last(&self) -> NodeId {
        self.activation
            .or(self.batchnorm)
            .expect("a fusion absorbs a node")
    }
}

/// The nodes that read each node's output, by `NodeId`.
pub fn consumers(net: &Network) -> Vec<Vec<NodeId>> {
    let mut consumers = vec![Vec::new(); net.nodes.len()];
    for (id, node) in net.nodes.iter().enumerate() {
        for &i in &node.inputs {
            consumers[i].push(id);
        }
    }
    consumers
}

/// Every convolution's fusion, by `NodeId` (`None` for other nodes and for convolutions that
/// absorb nothing).
pub fn fusions(net: &Network) -> Vec<Option<Fusion>> {
    let consumers = consumers(net);
    net.nodes
        .iter()
        .enumerate()
        .map(|(id, node)| match node.layer {
            Layer::Conv2d(_) => Fusion::find(net, &consumers, id),
            _ => None,
        })
        .collect()
}
