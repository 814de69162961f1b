//! Network in Network: mlpconv blocks (a convolution followed by 1x1 convolutions) and global
//! average pooling in place of dense layers.
//!
//! Sources: M. Lin, Q. Chen, S. Yan, "Network In Network", arXiv:1312.4400 (ICLR 2014), §3
//! (mlpconv, global average pooling). The paper gives no ImageNet layout; this follows the
//! ImageNet model its first author released in the Caffe Model Zoo ("NIN-Imagenet"),
//! including its prototxt's layer names (`cccp` = cascaded cross-channel parametric pooling,
//! the paper's name for the 1x1 layers).

use crate::model::{Activation, Conv2d, Dropout, Layer, Network, Pool2d};

/// One mlpconv block: the spatial convolution `conv`, then two 1x1 convolutions named
/// `cccp[0]` and `cccp[1]` with `widths[0]` and `widths[1]` outputs, each followed by a ReLU.
fn mlpconv(net: &mut Network, name: &str, conv: Conv2d, cccp: [&str; 2], widths: [usize; 2]) {
    let mut channels = conv.out_channels;
    net.then(name, Layer::Conv2d(conv));
    net.then(format!("{name}_relu"), Layer::Activation(Activation::Relu));
    for (cccp_name, width) in cccp.into_iter().zip(widths) {
        net.then(cccp_name, Layer::Conv2d(Conv2d::new(channels, width, 1)));
        net.then(
            format!("{cccp_name}_relu"),
            Layer::Activation(Activation::Relu),
        );
        channels = width;
    }
}

/// NIN-Imagenet: four mlpconv blocks at 224x224, the last ending in 1000 maps (one per
/// class) that global average pooling turns into the logits, then a softmax.
pub fn nin() -> Network {
    let mut net = Network::new("nin", 3, (224, 224));
    // Caffe rounds pooling output sizes up; that is what turns conv1's 54x54 into 27x27.
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2).ceil());

    mlpconv(
        &mut net,
        "conv1",
        Conv2d::new(3, 96, 11).stride(4),
        ["cccp1", "cccp2"],
        [96, 96],
    );
    net.then("pool1", pool());
    mlpconv(
        &mut net,
        "conv2",
        Conv2d::new(96, 256, 5).pad(2),
        ["cccp3", "cccp4"],
        [256, 256],
    );
    net.then("pool2", pool());
    mlpconv(
        &mut net,
        "conv3",
        Conv2d::new(256, 384, 3).pad(1),
        ["cccp5", "cccp6"],
        [384, 384],
    );
    net.then("pool3", pool());
    net.then("drop", Layer::Dropout(Dropout { p: 0.5 }));
    mlpconv(
        &mut net,
        "conv4-1024",
        Conv2d::new(384, 1024, 3).pad(1),
        ["cccp7-1024", "cccp8-1024"],
        [1024, 1000],
    );
    // The prototxt's `pool4` is a 6x6/1 average pool over the 6x6 map: global average pooling
    // at 224x224, written here as such so other input sizes also give 1000 outputs.
    net.then("pool4", Layer::GlobalAvgPool);
    let prob = net.then("prob", Layer::Softmax);
    net.outputs.push(prob);
    net
}
