//! Calibration of random BatchNorm statistics, so random-weight networks stay in range.
//!
//! Random running statistics do not match the activations they normalise, so through a deep
//! network with residual additions values drift by orders of magnitude (ResNet-152's logits
//! reach 1e11), which makes both the feature maps and any numeric comparison meaningless.
//! Setting each BatchNorm's running mean and variance to its input's statistics on one image
//! makes every BatchNorm normalise, as a trained network's do.

use super::{layer_forward, CpuError};
use crate::model::{Layer, Network, Node};
use crate::tensor::Tensor;
use crate::weights::{check_layer_weights, Weights};

/// In graph order, set every BatchNorm's `running_mean` to the per-channel mean of its input
/// on `input`, and `running_var` to the input's variance averaged over channels (left
/// unchanged for 1x1 maps, where a single value has no spread). A layer-wide variance brings
/// the layer to unit scale without dividing any one nearly constant channel by its tiny
/// spread, which would magnify rounding noise into visible differences. Returns every node's output under the calibrated weights: exactly
/// what [`super::forward`] gives afterwards.
pub fn calibrate_batchnorm(
    net: &Network,
    weights: &mut Weights,
    input: &Tensor,
) -> Result<Vec<Tensor>, CpuError> {
    net.validate()?;
    let mut outputs: Vec<Tensor> = vec![input.clone()];
    for node in net.nodes.iter().skip(1) {
        calibrate_node(node, weights, &outputs)?;
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &outputs[i]).collect();
        let out = layer_forward(&node.name, &node.layer, weights, &ins)?;
        outputs.push(out);
    }
    Ok(outputs)
}

/// One node of [`calibrate_batchnorm`], before it runs: if it is a BatchNorm, set its
/// statistics from its input in `outputs` (the outputs of every node before it). For callers
/// that run the nodes themselves, pausing between them; they must have checked the graph
/// with `Network::validate`.
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
    let mut means = Vec::with_capacity(c);
    let mut vars = Vec::with_capacity(c);
    for plane in x.data.chunks(hw) {
        let mean = plane.iter().map(|&v| v as f64).sum::<f64>() / hw as f64;
        let var = plane
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / hw as f64;
        means.push(mean as f32);
        vars.push(var as f32);
    }
    let layer_var = vars.iter().sum::<f32>() / c as f32;
    let vars = vec![layer_var.max(1e-6); c];
    for (suffix, values) in [("running_mean", means), ("running_var", vars)] {
        let key = format!("{}.{suffix}", node.name);
        weights.tensors.get_mut(&key).expect("checked above").data = values;
    }
    Ok(())
}
