//! A trained network's first layer, as Zeiler & Fergus (2013, §4.1, Fig. 6) inspected
//! AlexNet's: each filter's weights, its contrast, and whether it ever responds.
//!
//! Two counts, both stated here because the paper gives no formula:
//! - dead: the filter's rectified response is zero at every position of every sample image
//!   (it never fires, so it passes nothing on and its weights get no gradient);
//! - low-contrast: the standard deviation of its weights is below [`LOW_CONTRAST`] times the
//!   largest in the layer (a near-flat filter, which weight decay leaves behind when training
//!   stops using it).

use crate::cpu::{CpuError, Stepper};
use crate::model::{Layer, Network, NodeId};
use crate::tensor::Tensor;
use crate::weights::{check_layer_weights, Weights};
use serde::Serialize;

/// A filter is low-contrast when its weights' standard deviation is below this fraction of
/// the layer's largest.
pub const LOW_CONTRAST: f32 = 0.1;

/// A rectified response at or below this level is "no response".
pub const DEAD_LEVEL: f32 = 0.0;

/// One first-layer filter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FilterView {
    /// `in_channels x k x k` weights, row-major.
    pub weights: Vec<f32>,
    /// Standard deviation of the weights.
    pub contrast: f32,
    /// Largest rectified response over the sample images.
    pub peak: f32,
    pub dead: bool,
    pub low_contrast: bool,
}

/// The first convolution of a network and the counts the lab shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FirstLayer {
    /// The convolution node.
    pub node: String,
    /// The node whose output is the rectified response (the convolution itself if no
    /// activation follows it).
    pub response_node: String,
    pub kernel: usize,
    pub stride: usize,
    pub in_channels: usize,
    pub filters: Vec<FilterView>,
    pub dead: usize,
    pub low_contrast: usize,
    /// Filters that are dead, low-contrast or both.
    pub dead_or_low_contrast: usize,
    /// How many sample images the responses were measured on.
    pub images: usize,
}

/// The first `Conv2d` of `net` and the node holding its rectified response.
pub fn first_conv(net: &Network) -> Option<(NodeId, NodeId)> {
    let conv = net
        .nodes
        .iter()
        .position(|n| matches!(n.layer, Layer::Conv2d(_)))?;
    let response = net
        .nodes
        .iter()
        .position(|n| n.inputs == [conv] && matches!(n.layer, Layer::Activation(_)))
        .unwrap_or(conv);
    Some((conv, response))
}

/// Filters, contrasts and responses of `net`'s first convolution over `images` (inputs
/// already prepared for the network). `None` if the network has no convolution.
pub fn first_layer(
    net: &Network,
    weights: &Weights,
    images: &[Tensor],
) -> Result<Option<FirstLayer>, CpuError> {
    let Some((conv_id, response_id)) = first_conv(net) else {
        return Ok(None);
    };
    let node = &net.nodes[conv_id];
    let Layer::Conv2d(conv) = &node.layer else {
        unreachable!("first_conv returns a Conv2d")
    };
    check_layer_weights(&node.name, &node.layer, weights)?;
    let w = weights.get(&node.name, "weight");
    let per_filter = w.data.len() / conv.out_channels;
    let mut peaks = vec![f32::NEG_INFINITY; conv.out_channels];
    for image in images {
        let outputs = forward_to(net, weights, image, response_id)?;
        let response = &outputs[response_id];
        let plane = response.data.len() / conv.out_channels;
        for (c, peak) in peaks.iter_mut().enumerate() {
            let m = response.data[c * plane..(c + 1) * plane]
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            *peak = peak.max(m);
        }
    }
    let contrasts: Vec<f32> = w.data.chunks(per_filter).map(std_dev).collect();
    let strongest = contrasts.iter().copied().fold(0.0, f32::max);
    let filters: Vec<FilterView> = w
        .data
        .chunks(per_filter)
        .zip(&contrasts)
        .zip(&peaks)
        .map(|((weights, &contrast), &peak)| FilterView {
            weights: weights.to_vec(),
            contrast,
            peak,
            dead: !images.is_empty() && peak <= DEAD_LEVEL,
            low_contrast: contrast < LOW_CONTRAST * strongest,
        })
        .collect();
    let count = |f: fn(&FilterView) -> bool| filters.iter().filter(|v| f(v)).count();
    Ok(Some(FirstLayer {
        node: node.name.clone(),
        response_node: net.nodes[response_id].name.clone(),
        kernel: conv.kernel.0,
        stride: conv.stride.0,
        in_channels: conv.in_channels / conv.groups,
        dead: count(|f| f.dead),
        low_contrast: count(|f| f.low_contrast),
        dead_or_low_contrast: count(|f| f.dead || f.low_contrast),
        images: images.len(),
        filters,
    }))
}

/// The outputs of nodes `0..=last` (the first layer's response needs no more of the network).
pub fn forward_to(
    net: &Network,
    weights: &Weights,
    input: &Tensor,
    last: NodeId,
) -> Result<Vec<Tensor>, CpuError> {
    Stepper::new(net, weights, input)?
        .stop_at(last)
        .run(weights)
}

fn std_dev(values: &[f32]) -> f32 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt() as f32
}
