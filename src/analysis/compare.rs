//! Design comparisons from the classic papers, computed by building the small networks and
//! analysing them with the same code as the zoo: VGG's 3x3 stacks against one large kernel,
//! Inception's 1x1 reduction, ResNet's bottleneck, GoogLeNet's pooled head.

use super::{analyze, NodeStats};
use crate::model::{Activation, Conv2d, Dense, Layer, ModelError, Network, Shape};
use serde::Serialize;

/// The cost of one small network (a block) on its input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockCost {
    pub label: String,
    /// Weighted layers (convolutions and dense).
    pub layers: usize,
    /// Trainable parameters (the blocks here have no biases unless stated, so this counts weights).
    pub params: u64,
    pub macs: u64,
    pub flops: u64,
    /// Non-linear activations applied.
    pub nonlinearities: usize,
    /// Receptive field of an output unit, in input pixels (height axis).
    pub rf_size: i64,
    pub output_shape: Shape,
    /// Per-node breakdown, for the step-through views.
    pub nodes: Vec<NodeStats>,
}

impl BlockCost {
    /// Analyse `net` at `h x w` and sum its costs.
    pub fn of(label: &str, net: &Network, h: usize, w: usize) -> Result<BlockCost, ModelError> {
        let a = analyze(net, h, w)?;
        let last = a.nodes.last().expect("a network has at least its input");
        Ok(BlockCost {
            label: label.to_string(),
            layers: net
                .nodes
                .iter()
                .filter(|n| matches!(n.layer, Layer::Conv2d(_) | Layer::Dense(_)))
                .count(),
            params: a.totals.params,
            macs: a.totals.macs,
            flops: a.totals.flops,
            nonlinearities: net
                .nodes
                .iter()
                .filter(|n| matches!(n.layer, Layer::Activation(_)))
                .count(),
            rf_size: last.receptive_field.h.size,
            output_shape: last.output_shape,
            nodes: a.nodes,
        })
    }
}

/// Two ways to reach the same receptive field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    pub a: BlockCost,
    pub b: BlockCost,
    /// `a.params / b.params`.
    pub params_ratio: f64,
    /// `a.macs / b.macs`.
    pub macs_ratio: f64,
}

impl Comparison {
    fn new(a: BlockCost, b: BlockCost) -> Self {
        Comparison {
            params_ratio: a.params as f64 / b.params.max(1) as f64,
            macs_ratio: a.macs as f64 / b.macs.max(1) as f64,
            a,
            b,
        }
    }
}

fn same_conv(in_c: usize, out_c: usize, k: usize) -> Layer {
    Layer::Conv2d(Conv2d::new(in_c, out_c, k).pad(k / 2).no_bias())
}

/// One `k x k` convolution `in_c -> out_c`, "same" padded, without bias, then ReLU.
pub fn single_kernel_net(in_c: usize, out_c: usize, k: usize) -> Network {
    let mut net = Network::new(&format!("conv{k}x{k}"), in_c, (32, 32));
    net.then(format!("conv{k}x{k}"), same_conv(in_c, out_c, k));
    net.then("relu", Layer::Activation(Activation::Relu));
    net
}

/// `(k - 1) / 2` stacked 3x3 convolutions (the first `in_c -> out_c`, the rest
/// `out_c -> out_c`), each followed by ReLU: the receptive field of one `k x k` kernel
/// (Simonyan & Zisserman 2014, §2.3).
pub fn stacked_3x3_net(in_c: usize, out_c: usize, k: usize) -> Network {
    let mut net = Network::new(&format!("stack3x3_rf{k}"), in_c, (32, 32));
    for i in 0..(k - 1) / 2 {
        let c = if i == 0 { in_c } else { out_c };
        net.then(format!("conv3x3_{}", i + 1), same_conv(c, out_c, 3));
        net.then(
            format!("relu_{}", i + 1),
            Layer::Activation(Activation::Relu),
        );
    }
    net
}

/// Why a comparison cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompareError {
    #[error("kernel size must be odd and at least 3, got {0}")]
    BadKernel(usize),
    #[error("channels must be at least 1")]
    NoChannels,
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// One `k x k` convolution against the stack of 3x3 convolutions with the same field.
pub fn compare_kernels(
    in_c: usize,
    out_c: usize,
    h: usize,
    w: usize,
    k: usize,
) -> Result<Comparison, CompareError> {
    if k < 3 || k.is_multiple_of(2) {
        return Err(CompareError::BadKernel(k));
    }
    if in_c == 0 || out_c == 0 {
        return Err(CompareError::NoChannels);
    }
    let a = BlockCost::of(
        &format!("one {k}x{k}"),
        &single_kernel_net(in_c, out_c, k),
        h,
        w,
    )?;
    let n = (k - 1) / 2;
    let b = BlockCost::of(
        &format!("{n} x 3x3"),
        &stacked_3x3_net(in_c, out_c, k),
        h,
        w,
    )?;
    Ok(Comparison::new(a, b))
}

/// Inception's 5x5 branch (Szegedy et al. 2014, §4): `in_c -> out_c` 5x5, optionally after a
/// `reduce`-channel 1x1 convolution; no biases, ReLU after each convolution.
pub fn inception_5x5_net(in_c: usize, reduce: Option<usize>, out_c: usize) -> Network {
    let mut net = Network::new("inception_5x5", in_c, (28, 28));
    let mut c = in_c;
    if let Some(r) = reduce {
        net.then("reduce1x1", same_conv(in_c, r, 1));
        net.then("reduce_relu", Layer::Activation(Activation::Relu));
        c = r;
    }
    net.then("conv5x5", same_conv(c, out_c, 5));
    net.then("relu", Layer::Activation(Activation::Relu));
    net
}

/// The 5x5 branch without (a) and with (b) its 1x1 reduction.
pub fn compare_inception(
    in_c: usize,
    reduce: usize,
    out_c: usize,
    h: usize,
    w: usize,
) -> Result<Comparison, ModelError> {
    Ok(Comparison::new(
        BlockCost::of("5x5 direct", &inception_5x5_net(in_c, None, out_c), h, w)?,
        BlockCost::of(
            &format!("1x1 to {reduce}, then 5x5"),
            &inception_5x5_net(in_c, Some(reduce), out_c),
            h,
            w,
        )?,
    ))
}

/// Two plain 3x3 `c -> c` convolutions (a ResNet basic block's path, without BatchNorm).
pub fn plain_pair_net(c: usize) -> Network {
    let mut net = Network::new("basic", c, (56, 56));
    net.then("conv1", same_conv(c, c, 3));
    net.then("relu1", Layer::Activation(Activation::Relu));
    net.then("conv2", same_conv(c, c, 3));
    net.then("relu2", Layer::Activation(Activation::Relu));
    net
}

/// A ResNet bottleneck path `c -> mid -> mid -> c`: 1x1, 3x3, 1x1 (He et al. 2015, Fig. 5).
pub fn bottleneck_net(c: usize, mid: usize) -> Network {
    let mut net = Network::new("bottleneck", c, (56, 56));
    net.then("conv1", same_conv(c, mid, 1));
    net.then("relu1", Layer::Activation(Activation::Relu));
    net.then("conv2", same_conv(mid, mid, 3));
    net.then("relu2", Layer::Activation(Activation::Relu));
    net.then("conv3", same_conv(mid, c, 1));
    net.then("relu3", Layer::Activation(Activation::Relu));
    net
}

/// Two plain 3x3 convolutions at `c` channels (a) against a bottleneck through `mid` (b).
pub fn compare_bottleneck(
    c: usize,
    mid: usize,
    h: usize,
    w: usize,
) -> Result<Comparison, ModelError> {
    Ok(Comparison::new(
        BlockCost::of(&format!("2 x 3x3, {c}-{c}"), &plain_pair_net(c), h, w)?,
        BlockCost::of(
            &format!("1x1-3x3-1x1, {c}-{mid}-{mid}-{c}"),
            &bottleneck_net(c, mid),
            h,
            w,
        )?,
    ))
}

/// A classifier head on a `c x h x w` map: VGG-style flatten + dense `hidden`, `hidden`,
/// `classes` (with biases), or GoogLeNet-style global average pooling + one dense layer.
pub fn head_net(c: usize, h: usize, w: usize, hidden: Option<usize>, classes: usize) -> Network {
    let mut net = Network::new("head", c, (h, w));
    match hidden {
        Some(hidden) => {
            net.then("flatten", Layer::Flatten);
            net.then("fc1", Layer::Dense(Dense::new(c * h * w, hidden)));
            net.then("relu1", Layer::Activation(Activation::Relu));
            net.then("fc2", Layer::Dense(Dense::new(hidden, hidden)));
            net.then("relu2", Layer::Activation(Activation::Relu));
            net.then("fc3", Layer::Dense(Dense::new(hidden, classes)));
        }
        None => {
            net.then("gap", Layer::GlobalAvgPool);
            net.then("fc", Layer::Dense(Dense::new(c, classes)));
        }
    }
    net
}

/// VGG's dense head (a) against GoogLeNet's global average pooling head (b).
pub fn compare_heads(
    c: usize,
    h: usize,
    w: usize,
    hidden: usize,
    classes: usize,
) -> Result<Comparison, ModelError> {
    Ok(Comparison::new(
        BlockCost::of(
            "flatten + 3 dense",
            &head_net(c, h, w, Some(hidden), classes),
            h,
            w,
        )?,
        BlockCost::of(
            "global average pool + dense",
            &head_net(c, h, w, None, classes),
            h,
            w,
        )?,
    ))
}
