//! ResNet-18/34/50/101/152 in torchvision's layout, with its parameter names.
//!
//! Source: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (2015,
//! arXiv:1512.03385), Table 1 for the stage depths; torchvision `models/resnet.py` for the
//! layout and names. torchvision is "ResNet v1.5": a bottleneck block strides in its 3x3
//! convolution (`conv2`), where the paper strides in the first 1x1. Shortcuts that change
//! shape are projections (the paper's option B): `downsample.0` a strided 1x1 convolution,
//! `downsample.1` its BatchNorm.

use crate::model::{Activation, BatchNorm, Conv2d, Dense, Layer, Network, NodeId, Pool2d};

/// The residual block a network is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Block {
    /// Two 3x3 convolutions (ResNet-18/34).
    Basic,
    /// 1x1 reduce, 3x3, 1x1 expand by four (ResNet-50/101/152).
    Bottleneck,
}

impl Block {
    /// Output channels per "planes" of a stage (torchvision's `expansion`).
    const fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// One ResNet: its block kind and the number of blocks in each of the four stages.
struct Spec {
    name: &'static str,
    block: Block,
    /// Blocks in `layer1` .. `layer4` (paper Table 1).
    depths: [usize; 4],
}

/// Width ("planes") of `layer1` .. `layer4`; a bottleneck stage outputs four times this.
const PLANES: [usize; 4] = [64, 128, 256, 512];

pub fn resnet18() -> Network {
    build(&Spec {
        name: "resnet18",
        block: Block::Basic,
        depths: [2, 2, 2, 2],
    })
}

pub fn resnet34() -> Network {
    build(&Spec {
        name: "resnet34",
        block: Block::Basic,
        depths: [3, 4, 6, 3],
    })
}

pub fn resnet50() -> Network {
    build(&Spec {
        name: "resnet50",
        block: Block::Bottleneck,
        depths: [3, 4, 6, 3],
    })
}

pub fn resnet101() -> Network {
    build(&Spec {
        name: "resnet101",
        block: Block::Bottleneck,
        depths: [3, 4, 23, 3],
    })
}

pub fn resnet152() -> Network {
    build(&Spec {
        name: "resnet152",
        block: Block::Bottleneck,
        depths: [3, 8, 36, 3],
    })
}

fn build(spec: &Spec) -> Network {
    let mut net = Network::new(spec.name, 3, (224, 224));
    let conv1 = Conv2d::new(3, 64, 7).stride(2).pad(3).no_bias();
    let x = conv_bn(&mut net, "conv1", "bn1", Network::INPUT, conv1);
    let x = relu(&mut net, "relu".into(), x);
    let mut x = net.add("maxpool", Layer::MaxPool2d(Pool2d::new(3, 2).pad(1)), &[x]);

    let mut channels = 64;
    for (stage, (&planes, &depth)) in PLANES.iter().zip(&spec.depths).enumerate() {
        for i in 0..depth {
            // The first block of every stage but the first halves the resolution.
            let stride = if i == 0 && stage > 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", stage + 1);
            x = block(&mut net, &name, spec.block, x, channels, planes, stride);
            channels = planes * spec.block.expansion();
        }
    }

    net.add("avgpool", Layer::GlobalAvgPool, &[x]);
    net.then("flatten", Layer::Flatten);
    let fc = net.then("fc", Layer::Dense(Dense::new(channels, 1000)));
    net.outputs = vec![fc];
    net
}

/// One residual block `name` (`layer2.0`): its body, a projection shortcut when the shape
/// changes, the sum, and the ReLU after the sum. Returns the block's output node.
pub(super) fn block(
    net: &mut Network,
    name: &str,
    kind: Block,
    input: NodeId,
    in_channels: usize,
    planes: usize,
    stride: usize,
) -> NodeId {
    let out_channels = planes * kind.expansion();
    let body = block_body(net, name, kind, input, in_channels, planes, stride);
    let shortcut = if stride != 1 || in_channels != out_channels {
        let proj = Conv2d::new(in_channels, out_channels, 1).stride(stride);
        let down = format!("{name}.downsample");
        let (c, b) = (format!("{down}.0"), format!("{down}.1"));
        conv_bn(net, &c, &b, input, proj.no_bias())
    } else {
        input
    };
    let sum = net.add(format!("{name}.add"), Layer::Add, &[body, shortcut]);
    relu(net, format!("{name}.relu"), sum)
}

/// A block's convolutions, BatchNorms and inner ReLUs, ending at its last BatchNorm (before
/// any sum): what a plain network of the same layout stacks without shortcuts.
pub(super) fn block_body(
    net: &mut Network,
    name: &str,
    kind: Block,
    input: NodeId,
    in_channels: usize,
    planes: usize,
    stride: usize,
) -> NodeId {
    let out_channels = planes * kind.expansion();
    let conv = |i: usize| format!("{name}.conv{i}");
    let bn = |i: usize| format!("{name}.bn{i}");
    match kind {
        Block::Basic => {
            let c1 = Conv2d::new(in_channels, planes, 3).stride(stride).pad(1);
            let x = conv_bn(net, &conv(1), &bn(1), input, c1.no_bias());
            let x = relu(net, format!("{name}.relu1"), x);
            let c2 = Conv2d::new(planes, planes, 3).pad(1);
            conv_bn(net, &conv(2), &bn(2), x, c2.no_bias())
        }
        Block::Bottleneck => {
            let c1 = Conv2d::new(in_channels, planes, 1);
            let x = conv_bn(net, &conv(1), &bn(1), input, c1.no_bias());
            let x = relu(net, format!("{name}.relu1"), x);
            let c2 = Conv2d::new(planes, planes, 3).stride(stride).pad(1);
            let x = conv_bn(net, &conv(2), &bn(2), x, c2.no_bias());
            let x = relu(net, format!("{name}.relu2"), x);
            let c3 = Conv2d::new(planes, out_channels, 1);
            conv_bn(net, &conv(3), &bn(3), x, c3.no_bias())
        }
    }
}

/// A convolution `conv` reading `input`, followed by BatchNorm `bn` (PyTorch's eps 1e-5).
pub(super) fn conv_bn(net: &mut Network, conv: &str, bn: &str, input: NodeId, c: Conv2d) -> NodeId {
    let channels = c.out_channels;
    let x = net.add(conv, Layer::Conv2d(c), &[input]);
    net.add(
        bn,
        Layer::BatchNorm(BatchNorm {
            channels,
            eps: 1e-5,
        }),
        &[x],
    )
}

pub(super) fn relu(net: &mut Network, name: String, input: NodeId) -> NodeId {
    net.add(name, Layer::Activation(Activation::Relu), &[input])
}
