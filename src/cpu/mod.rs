//! The CPU reference forward pass: simple loops, obviously right; the oracle for the GPU engine.
//!
//! Activations are `Tensor`s shaped `[c, h, w]` (flat vectors `[n, 1, 1]`), channel-major.
//! Long sums (convolution, dense, pooling averages, LRN windows) accumulate in f64 so the
//! reference is more accurate than the engines it checks.

pub mod backward;
mod calibrate;
mod conv;
mod dense;
mod elementwise;
mod pool;
mod stepper;

pub use calibrate::{calibrate_batchnorm, calibrate_node, calibrate_output, CALIBRATED_LOGIT_STD};
pub use stepper::Stepper;

use crate::model::{output_shape, softmax, Layer, ModelError, Network, NodeId, Shape};
use crate::tensor::Tensor;
use crate::weights::{check_layer_weights, TensorProblem, Weights};
use std::cmp::Ordering;
use thiserror::Error;

/// Why the reference cannot run a network or a layer.
#[derive(Debug, Error, PartialEq)]
pub enum CpuError {
    /// Shape inference failed (input too small, mismatched channels, bad configuration, ...).
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("network input must be shaped {expected}, found {found:?}")]
    InputShape { expected: String, found: Vec<usize> },
    #[error("node `{node}`: input tensors must be shaped [C, H, W], found {found:?}")]
    InputRank { node: String, found: Vec<usize> },
    #[error("tensor `{tensor}` has {len} values but its shape {shape:?} needs {needed}")]
    DataLength {
        tensor: String,
        shape: Vec<usize>,
        len: usize,
        needed: usize,
    },
    /// A tensor a layer owns is missing, misshapen or short of values.
    #[error(transparent)]
    Weights(#[from] TensorProblem),
    #[error("the network has no input node (node 0 must be `Layer::Input`)")]
    NoInputNode,
    #[error("node `{node}` reads node {input}, which does not come before it")]
    InputNotBefore { node: String, input: NodeId },
    #[error("gradient at node `{node}` has {found} values, its output has {expected}")]
    GradientLength {
        node: String,
        expected: usize,
        found: usize,
    },
    #[error("node {node} has no forward output (only {computed} nodes were computed)")]
    MissingOutput { node: NodeId, computed: usize },
}

/// Every node's output for one image `input` shaped `[C, H, W]`: index = `NodeId`, node 0 is
/// the input itself. Inputs, the graph and all weights are checked before any work is done.
pub fn forward(net: &Network, weights: &Weights, input: &Tensor) -> Result<Vec<Tensor>, CpuError> {
    Stepper::new(net, weights, input)?.run(weights)
}

/// One layer on its own, e.g. to compare a single GPU kernel against the reference.
/// `inputs` are `[c, h, w]` tensors; the output shape comes from `model::output_shape`, and
/// weights are read from `weights` under `node_name` (`conv1.weight`, ...).
pub fn layer_forward(
    node_name: &str,
    layer: &Layer,
    weights: &Weights,
    inputs: &[&Tensor],
) -> Result<Tensor, CpuError> {
    let (in_shapes, out_shape) = check_layer(node_name, layer, weights, inputs)?;
    Ok(compute(
        node_name, layer, weights, inputs, &in_shapes, out_shape,
    ))
}

/// The checks of [`layer_forward`]: input shapes, configuration, weights; returns the input
/// shapes and the output shape.
fn check_layer(
    node_name: &str,
    layer: &Layer,
    weights: &Weights,
    inputs: &[&Tensor],
) -> Result<(Vec<Shape>, Shape), CpuError> {
    let mut in_shapes = Vec::with_capacity(inputs.len());
    for t in inputs {
        check_data(node_name, t)?;
        match t.shape[..] {
            [c, h, w] => in_shapes.push(Shape::new(c, h, w)),
            _ => {
                return Err(CpuError::InputRank {
                    node: node_name.into(),
                    found: t.shape.clone(),
                })
            }
        }
    }
    check_config(node_name, layer)?;
    let out_shape = output_shape(node_name, layer, &in_shapes)?;
    check_layer_weights(node_name, layer, weights)?;
    Ok((in_shapes, out_shape))
}

/// The `k` largest logits as `(index, value)`, largest first; ties keep index order and
/// NaNs come last.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal),
    });
    ranked.truncate(k);
    ranked
}

/// Runs a layer whose inputs, weights and shapes have been checked.
fn compute(
    node: &str,
    layer: &Layer,
    weights: &Weights,
    inputs: &[&Tensor],
    in_shapes: &[Shape],
    out: Shape,
) -> Tensor {
    let w = |suffix: &str| -> &[f32] { &weights.get(node, suffix).data };
    let bias = |present: bool| present.then(|| w("bias"));
    let x = || &inputs[0].data[..];
    let s = || in_shapes[0];
    let data = match layer {
        Layer::Input { .. } => x().to_vec(),
        Layer::Conv2d(c) => conv::conv2d(c, x(), s(), w("weight"), bias(c.bias), out, 0..out.c),
        Layer::PartialConv2d(p) => conv::partial_conv2d(p, x(), s(), w("weight"), w("bias"), out),
        Layer::Subsample(sub) => pool::subsample(sub, x(), s(), w("weight"), w("bias"), out),
        Layer::MaxPool2d(p) => pool::max_pool2d(p, x(), s(), out),
        Layer::AvgPool2d(p) => pool::avg_pool2d(p, x(), s(), out),
        Layer::AdaptiveAvgPool2d(_) => pool::adaptive_avg_pool2d(x(), s(), out),
        Layer::GlobalAvgPool => pool::global_avg_pool(x(), s()),
        Layer::Lrn(l) => elementwise::lrn(l, x(), s()),
        Layer::BatchNorm(b) => elementwise::batch_norm(
            b,
            x(),
            s(),
            [w("weight"), w("bias"), w("running_mean"), w("running_var")],
        ),
        Layer::Activation(a) => x().iter().map(|&v| a.apply(v)).collect(),
        Layer::Dropout(_) | Layer::Flatten => x().to_vec(),
        Layer::Dense(d) => dense::dense(d, x(), w("weight"), bias(d.bias)),
        Layer::Rbf(r) => dense::rbf(r, x(), w("weight")),
        Layer::Concat => inputs.iter().flat_map(|t| t.data.iter().copied()).collect(),
        Layer::Add => elementwise::add(inputs),
        Layer::Softmax => softmax(x()),
    };
    Tensor::new(vec![out.c, out.h, out.w], data)
}

/// Configurations that shape inference would not survive (zero-sized windows).
fn check_config(node: &str, layer: &Layer) -> Result<(), CpuError> {
    let zero_window = match layer {
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => {
            p.kernel.0 == 0 || p.kernel.1 == 0 || p.stride.0 == 0 || p.stride.1 == 0
        }
        Layer::Subsample(s) => s.window == 0,
        Layer::PartialConv2d(p) => p.kernel == 0,
        _ => false,
    };
    if zero_window {
        return Err(ModelError::BadConfig {
            node: node.into(),
            reason: "window and stride must be at least 1".into(),
        }
        .into());
    }
    Ok(())
}

/// `Tensor`'s fields are public, so an input's data may disagree with its shape.
fn check_data(name: &str, t: &Tensor) -> Result<(), CpuError> {
    let needed: usize = t.shape.iter().product();
    if t.data.len() != needed {
        return Err(CpuError::DataLength {
            tensor: name.into(),
            shape: t.shape.clone(),
            len: t.data.len(),
            needed,
        });
    }
    Ok(())
}
