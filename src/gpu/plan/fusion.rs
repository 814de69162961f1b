//! Which nodes a convolution's kernel absorbs: a BatchNorm folded into its weights, then an
//! activation applied before the store.

use crate::model::{Layer, Network, NodeId};

/// The nodes one convolution's kernel absorbs: a BatchNorm, then an activation, each the
/// only consumer of the node before it and not a network output.
pub struct Fusion {
    pub batchnorm: Option<NodeId>,
    pub activation: Option<NodeId>,
}

impl Fusion {
    /// The fusion starting at convolution `conv`, given each node's consumers.
    pub fn find(net: &Network, consumers: &[Vec<NodeId>], conv: NodeId) -> Option<Fusion> {
        let sole = |id: NodeId| match consumers[id].as_slice() {
            [next] if !net.outputs.contains(&id) => Some(*next),
            _ => None,
        };
        let mut fusion = Fusion {
            batchnorm: None,
            activation: None,
        };
        let mut last = conv;
        if let Some(next) = sole(last) {
            if matches!(net.nodes[next].layer, Layer::BatchNorm(_)) {
                fusion.batchnorm = Some(next);
                last = next;
            }
        }
        if let Some(next) = sole(last) {
            if matches!(net.nodes[next].layer, Layer::Activation(_)) {
                fusion.activation = Some(next);
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
