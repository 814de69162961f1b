//! A small ResNet for Fashion-MNIST and its plain twin, to show the degradation problem (He,
//! Zhang, Ren & Sun 2015, Fig. 1 and §4.2): with the same depth, width and training, the
//! network without shortcuts reaches a higher training error than the residual one.
//!
//! Both follow the paper's CIFAR-10 networks (§4.2): a 3x3 stem, three stages of `2n` 3x3
//! convolutions (here `n = 3`, as ResNet-20: 6n + 2 = 20 weighted layers) whose widths double
//! as the map halves, every convolution followed by BatchNorm, global average pooling and one
//! dense layer. The residual network adds a shortcut around every pair of convolutions (a
//! basic block), a projection (1x1 convolution with stride 2 and BatchNorm, option B) where
//! the shape changes; the plain twin is the same stack without the additions. At 28x28 the
//! stem strides by 2, so the stages run at 14x14, 7x7 and 4x4, with widths 6, 12, 24 (the
//! paper's 16, 32, 64 scaled by 3/8).

use super::resnet::{self, conv_bn, relu, Block};
use crate::model::{Conv2d, Dense, Layer, Network, NodeId};

/// Channels of the three stages.
const WIDTHS: [usize; 3] = [6, 12, 24];
/// Basic blocks per stage (`n` in the paper's 6n + 2).
const BLOCKS: usize = 3;

/// The residual network: basic blocks with identity shortcuts, projections where the shape
/// changes.
pub fn fmnist_resnet() -> Network {
    build("fmnist_resnet", true)
}

/// The plain twin: the same convolutions, BatchNorms and ReLUs, no shortcuts.
pub fn fmnist_plain() -> Network {
    build("fmnist_plain", false)
}

fn build(name: &str, residual: bool) -> Network {
    let mut net = Network::new(name, 1, (28, 28));
    let stem = Conv2d::new(1, WIDTHS[0], 3).stride(2).pad(1).no_bias();
    let x = conv_bn(&mut net, "conv1", "bn1", Network::INPUT, stem);
    let mut x = relu(&mut net, "relu".into(), x);
    let mut channels = WIDTHS[0];
    for (stage, &width) in WIDTHS.iter().enumerate() {
        for i in 0..BLOCKS {
            let stride = if i == 0 && stage > 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", stage + 1);
            x = block(&mut net, &name, x, channels, width, stride, residual);
            channels = width;
        }
    }
    net.add("avgpool", Layer::GlobalAvgPool, &[x]);
    net.then("flatten", Layer::Flatten);
    let fc = net.then("fc", Layer::Dense(Dense::new(channels, 10)));
    net.outputs = vec![fc];
    net
}

/// A basic block of `resnet.rs` (two 3x3 convolutions with BatchNorm, ReLU between); with
/// `residual` its input (or its projection) is added before the last ReLU, without it the
/// body is followed by the ReLU alone. Node names are the same either way.
fn block(
    net: &mut Network,
    name: &str,
    input: NodeId,
    in_channels: usize,
    width: usize,
    stride: usize,
    residual: bool,
) -> NodeId {
    if residual {
        return resnet::block(net, name, Block::Basic, input, in_channels, width, stride);
    }
    let body = resnet::block_body(net, name, Block::Basic, input, in_channels, width, stride);
    relu(net, format!("{name}.relu"), body)
}
