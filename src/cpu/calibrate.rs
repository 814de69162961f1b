//! Calibration of random weights, so random-weight networks stay in range: BatchNorm
//! statistics and the scale of the scores, set from one image.
//!
//! Random running statistics do not match the activations they normalise, so through a deep
//! network with residual additions values drift by orders of magnitude (ResNet-152's logits
//! reach 1e11), which makes both the feature maps and any numeric comparison meaningless.
//! Setting each BatchNorm's statistics from its input on one image makes every BatchNorm
//! bring its layer to unit scale, as a trained network's do.

use super::{CpuError, Stepper};
use crate::model::{Activation, Layer, Network, Node, NodeId};
use crate::tensor::Tensor;
use crate::weights::{check_layer_weights, Weights};

/// In graph order, set every BatchNorm's statistics from its input on `input` (see
/// [`calibrate_node`]). Returns every node's output under the calibrated weights: exactly
/// what [`super::forward`] gives afterwards.
pub fn calibrate_batchnorm(
    net: &Network,
    weights: &mut Weights,
    input: &Tensor,
) -> Result<Vec<Tensor>, CpuError> {
    Stepper::new(net, weights, input)?.run_with(weights, |id, weights, outputs| {
        calibrate_node(&net.nodes[id], weights, outputs)
    })
}

/// One node of [`calibrate_batchnorm`], before it runs: if it is a BatchNorm, set its
/// statistics from its input in `outputs` (the outputs of every node before it); the hook a
/// [`Stepper`] calls before each node. `running_mean` becomes 0 and `running_var` the
/// input's mean square over the whole layer (left unchanged for 1x1 maps), so the layer
/// comes out at unit scale.
///
/// Why not each channel's own mean and variance: those subtract a mean fitted to the
/// calibration image, and any other image's difference from it grows at every BatchNorm of a
/// deep random network (ResNet-50's scores on a photo came out 50 to 100 times wider than on
/// the image they were calibrated on). Dividing by a mean square only scales, so the network
/// stays as homogeneous as its weights make it and a photo's scale stays near the
/// calibration image's. One value for the whole layer, rather than one a channel, does not
/// divide a nearly constant channel by its tiny spread, which would magnify rounding noise.
pub fn calibrate_node(
    node: &Node,
    weights: &mut Weights,
    outputs: &[Tensor],
) -> Result<(), CpuError> {
    let Layer::BatchNorm(_) = node.layer else {
        return Ok(());
    };
    check_layer_weights(&node.name, &node.layer, weights)?;
    let x = &outputs[node.inputs[0]];
    let (c, hw) = (x.shape[0], x.shape[1] * x.shape[2]);
    if hw <= 1 {
        return Ok(());
    }
    let mean_square = x.data.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.data.len() as f64;
    let stats = [
        ("running_mean", vec![0.0; c]),
        ("running_var", vec![(mean_square as f32).max(1e-6); c]),
    ];
    for (suffix, values) in stats {
        let key = format!("{}.{suffix}", node.name);
        weights.tensors.get_mut(&key).expect("checked above").data = values;
    }
    Ok(())
}

/// The spread (standard deviation over classes) that [`calibrate_output`] gives a random
/// network's scores on the calibration image: a few units, as a classifier's logits, so the
/// softmax is spread over many classes instead of all on one.
pub const CALIBRATED_LOGIT_STD: f32 = 1.0;

/// After a pass under calibrated BatchNorm (`outputs`, every node's output): scale the layer
/// that makes the network's scores so that, on this input, they spread by
/// [`CALIBRATED_LOGIT_STD`]. The identity paths of a deep residual network add up, so its
/// random logits reach the hundreds or thousands (ResNet-50: 3000) and one class takes
/// p = 1.0; scaling the last weighted layer fixes the size of the scores without changing
/// their order. That layer is found from the output back through layers that scale with
/// their input (softmax, flatten, dropout, average pooling, ReLU, leaky ReLU); returns it,
/// or `None` when there is none (an RBF output, say) or the scores do not vary.
pub fn calibrate_output(
    net: &Network,
    weights: &mut Weights,
    outputs: &[Tensor],
) -> Result<Option<NodeId>, CpuError> {
    let mut id = net.output();
    if matches!(net.nodes[id].layer, Layer::Softmax) {
        id = net.nodes[id].inputs[0];
    }
    let scores = &outputs[id].data;
    let n = scores.len().max(1) as f64;
    let mean = scores.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (scores
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    if !std.is_finite() || std <= 0.0 {
        return Ok(None);
    }
    let scale = (CALIBRATED_LOGIT_STD as f64 / std) as f32;
    loop {
        let node = &net.nodes[id];
        let bias = match &node.layer {
            Layer::Dense(d) => d.bias,
            Layer::Conv2d(c) => c.bias,
            Layer::Flatten
            | Layer::Dropout(_)
            | Layer::GlobalAvgPool
            | Layer::AvgPool2d(_)
            | Layer::AdaptiveAvgPool2d(_)
            | Layer::Activation(Activation::Relu | Activation::LeakyRelu { .. }) => {
                id = node.inputs[0];
                continue;
            }
            _ => return Ok(None),
        };
        check_layer_weights(&node.name, &node.layer, weights)?;
        let suffixes: &[&str] = if bias {
            &["weight", "bias"]
        } else {
            &["weight"]
        };
        for suffix in suffixes {
            let key = format!("{}.{suffix}", node.name);
            let t = weights.tensors.get_mut(&key).expect("checked above");
            t.data.iter_mut().for_each(|v| *v *= scale);
        }
        return Ok(Some(id));
    }
}
