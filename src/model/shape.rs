//! Shapes and shape inference: each layer's output shape from its inputs', and why a network
//! cannot run on an input.

use super::layer::Layer;
use super::window::{window_output, Pool2d};
use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// Index of a node inside its network (node 0 is always the input).
pub type NodeId = usize;

/// Activation shape of one image: channels x height x width. Flat vectors are `n x 1 x 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub const fn new(c: usize, h: usize, w: usize) -> Self {
        Shape { c, h, w }
    }
    pub const fn flat(n: usize) -> Self {
        Shape { c: n, h: 1, w: 1 }
    }
    pub const fn len(&self) -> usize {
        self.c * self.h * self.w
    }
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.c, self.h, self.w)
    }
}

/// Why a network cannot run on a given input.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("node `{node}`: expected {expected} input, found {found}")]
    ShapeMismatch {
        node: String,
        expected: String,
        found: String,
    },
    #[error("node `{node}`: its {window} window does not fit the {input} input (with padding); the network input is too small")]
    InputTooSmall {
        node: String,
        window: String,
        input: Shape,
    },
    #[error("node `{node}`: needs {expected} inputs, has {found}")]
    Arity {
        node: String,
        expected: &'static str,
        found: usize,
    },
    #[error("node `{node}`: invalid configuration: {reason}")]
    BadConfig { node: String, reason: String },
    #[error("network input must be at least 1x1, got {h}x{w}")]
    EmptyInput { h: usize, w: usize },
    #[error("two nodes are called `{0}`; node names must be unique")]
    DuplicateName(String),
    #[error("node `{node}` reads node {input}, which does not come before it")]
    InputNotBefore { node: String, input: NodeId },
    #[error("node 0 must be the network input")]
    NoInput,
}

fn mismatch(node: &str, expected: impl fmt::Display, found: impl fmt::Display) -> ModelError {
    ModelError::ShapeMismatch {
        node: node.to_string(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

fn one_input(node: &str, ins: &[Shape]) -> Result<Shape, ModelError> {
    match ins {
        [s] => Ok(*s),
        _ => Err(ModelError::Arity {
            node: node.into(),
            expected: "exactly 1",
            found: ins.len(),
        }),
    }
}

fn expect_channels(node: &str, s: Shape, c: usize) -> Result<(), ModelError> {
    if s.c == c {
        Ok(())
    } else {
        Err(mismatch(node, format!("{c}-channel"), s))
    }
}

/// Spatial output of a window covering `span` (dilated, for a convolution) sliding over `s`.
fn window_shape(
    node: &str,
    s: Shape,
    span: (usize, usize),
    stride: (usize, usize),
    pad: [usize; 4],
    ceil: bool,
    channels: usize,
) -> Result<Shape, ModelError> {
    let oh = window_output(s.h, span.0, stride.0, pad[0], pad[1], ceil);
    let ow = window_output(s.w, span.1, stride.1, pad[2], pad[3], ceil);
    match (oh, ow) {
        (Some(oh), Some(ow)) => Ok(Shape::new(channels, oh, ow)),
        _ => Err(ModelError::InputTooSmall {
            node: node.into(),
            window: format!("{}x{}", span.0, span.1),
            input: s,
        }),
    }
}

fn pool_shape(node: &str, p: &Pool2d, s: Shape) -> Result<Shape, ModelError> {
    if p.kernel.0 == 0 || p.kernel.1 == 0 || p.stride.0 == 0 || p.stride.1 == 0 {
        return Err(ModelError::BadConfig {
            node: node.into(),
            reason: "pooling window and stride must be at least 1".into(),
        });
    }
    let pad = p.pads(s.h, s.w);
    let (half_h, half_w) = (p.kernel.0 / 2, p.kernel.1 / 2);
    if pad[0].max(pad[1]) > half_h || pad[2].max(pad[3]) > half_w {
        return Err(ModelError::BadConfig {
            node: node.into(),
            reason: "pooling padding must be at most half the window on each side".into(),
        });
    }
    window_shape(node, s, p.kernel, p.stride, pad, p.ceil_mode, s.c)
}

/// Output shape of one layer given its input shapes.
// One arm per layer kind; each arm is a few lines of checks and a formula.
#[allow(clippy::too_many_lines)]
pub fn output_shape(node: &str, layer: &Layer, ins: &[Shape]) -> Result<Shape, ModelError> {
    let bad = |reason: &str| ModelError::BadConfig {
        node: node.into(),
        reason: reason.into(),
    };
    match layer {
        Layer::Input { .. } => Err(bad("the input node cannot appear inside the graph")),
        Layer::Conv2d(c) => {
            let s = one_input(node, ins)?;
            if c.groups == 0 || c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0 {
                return Err(bad(&format!(
                    "groups {} must divide in_channels {} and out_channels {}",
                    c.groups, c.in_channels, c.out_channels
                )));
            }
            let sizes = [c.kernel, c.stride, c.dilation];
            if sizes.iter().any(|&(a, b)| a == 0 || b == 0) {
                return Err(bad("kernel, stride and dilation must be at least 1"));
            }
            expect_channels(node, s, c.in_channels)?;
            let pad = c.pads(s.h, s.w);
            window_shape(node, s, c.span(), c.stride, pad, false, c.out_channels)
        }
        Layer::PartialConv2d(p) => {
            let s = one_input(node, ins)?;
            if p.kernel == 0 {
                return Err(bad("kernel must be at least 1"));
            }
            expect_channels(node, s, p.in_channels)?;
            if p.table.iter().flatten().any(|&i| i >= p.in_channels) {
                return Err(bad(
                    "connection table names an input map that does not exist",
                ));
            }
            let span = (p.kernel, p.kernel);
            window_shape(node, s, span, (1, 1), [0; 4], false, p.table.len())
        }
        Layer::Subsample(sub) => {
            let s = one_input(node, ins)?;
            if sub.window == 0 {
                return Err(bad("window must be at least 1"));
            }
            expect_channels(node, s, sub.channels)?;
            let k = (sub.window, sub.window);
            window_shape(node, s, k, k, [0; 4], false, s.c)
        }
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => pool_shape(node, p, one_input(node, ins)?),
        Layer::AdaptiveAvgPool2d(a) => {
            if a.output.0 == 0 || a.output.1 == 0 {
                return Err(bad("adaptive pooling output must be at least 1x1"));
            }
            Ok(Shape::new(one_input(node, ins)?.c, a.output.0, a.output.1))
        }
        Layer::Lrn(_) | Layer::Activation(_) | Layer::Dropout(_) | Layer::Softmax => {
            one_input(node, ins)
        }
        Layer::BatchNorm(b) => {
            let s = one_input(node, ins)?;
            expect_channels(node, s, b.channels)?;
            Ok(s)
        }
        Layer::Flatten => Ok(Shape::flat(one_input(node, ins)?.len())),
        Layer::GlobalAvgPool => Ok(Shape::flat(one_input(node, ins)?.c)),
        Layer::Dense(d) => {
            let s = one_input(node, ins)?;
            if s.h != 1 || s.w != 1 || s.c != d.in_features {
                return Err(mismatch(node, format!("{}x1x1", d.in_features), s));
            }
            Ok(Shape::flat(d.out_features))
        }
        Layer::Rbf(r) => {
            let s = one_input(node, ins)?;
            if s.h != 1 || s.w != 1 || s.c != r.in_features {
                return Err(mismatch(node, format!("{}x1x1", r.in_features), s));
            }
            Ok(Shape::flat(r.outputs))
        }
        Layer::Concat => {
            if ins.len() < 2 {
                return Err(ModelError::Arity {
                    node: node.into(),
                    expected: "at least 2",
                    found: ins.len(),
                });
            }
            let (h, w) = (ins[0].h, ins[0].w);
            if let Some(s) = ins.iter().find(|s| s.h != h || s.w != w) {
                return Err(mismatch(node, format!("Cx{h}x{w}"), s));
            }
            Ok(Shape::new(ins.iter().map(|s| s.c).sum(), h, w))
        }
        Layer::Add => {
            if ins.len() < 2 {
                return Err(ModelError::Arity {
                    node: node.into(),
                    expected: "at least 2",
                    found: ins.len(),
                });
            }
            if let Some(s) = ins.iter().find(|s| **s != ins[0]) {
                return Err(mismatch(node, ins[0], s));
            }
            Ok(ins[0])
        }
    }
}
