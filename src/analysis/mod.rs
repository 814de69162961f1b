//! Cost and receptive-field analysis: pure functions over a network description.
//!
//! [`analyze`] walks the graph once and gives, per node and in total, the output shape,
//! parameters, MACs and FLOPs, memory, LeNet-style connections and the receptive field.

mod compare;
mod cost;
mod derivation;
pub mod diagram;
mod receptive;

pub use compare::*;
pub use cost::*;
pub use derivation::{derivation, group_digits, Derivation, Line};
pub use receptive::*;

use crate::model::{ModelError, Network, Shape};
use serde::Serialize;

/// Everything the analysis knows about one node.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeStats {
    pub name: String,
    pub kind: &'static str,
    /// Names of the nodes it reads.
    pub inputs: Vec<String>,
    pub output_shape: Shape,
    /// Trainable parameters (BatchNorm running statistics excluded).
    pub params: u64,
    /// Multiply-accumulates for one image.
    pub macs: u64,
    /// `FLOPS_PER_MAC * macs`.
    pub flops: u64,
    /// LeNet-style connections (LeCun et al. 1998).
    pub connections: u64,
    /// Bytes of this node's output (f32).
    pub activation_bytes: u64,
    /// Bytes of this node's tensors, buffers included (f32).
    pub weight_bytes: u64,
    pub receptive_field: ReceptiveField,
}

/// Totals over the whole network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    pub connections: u64,
    /// Sum of every node's output (all activations kept, as the visualizer does).
    pub activation_bytes: u64,
    pub weight_bytes: u64,
}

/// The analysis of a network at one input size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    pub model: String,
    pub input: Shape,
    pub nodes: Vec<NodeStats>,
    pub totals: Totals,
}

/// Analyse `net` for an input of `h x w`, or say which node cannot run at that size.
pub fn analyze(net: &Network, h: usize, w: usize) -> Result<Analysis, ModelError> {
    let shapes = net.infer_shapes(h, w)?;
    let mut fields: Vec<ReceptiveField> = Vec::with_capacity(net.nodes.len());
    let mut nodes = Vec::with_capacity(net.nodes.len());
    let mut totals = Totals::default();
    for (id, node) in net.nodes.iter().enumerate() {
        let out = shapes[id];
        let ins: Vec<(ReceptiveField, Shape)> = node
            .inputs
            .iter()
            .map(|&i| (fields[i], shapes[i]))
            .collect();
        let field = propagate(&node.layer, &ins);
        fields.push(field);
        let macs = macs(&node.layer, out);
        let weight_values: usize = node.layer.tensors().iter().map(|t| t.len()).sum();
        let stats = NodeStats {
            name: node.name.clone(),
            kind: node.layer.kind(),
            inputs: node
                .inputs
                .iter()
                .map(|&i| net.nodes[i].name.clone())
                .collect(),
            output_shape: out,
            params: node.layer.params() as u64,
            macs,
            flops: flops(macs),
            connections: connections(&node.layer, out),
            activation_bytes: out.len() as u64 * BYTES_PER_VALUE,
            weight_bytes: weight_values as u64 * BYTES_PER_VALUE,
            receptive_field: field,
        };
        totals.params += stats.params;
        totals.macs += stats.macs;
        totals.flops += stats.flops;
        totals.connections += stats.connections;
        totals.activation_bytes += stats.activation_bytes;
        totals.weight_bytes += stats.weight_bytes;
        nodes.push(stats);
    }
    Ok(Analysis {
        model: net.name.clone(),
        input: shapes[0],
        nodes,
        totals,
    })
}

impl Analysis {
    /// The stats of the node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeStats> {
        self.nodes.iter().find(|n| n.name == name)
    }
}
