//! `Network`: a graph of named nodes in topological order, and shape inference over it.

use super::layer::Layer;
use super::shape::{output_shape, ModelError, NodeId, Shape};
use serde::Serialize;

/// One named operation and the nodes it reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// Unique name; for nodes with parameters it is also the tensor prefix
    /// (`features.0` owns `features.0.weight`), following torchvision's module paths.
    pub name: String,
    pub layer: Layer,
    pub inputs: Vec<NodeId>,
}

/// Weight of each auxiliary output's loss in training, beside the main output's weight 1
/// (Szegedy et al. 2014, §5: "the losses of the auxiliary classifiers were weighted by 0.3");
/// at inference auxiliary outputs are dropped.
pub const AUX_LOSS_WEIGHT: f32 = 0.3;

/// A directed acyclic graph of layers with one input (node 0) and one or more outputs:
/// the first is the main output, the rest are side outputs such as GoogLeNet's auxiliary
/// classifiers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    pub nodes: Vec<Node>,
    pub outputs: Vec<NodeId>,
    /// The input size the network was designed for, `(height, width)`.
    pub default_input: (usize, usize),
}

impl Network {
    /// Start a network whose input has `channels` and a default `height x width`.
    pub fn new(name: &str, channels: usize, default_input: (usize, usize)) -> Self {
        Network {
            name: name.to_string(),
            nodes: vec![Node {
                name: "input".into(),
                layer: Layer::Input { channels },
                inputs: vec![],
            }],
            outputs: vec![],
            default_input,
        }
    }

    /// The input node.
    pub const INPUT: NodeId = 0;

    /// Append a node reading `inputs`; returns its id. Names must be unique.
    pub fn add(&mut self, name: impl Into<String>, layer: Layer, inputs: &[NodeId]) -> NodeId {
        let name = name.into();
        debug_assert!(
            self.find(&name).is_none(),
            "duplicate node name `{name}` in {}",
            self.name
        );
        debug_assert!(inputs.iter().all(|&i| i < self.nodes.len()));
        self.nodes.push(Node {
            name,
            layer,
            inputs: inputs.to_vec(),
        });
        self.nodes.len() - 1
    }

    /// Append a node reading the last node added.
    pub fn then(&mut self, name: impl Into<String>, layer: Layer) -> NodeId {
        let last = self.nodes.len() - 1;
        self.add(name, layer, &[last])
    }

    /// Id of the node called `name`.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Input channels.
    pub fn input_channels(&self) -> usize {
        match self.nodes[0].layer {
            Layer::Input { channels } => channels,
            _ => unreachable!("node 0 is always the input"),
        }
    }

    /// The shape of the input image at the default size.
    pub fn default_input_shape(&self) -> Shape {
        Shape::new(
            self.input_channels(),
            self.default_input.0,
            self.default_input.1,
        )
    }

    /// Main output node (the last node if none was marked).
    pub fn output(&self) -> NodeId {
        self.outputs
            .first()
            .copied()
            .unwrap_or(self.nodes.len() - 1)
    }

    /// Every node's output shape for an input of `h x w`, or the first node that cannot run.
    pub fn infer_shapes(&self, h: usize, w: usize) -> Result<Vec<Shape>, ModelError> {
        if h == 0 || w == 0 {
            return Err(ModelError::EmptyInput { h, w });
        }
        self.validate()?;
        let mut shapes: Vec<Shape> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let ins: Vec<Shape> = node.inputs.iter().map(|&i| shapes[i]).collect();
            let s = match &node.layer {
                Layer::Input { channels } => Shape::new(*channels, h, w),
                layer => output_shape(&node.name, layer, &ins)?,
            };
            shapes.push(s);
        }
        Ok(shapes)
    }

    /// The graph itself is well formed: node 0 is the only input, names are unique, and
    /// every node reads only nodes before it.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut names = std::collections::HashSet::new();
        for (id, node) in self.nodes.iter().enumerate() {
            if (id == 0) != matches!(node.layer, Layer::Input { .. }) {
                return Err(ModelError::NoInput);
            }
            if !names.insert(node.name.as_str()) {
                return Err(ModelError::DuplicateName(node.name.clone()));
            }
            if let Some(&input) = node.inputs.iter().find(|&&i| i >= id) {
                return Err(ModelError::InputNotBefore {
                    node: node.name.clone(),
                    input,
                });
            }
        }
        Ok(())
    }

    /// Total trainable parameters.
    pub fn params(&self) -> usize {
        self.nodes.iter().map(|n| n.layer.params()).sum()
    }
}
