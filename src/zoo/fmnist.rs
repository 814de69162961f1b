//! Four classic families at Fashion-MNIST scale (28x28 greyscale, 10 classes), each keeping the
//! design its paper is known for, at a width that trains in about a minute an epoch on two
//! cores. The ResNet and its plain twin are in `fmnist_resnet.rs`; the recipe all six share
//! is [`FAMILY_RECIPE`].
//!
//! - AlexNet (Krizhevsky et al. 2012, §3.3-3.5, §4.2): a large strided first kernel, ReLU,
//!   local response normalisation after the first two convolutions, overlapping 3x3/2 max
//!   pooling, five convolutions, and dropout in a three-layer dense head.
//! - VGG (Simonyan & Zisserman 2014, Table 1 configuration A): only 3x3 convolutions in
//!   blocks, channels doubling and 2x2 max pooling halving the map after each block, a
//!   three-layer dense head with dropout.
//! - NiN (Lin et al. 2013, §3 and the CIFAR-10 model of §4.2): mlpconv blocks (a convolution
//!   and two 1x1 convolutions), the last mapping to one channel per class, and global
//!   average pooling as the classifier.
//! - GoogLeNet (Szegedy et al. 2014, §4-5): a convolutional stem, Inception modules whose 3x3
//!   and 5x5 branches are reduced by 1x1 convolutions first, global average pooling, dropout
//!   and one dense layer; two auxiliary classifiers on intermediate modules, their losses
//!   weighted 0.3 in training and dropped at inference (`outputs = [main, aux1, aux2]`, as
//!   the zoo's `googlenet`).

use super::recipe::TrainConfig;
use crate::model::{Activation, Conv2d, Dense, Dropout, Layer, Lrn, Network, NodeId, Pool2d};
use std::borrow::Cow;

/// Every family's run: 5 epochs of SGD with momentum 0.9, batch 64, peak rate 0.05 after a
/// one-epoch warm-up, cosine decay, weight decay 5e-4, mirroring; the same seed for all, so
/// the families differ only in their network. Weights are also saved after epochs 1, 2, 4
/// and 5 for the feature-evolution view.
pub(super) const FAMILY_RECIPE: TrainConfig = TrainConfig {
    epochs: 5,
    lr: 0.05,
    checkpoints: Cow::Borrowed(&[1, 2, 4, 5]),
    ..TrainConfig::DEFAULT
};

fn relu() -> Layer {
    Layer::Activation(Activation::Relu)
}

/// A convolution and its ReLU, appended after the last node.
fn conv_relu(net: &mut Network, name: &str, conv: Conv2d) -> NodeId {
    net.then(name, Layer::Conv2d(conv));
    net.then(format!("{name}_relu"), relu())
}

/// Dense layers of `widths` (ReLU and dropout `p` after each), then the 10-class classifier.
fn dense_head(net: &mut Network, mut features: usize, widths: &[usize], p: f32) -> NodeId {
    net.then("flatten", Layer::Flatten);
    for (i, &w) in widths.iter().enumerate() {
        let n = i + 1;
        net.then(format!("fc{n}"), Layer::Dense(Dense::new(features, w)));
        net.then(format!("fc{n}_relu"), relu());
        net.then(format!("fc{n}_drop"), Layer::Dropout(Dropout { p }));
        features = w;
    }
    let n = widths.len() + 1;
    net.then(format!("fc{n}"), Layer::Dense(Dense::new(features, 10)))
}

/// AlexNet at 28x28: conv1 7x7 stride 2 (the paper's 11x11/4 at 224 shrinks the map by 4
/// with a kernel 1/20 of the image; here 7x7/2 keeps a kernel 1/4 of the image) with 12
/// filters, LRN with the paper's constants, 3x3/2 max pooling (14 -> 6); conv2 5x5 with 24,
/// LRN, 3x3/2 pooling (ceil, 6 -> 3); conv3-5 3x3 with 48, 48, 32 (the paper's
/// 96-256-384-384-256 divided by 8); the last pooling is left out (the map is already 3x3);
/// dense 128-128-10 with dropout 0.5.
pub fn fmnist_alexnet() -> Network {
    let mut net = Network::new("fmnist_alexnet", 1, (28, 28));
    let pool = |ceil: bool| {
        let p = Pool2d::new(3, 2);
        Layer::MaxPool2d(if ceil { p.ceil() } else { p })
    };
    conv_relu(&mut net, "conv1", Conv2d::new(1, 12, 7).stride(2).pad(3));
    net.then("norm1", Layer::Lrn(Lrn::alexnet()));
    net.then("pool1", pool(false));
    conv_relu(&mut net, "conv2", Conv2d::new(12, 24, 5).pad(2));
    net.then("norm2", Layer::Lrn(Lrn::alexnet()));
    net.then("pool2", pool(true));
    conv_relu(&mut net, "conv3", Conv2d::new(24, 48, 3).pad(1));
    conv_relu(&mut net, "conv4", Conv2d::new(48, 48, 3).pad(1));
    conv_relu(&mut net, "conv5", Conv2d::new(48, 32, 3).pad(1));
    let out = dense_head(&mut net, 32 * 3 * 3, &[128, 128], 0.5);
    net.outputs.push(out);
    net
}

/// VGG configuration A's pattern at 28x28: blocks of 3x3 convolutions ("same" padding, ReLU)
/// with 8, 16 and 32 channels (one, one and two convolutions, as A's first three blocks),
/// each followed by 2x2 max pooling (28 -> 14 -> 7 -> 3); dense 128-128-10 with dropout 0.5.
pub fn fmnist_vgg() -> Network {
    let mut net = Network::new("fmnist_vgg", 1, (28, 28));
    let blocks: [&[usize]; 3] = [&[8], &[16], &[32, 32]];
    let mut channels = 1;
    for (b, widths) in blocks.iter().enumerate() {
        for (i, &w) in widths.iter().enumerate() {
            let name = format!("conv{}_{}", b + 1, i + 1);
            conv_relu(&mut net, &name, Conv2d::new(channels, w, 3).pad(1));
            channels = w;
        }
        net.then(
            format!("pool{}", b + 1),
            Layer::MaxPool2d(Pool2d::new(2, 2)),
        );
    }
    let out = dense_head(&mut net, channels * 3 * 3, &[128, 128], 0.5);
    net.outputs.push(out);
    net
}

/// One mlpconv block: `conv` and two 1x1 convolutions (`cccp` as in the paper's released
/// models) of `widths`, each with a ReLU unless it is the block's classifier layer.
fn mlpconv(net: &mut Network, n: usize, conv: Conv2d, widths: [usize; 2], last: bool) -> NodeId {
    let mut channels = conv.out_channels;
    let mut x = conv_relu(net, &format!("conv{n}"), conv);
    for (i, w) in widths.into_iter().enumerate() {
        let name = format!("cccp{}", 2 * n - 1 + i);
        x = net.then(&name, Layer::Conv2d(Conv2d::new(channels, w, 1)));
        if !(last && i == 1) {
            x = net.then(format!("{name}_relu"), relu());
        }
        channels = w;
    }
    x
}

/// NiN at 28x28: mlpconv blocks 5x5 (8-8-8), 3x3 (16-16-16) and 3x3 (32-32-10), 3x3/2 max
/// pooling (ceil, 28 -> 14 -> 7) and dropout 0.5 after the first two (as the CIFAR model),
/// then global average pooling of the ten class maps gives the logits.
pub fn fmnist_nin() -> Network {
    let mut net = Network::new("fmnist_nin", 1, (28, 28));
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2).ceil());
    mlpconv(&mut net, 1, Conv2d::new(1, 8, 5).pad(2), [8, 8], false);
    net.then("pool1", pool());
    net.then("drop1", Layer::Dropout(Dropout { p: 0.5 }));
    mlpconv(&mut net, 2, Conv2d::new(8, 16, 3).pad(1), [16, 16], false);
    net.then("pool2", pool());
    net.then("drop2", Layer::Dropout(Dropout { p: 0.5 }));
    mlpconv(&mut net, 3, Conv2d::new(16, 32, 3).pad(1), [32, 10], true);
    let out = net.then("gap", Layer::GlobalAvgPool);
    net.outputs.push(out);
    net
}

/// An Inception module's widths, named as in the paper's Table 1: `#1x1`, `#3x3 reduce`,
/// `#3x3`, `#5x5 reduce`, `#5x5`, `pool proj`.
struct Inception {
    name: &'static str,
    input: usize,
    widths: [usize; 6],
}

impl Inception {
    const fn out_channels(&self) -> usize {
        self.widths[0] + self.widths[2] + self.widths[4] + self.widths[5]
    }
}

const INCEPTION_3A: Inception = Inception {
    name: "inception3a",
    input: 16,
    widths: [8, 8, 12, 2, 4, 4],
};
const INCEPTION_4A: Inception = Inception {
    name: "inception4a",
    input: INCEPTION_3A.out_channels(),
    widths: [12, 12, 16, 4, 8, 8],
};
const INCEPTION_4B: Inception = Inception {
    name: "inception4b",
    input: INCEPTION_4A.out_channels(),
    widths: [16, 12, 20, 4, 8, 8],
};
/// Four branches on `x`: 1x1; 1x1 reduce then 3x3; 1x1 reduce then 5x5; 3x3/1 max pool then
/// 1x1 projection; each convolution with a ReLU; concatenated along channels.
fn inception(net: &mut Network, m: &Inception, x: NodeId) -> NodeId {
    let [b1, r3, b3, r5, b5, proj] = m.widths;
    let n = m.name;
    let one = branch(net, n, "1x1", x, Conv2d::new(m.input, b1, 1));
    let reduce3 = branch(net, n, "3x3_reduce", x, Conv2d::new(m.input, r3, 1));
    let three = branch(net, n, "3x3", reduce3, Conv2d::new(r3, b3, 3).pad(1));
    let reduce5 = branch(net, n, "5x5_reduce", x, Conv2d::new(m.input, r5, 1));
    let five = branch(net, n, "5x5", reduce5, Conv2d::new(r5, b5, 5).pad(2));
    let pool_layer = Layer::MaxPool2d(Pool2d::new(3, 1).pad(1));
    let pool = net.add(format!("{n}.pool"), pool_layer, &[x]);
    let projection = branch(net, n, "pool_proj", pool, Conv2d::new(m.input, proj, 1));
    net.add(
        format!("{n}.concat"),
        Layer::Concat,
        &[one, three, five, projection],
    )
}

/// Convolution `module.suffix` reading `from`, and its ReLU.
fn branch(net: &mut Network, module: &str, suffix: &str, from: NodeId, conv: Conv2d) -> NodeId {
    let c = net.add(format!("{module}.{suffix}"), Layer::Conv2d(conv), &[from]);
    net.add(format!("{module}.{suffix}_relu"), relu(), &[c])
}

/// The paper's auxiliary classifier (§5) at this scale: average pooling `pool` to a
/// `side x side` map, a 1x1 convolution to 16 channels with ReLU, dense 64 with ReLU,
/// dropout 0.7, and the classifier.
fn aux_classifier(
    net: &mut Network,
    name: &str,
    input: (NodeId, usize),
    pool: Pool2d,
    side: usize,
) -> NodeId {
    let (x, channels) = input;
    net.add(format!("{name}.ave_pool"), Layer::AvgPool2d(pool), &[x]);
    conv_relu(net, &format!("{name}.conv"), Conv2d::new(channels, 16, 1));
    net.then(format!("{name}.flatten"), Layer::Flatten);
    let features = 16 * side * side;
    net.then(format!("{name}.fc"), Layer::Dense(Dense::new(features, 64)));
    net.then(format!("{name}.fc_relu"), relu());
    net.then(format!("{name}.drop"), Layer::Dropout(Dropout { p: 0.7 }));
    net.then(
        format!("{name}.classifier"),
        Layer::Dense(Dense::new(64, 10)),
    )
}

/// GoogLeNet at 28x28: stem 3x3 convolution (16) and 3x3/2 max pooling (ceil, 28 -> 14),
/// Inception 3a at 14x14, 3x3/2 pooling (14 -> 7), Inception 4a and 4b at 7x7, global
/// average pooling, dropout 0.4 and the classifier. The auxiliary classifiers read 3a (5x5/3
/// average pooling, as the paper's, 14 -> 4) and 4a (3x3/2, 7 -> 3), the intermediate
/// modules of this shorter stack (the paper's read 4a and 4d of nine).
pub fn fmnist_googlenet() -> Network {
    let mut net = Network::new("fmnist_googlenet", 1, (28, 28));
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2).ceil());
    conv_relu(&mut net, "conv1", Conv2d::new(1, 16, 3).pad(1));
    let x = net.then("pool1", pool());
    let x = inception(&mut net, &INCEPTION_3A, x);
    let aux1_in = (x, INCEPTION_3A.out_channels());
    let aux1 = aux_classifier(&mut net, "aux1", aux1_in, Pool2d::new(5, 3), 4);
    let x = net.add("pool2", pool(), &[x]);
    let x = inception(&mut net, &INCEPTION_4A, x);
    let aux2_in = (x, INCEPTION_4A.out_channels());
    let aux2 = aux_classifier(&mut net, "aux2", aux2_in, Pool2d::new(3, 2), 3);
    let x = inception(&mut net, &INCEPTION_4B, x);
    net.add("gap", Layer::GlobalAvgPool, &[x]);
    net.then("drop", Layer::Dropout(Dropout { p: 0.4 }));
    net.then("flatten", Layer::Flatten);
    let channels = INCEPTION_4B.out_channels();
    let main = net.then("classifier", Layer::Dense(Dense::new(channels, 10)));
    net.outputs = vec![main, aux1, aux2];
    net
}
