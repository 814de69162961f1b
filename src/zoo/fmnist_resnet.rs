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

use crate::model::{Activation, BatchNorm, Conv2d, Dense, Layer, Network, NodeId};

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

/// Two 3x3 convolutions with BatchNorm, ReLU between; with `residual` the block's input (or
/// its projection) is added before the last ReLU.
fn block(
    net: &mut Network,
    name: &str,
    input: NodeId,
    in_channels: usize,
    width: usize,
    stride: usize,
    residual: bool,
) -> NodeId {
    let c1 = Conv2d::new(in_channels, width, 3).stride(stride).pad(1);
    let x = conv_bn(
        net,
        &format!("{name}.conv1"),
        &format!("{name}.bn1"),
        input,
        c1.no_bias(),
    );
    let x = relu(net, format!("{name}.relu1"), x);
    let c2 = Conv2d::new(width, width, 3).pad(1).no_bias();
    let body = conv_bn(net, &format!("{name}.conv2"), &format!("{name}.bn2"), x, c2);
    if !residual {
        return relu(net, format!("{name}.relu"), body);
    }
    let shortcut = if stride != 1 || in_channels != width {
        let proj = Conv2d::new(in_channels, width, 1).stride(stride).no_bias();
        let (c, b) = (
            format!("{name}.downsample.0"),
            format!("{name}.downsample.1"),
        );
        conv_bn(net, &c, &b, input, proj)
    } else {
        input
    };
    let sum = net.add(format!("{name}.add"), Layer::Add, &[body, shortcut]);
    relu(net, format!("{name}.relu"), sum)
}

/// A convolution reading `input`, followed by BatchNorm (PyTorch's eps 1e-5).
fn conv_bn(net: &mut Network, conv: &str, bn: &str, input: NodeId, c: Conv2d) -> NodeId {
    let channels = c.out_channels;
    let x = net.add(conv, Layer::Conv2d(c), &[input]);
    let norm = BatchNorm {
        channels,
        eps: 1e-5,
    };
    net.add(bn, Layer::BatchNorm(norm), &[x])
}

fn relu(net: &mut Network, name: String, input: NodeId) -> NodeId {
    net.add(name, Layer::Activation(Activation::Relu), &[input])
}
