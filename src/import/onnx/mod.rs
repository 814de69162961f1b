//! An ONNX file to a network and its weights: parse the protobuf, check the opset and the input,
//! read the initializers, then walk the nodes in their (topological) order, each becoming a
//! layer, an alias, or a fold into a layer already made (`ops.rs`, `fold.rs`).

mod fold;
mod input;
mod learned;
mod ops;
mod proto;
mod tensor;
mod window;

use super::{ImportError, OPSETS};
use crate::model::{output_shape, Layer, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::{check_weights, Weights};
use input::{graph_input, parse, GraphInput};
use proto::{GraphProto, NodeProto};
use std::collections::{BTreeMap, HashMap};
use tensor::{read_tensor, Const};

/// An imported model: the network (named as the caller chose), its weights and what the
/// import had to assume or change, said plainly.
#[derive(Clone, Debug)]
pub struct OnnxImport {
    pub net: Network,
    pub weights: Weights,
    /// The default domain's opset the file declares.
    pub opset: i64,
    /// Assumptions and folds: a dynamic input size, a Pad absorbed by a convolution, ...
    pub notes: Vec<String>,
}

/// Input `i` of `node`, or "" (no value) when it has fewer inputs.
fn io_in(node: &NodeProto, i: usize) -> &str {
    node.input.get(i).map_or("", String::as_str)
}

/// The first output of `node`, or "" when it has none.
fn io_out(node: &NodeProto) -> &str {
    node.output.first().map_or("", String::as_str)
}

/// A value flowing through the graph at run time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Runtime {
    /// The node that computes it.
    id: NodeId,
    /// Its ONNX rank: 4 (`N x C x H x W`) or 2 (`N x F`, held as `F x 1 x 1`).
    rank: usize,
    /// Zero padding `[top, bottom, left, right]` of a Pad node not yet absorbed by the
    /// window that reads it.
    pad: [usize; 4],
    /// The value is the output of node `id` itself (not an alias through Identity), so
    /// a constant scale or shift may be folded into that node.
    own: bool,
}

/// Where an operator is, for messages.
#[derive(Clone, Debug)]
struct Site {
    op: String,
    node: String,
    opset: i64,
}

impl Site {
    fn unsupported(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Unsupported {
            op: self.op.clone(),
            node: self.node.clone(),
            opset: self.opset,
            reason: reason.into(),
        }
    }
}

/// The network being built, and what each ONNX value name stands for.
struct Builder {
    net: Network,
    shapes: Vec<Shape>,
    weights: BTreeMap<String, Tensor>,
    values: HashMap<String, Runtime>,
    consts: HashMap<String, Const>,
    /// How many node inputs and graph outputs read each value.
    uses: HashMap<String, usize>,
    opset: i64,
    notes: Vec<String>,
}

/// Import the ONNX model in `bytes` as a network called `name`. The parsed model's raw tensor
/// data are slices of `bytes`, not copies, and each initializer is decoded to f32 in turn; the
/// file's buffer is freed when the import returns. So the import holds the file and its
/// decoded weights at most, about twice the file (the page test of large files measures it).
pub fn import_onnx(bytes: Vec<u8>, name: &str) -> Result<OnnxImport, ImportError> {
    let model = parse(bytes)?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
        .ok_or(ImportError::Graph {
            reason: "declares no opset of the ONNX domain".into(),
        })?;
    if !(OPSETS.0..=OPSETS.1).contains(&opset) {
        return Err(ImportError::Opset { opset });
    }
    let mut graph = model.graph.ok_or(ImportError::Graph {
        reason: "is missing: the file holds no graph".into(),
    })?;
    let mut b = Builder::new(name, opset, &mut graph)?;
    for (index, node) in graph.node.iter().enumerate() {
        let site = Site {
            op: node.op_type.clone(),
            node: if node.name.is_empty() {
                format!("#{index} ({})", node.op_type)
            } else {
                node.name.clone()
            },
            opset,
        };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            let why = format!("it belongs to the `{}` domain, not ONNX's", node.domain);
            return Err(site.unsupported(why));
        }
        b.node(node, index, &site)?;
    }
    b.finish(&graph)
}

impl Builder {
    fn new(name: &str, opset: i64, graph: &mut GraphProto) -> Result<Builder, ImportError> {
        if !graph.sparse_initializer.is_empty() {
            return Err(ImportError::Graph {
                reason: "has sparse initializers, which convscope does not read".into(),
            });
        }
        let mut consts = HashMap::new();
        for mut t in std::mem::take(&mut graph.initializer) {
            let value = read_tensor(&mut t)?;
            consts.insert(std::mem::take(&mut t.name), value);
        }
        let GraphInput {
            name: input,
            channels,
            size,
            note,
        } = graph_input(graph, &consts)?;
        let mut uses: HashMap<String, usize> = HashMap::new();
        let read = graph.node.iter().flat_map(|n| n.input.iter());
        for name in read.chain(graph.output.iter().map(|o| &o.name)) {
            *uses.entry(name.clone()).or_default() += 1;
        }
        let net = Network::new(name, channels, size);
        let shapes = vec![Shape::new(channels, size.0, size.1)];
        let mut values = HashMap::new();
        values.insert(
            input,
            Runtime {
                id: Network::INPUT,
                rank: 4,
                pad: [0; 4],
                own: false,
            },
        );
        Ok(Builder {
            net,
            shapes,
            weights: BTreeMap::new(),
            values,
            consts,
            uses,
            opset,
            notes: note.into_iter().collect(),
        })
    }

    /// A unique node name: the prefix of its weight's name (`features.0` of
    /// `features.0.weight`, as PyTorch exports name them), else the ONNX node's name, else
    /// the operator and its index.
    fn name_for(&self, node: &NodeProto, index: usize, weight: Option<&str>) -> String {
        let candidates = [
            weight
                .and_then(|w| w.strip_suffix(".weight"))
                .map(str::to_string),
            Some(node.name.clone()),
            Some(format!("{}_{index}", node.op_type.to_lowercase())),
        ];
        candidates
            .into_iter()
            .flatten()
            .chain((0..).map(|n| format!("node_{index}_{n}")))
            .find(|c| !c.is_empty() && c != "input" && self.net.find(c).is_none())
            .expect("the numbered names never run out")
    }

    /// Append `layer` reading `inputs`, with its shape inferred now so the next nodes know it.
    fn add(
        &mut self,
        site: &Site,
        name: String,
        layer: Layer,
        inputs: &[NodeId],
    ) -> Result<NodeId, ImportError> {
        let ins: Vec<Shape> = inputs.iter().map(|&i| self.shapes[i]).collect();
        let shape = output_shape(&name, &layer, &ins).map_err(|source| ImportError::Shape {
            op: site.op.clone(),
            node: site.node.clone(),
            opset: site.opset,
            source: Box::new(source),
        })?;
        let id = self.net.add(name, layer, inputs);
        self.shapes.push(shape);
        Ok(id)
    }

    /// Name output `output` of an ONNX node as runtime value `value`.
    fn define(&mut self, output: &str, value: Runtime) {
        self.values.insert(output.to_string(), value);
    }

    /// The runtime value called `name`, with no pending Pad.
    fn runtime(&self, site: &Site, name: &str) -> Result<Runtime, ImportError> {
        let v = self.padded(site, name)?;
        if v.pad != [0; 4] {
            return Err(site.unsupported(
                "it reads a Pad output; convscope folds Pad only into the convolution or average pooling after it",
            ));
        }
        Ok(v)
    }

    /// The runtime value called `name`, perhaps with a Pad not yet absorbed.
    fn padded(&self, site: &Site, name: &str) -> Result<Runtime, ImportError> {
        if let Some(v) = self.values.get(name) {
            return Ok(*v);
        }
        if self.consts.contains_key(name) {
            return Err(site.unsupported(format!(
                "its input `{name}` is a constant where convscope expects an activation"
            )));
        }
        Err(ImportError::Graph {
            reason: format!(
                "has node `{}` reading `{name}`, which no initializer or earlier node makes",
                site.node
            ),
        })
    }

    /// The constant called `name`.
    fn constant(&self, site: &Site, name: &str) -> Result<&Const, ImportError> {
        self.consts.get(name).ok_or_else(|| {
            if self.values.contains_key(name) {
                site.unsupported(format!(
                    "its input `{name}` is computed at run time; convscope needs a constant (an initializer) there"
                ))
            } else {
                ImportError::Graph {
                    reason: format!(
                        "has node `{}` reading `{name}`, which no initializer or earlier node makes",
                        site.node
                    ),
                }
            }
        })
    }

    /// The constant called `name`, moved out when nothing else reads it (so a large weight
    /// is not held twice while the network is built).
    fn take_constant(&mut self, site: &Site, name: &str) -> Result<Const, ImportError> {
        self.constant(site, name)?;
        Ok(match self.uses(name) {
            0 | 1 => self.consts.remove(name).expect("checked above"),
            _ => self.consts[name].clone(),
        })
    }

    /// Input `i` of `node` as a constant, or `None` where the input is left out.
    fn optional_constant(
        &self,
        site: &Site,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<&Const>, ImportError> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            Some(name) => self.constant(site, name).map(Some),
            None => Ok(None),
        }
    }

    fn uses(&self, name: &str) -> usize {
        self.uses.get(name).copied().unwrap_or(0)
    }

    fn finish(mut self, graph: &GraphProto) -> Result<OnnxImport, ImportError> {
        let mut outputs = Vec::new();
        for o in &graph.output {
            let site = Site {
                op: "output".into(),
                node: o.name.clone(),
                opset: self.opset,
            };
            outputs.push(self.runtime(&site, &o.name)?.id);
        }
        if outputs.is_empty() {
            return Err(ImportError::Graph {
                reason: "has no outputs".into(),
            });
        }
        self.net.outputs = outputs;
        let (h, w) = self.net.default_input;
        self.net.infer_shapes(h, w)?;
        let weights = Weights {
            tensors: self.weights,
        };
        check_weights(&self.net, &weights)?;
        Ok(OnnxImport {
            net: self.net,
            weights,
            opset: self.opset,
            notes: self.notes,
        })
    }
}
