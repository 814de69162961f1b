//! The backward pass on the CPU reference: the gradient with respect to a layer's input(s)
//! from the gradient with respect to its output, in f64, for every layer kind; and a walk over
//! the whole graph in reverse from a seed at any node. The oracle for the GPU backward kernels
//! and the engine behind `crate::explain` (gradient, guided backprop, deconvnet, Grad-CAM).
//!
//! API (each GPU kernel mirrors one function; `s` the input shape, `out` the output shape,
//! `dy` the gradient w.r.t. the output laid out as the output, channel-major; every function
//! returns `dx` laid out as its input):
//! - [`conv2d_backward`]`(c, s, weight, dy, out)`: a transposed convolution (stride, dilation,
//!   asymmetric padding, groups, depthwise);
//! - [`partial_conv2d_backward`]`(p, s, weight, dy, out)`, [`subsample_backward`]`(sub, s,
//!   coefficient, dy, out)`, [`rbf_backward`]`(r, x, weight, dy)`: LeNet-5's layers;
//! - [`max_pool2d_switches`]`(p, x, s, out)` and [`max_pool2d_backward`]`(p, x, s, dy, out)`;
//!   [`avg_pool2d_backward`]`(p, s, dy, out)`, [`adaptive_avg_pool2d_backward`]`(s, dy, out)`,
//!   [`global_avg_pool_backward`]`(s, dy)`;
//! - [`dense_backward`]`(d, weight, dy)`;
//! - [`batch_norm_backward`]`(b, s, [weight, running_var], dy)`, [`lrn_backward`]`(l, x, s, dy)`,
//!   [`softmax_backward`]`(y, dy)`, [`activation_backward`]`(a, mode, x, dy)` (`x` the
//!   activation's input);
//! - [`add_backward`]`(inputs, dy)` (copies), [`concat_backward`]`(channels, plane, dy)`
//!   (splits); Flatten, Dropout and Input pass `dy` through.
//!
//! [`layer_backward`] checks and dispatches one node; [`Backward`] walks a network in reverse,
//! a node a step, from a seed at any node, keeping the gradient at every node it reaches
//! ([`backward`] runs it to the input).

mod conv;
mod dense;
mod elementwise;
mod graph;
mod pool;

pub use conv::{conv2d_backward, partial_conv2d_backward};
pub use dense::{dense_backward, rbf_backward};
pub use elementwise::{
    activation_backward, add_backward, batch_norm_backward, concat_backward, lrn_backward,
    softmax_backward,
};
pub use graph::{backward, Backward};
pub use pool::{
    adaptive_avg_pool2d_backward, avg_pool2d_backward, global_avg_pool_backward,
    max_pool2d_backward, max_pool2d_switches, subsample_backward,
};

use super::{check_layer, CpuError};
use crate::model::Layer;
use crate::tensor::Tensor;
use crate::weights::Weights;

/// How activations pass a gradient back (the rest of the network is the same in every mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The true gradient (saliency, Grad-CAM).
    Gradient,
    /// Guided backpropagation: rectifiers pass only positive gradient where they were open.
    Guided,
    /// Zeiler & Fergus's deconvnet: rectifiers pass `relu(g)`, ignoring the forward pass.
    Deconvnet,
}

/// `d/d input` for each input of node `node_name`, from `dy` = `d/d output`. `inputs` are the
/// node's forward inputs and `output` its forward output (softmax reads it); shapes and
/// weights are checked as in `cpu::layer_forward`.
pub fn layer_backward(
    node_name: &str,
    layer: &Layer,
    weights: &Weights,
    inputs: &[&Tensor],
    output: &Tensor,
    dy: &[f64],
    mode: Mode,
) -> Result<Vec<Vec<f64>>, CpuError> {
    let (in_shapes, out) = check_layer(node_name, layer, weights, inputs)?;
    if dy.len() != out.len() || output.data.len() != out.len() {
        return Err(CpuError::GradientLength {
            node: node_name.into(),
            expected: out.len(),
            found: if dy.len() != out.len() {
                dy.len()
            } else {
                output.data.len()
            },
        });
    }
    let w = |suffix: &str| -> &[f32] { &weights.get(node_name, suffix).data };
    let x = || &inputs[0].data[..];
    let s = in_shapes.first().copied().unwrap_or(out);
    let one = |dx: Vec<f64>| vec![dx];
    Ok(match layer {
        Layer::Input { .. } => Vec::new(),
        Layer::Conv2d(c) => one(conv2d_backward(c, s, w("weight"), dy, out)),
        Layer::PartialConv2d(p) => one(partial_conv2d_backward(p, s, w("weight"), dy, out)),
        Layer::Subsample(sub) => one(subsample_backward(sub, s, w("weight"), dy, out)),
        Layer::MaxPool2d(p) => one(max_pool2d_backward(p, x(), s, dy, out)),
        Layer::AvgPool2d(p) => one(avg_pool2d_backward(p, s, dy, out)),
        Layer::AdaptiveAvgPool2d(_) => one(adaptive_avg_pool2d_backward(s, dy, out)),
        Layer::GlobalAvgPool => one(global_avg_pool_backward(s, dy)),
        Layer::Lrn(l) => one(lrn_backward(l, x(), s, dy)),
        Layer::BatchNorm(b) => one(batch_norm_backward(
            b,
            s,
            [w("weight"), w("running_var")],
            dy,
        )),
        Layer::Activation(a) => one(activation_backward(*a, mode, x(), dy)),
        Layer::Dropout(_) | Layer::Flatten => one(dy.to_vec()),
        Layer::Dense(d) => one(dense_backward(d, w("weight"), dy)),
        Layer::Rbf(r) => one(rbf_backward(r, x(), w("weight"), dy)),
        Layer::Softmax => one(softmax_backward(&output.data, dy)),
        Layer::Add => add_backward(inputs.len(), dy),
        Layer::Concat => {
            let channels: Vec<usize> = in_shapes.iter().map(|s| s.c).collect();
            concat_backward(&channels, out.h * out.w, dy)
        }
    })
}
