//! LeNet-5: the 1998 original (C3 connection table, trainable subsampling, RBF output) and
//! the smaller-input ReLU version that most tutorials code today.
//!
//! Source for `lenet5`: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-Based Learning
//! Applied to Document Recognition", Proc. IEEE 86(11), 1998: §II-B (the architecture, Fig. 2),
//! Table I (which S2 maps each C3 map reads), Appendix A (the squashing function).

use super::recipe::TrainConfig;
use crate::model::{
    Activation, Conv2d, Dense, Layer, Network, PartialConv2d, Pool2d, Rbf, Subsample,
};

/// How the shipped `lenet5` weights were trained. It underfits rather than overfits (train and
/// test accuracy stay close), so it trains longer and without mirroring. Its RBF output turns
/// `-distance` logits into a fixed output layer with weights of magnitude 2-4, so it needs a
/// small learning rate, and clipping: at lr 0.01 without it, one large step saturated every
/// tanh unit in epoch 2 and accuracy fell to chance.
pub(super) const LENET5_RECIPE: TrainConfig = TrainConfig {
    epochs: 20,
    lr: 0.01,
    clip_grad_norm: Some(5.0),
    mirror: false,
    ..TrainConfig::DEFAULT
};

/// How the shipped `lenet5_modern` weights were trained.
pub(super) const LENET5_MODERN_RECIPE: TrainConfig = TrainConfig {
    epochs: 12,
    lr: 0.05,
    ..TrainConfig::DEFAULT
};

/// Table I of the paper, read column by column: the S2 maps that each C3 map convolves.
/// §II-B: "The first six C3 feature maps take inputs from every contiguous subsets of three
/// feature maps in S2. The next six take input from every contiguous subset of four. The next
/// three take input from some discontinuous subsets of four. Finally, the last one takes input
/// from all S2 feature maps." "Contiguous" wraps around (map 4 reads 4, 5 and 0); each row is
/// written ascending, as `PartialConv2d::table` requires.
const C3_TABLE: [&[usize]; 16] = [
    // Maps 0-5: three contiguous S2 maps.
    &[0, 1, 2],
    &[1, 2, 3],
    &[2, 3, 4],
    &[3, 4, 5],
    &[0, 4, 5],
    &[0, 1, 5],
    // Maps 6-11: four contiguous S2 maps.
    &[0, 1, 2, 3],
    &[1, 2, 3, 4],
    &[2, 3, 4, 5],
    &[0, 3, 4, 5],
    &[0, 1, 4, 5],
    &[0, 1, 2, 5],
    // Maps 12-14: four non-contiguous S2 maps.
    &[0, 1, 3, 4],
    &[1, 2, 4, 5],
    &[0, 2, 3, 5],
    // Map 15: all six.
    &[0, 1, 2, 3, 4, 5],
];

fn squash() -> Layer {
    Layer::Activation(Activation::ScaledTanh)
}

/// LeNet-5 exactly as in LeCun et al. 1998: 1x32x32 input (larger than the 28x28 digit field
/// so that stroke end-points near its edge can fall in the centre of the highest-level
/// detectors' receptive fields, §II-B), scaled-tanh squashing after every layer but the
/// output, and Euclidean RBF output units.
pub fn lenet5() -> Network {
    let mut net = Network::new("lenet5", 1, (32, 32));

    net.then("c1", Layer::Conv2d(Conv2d::new(1, 6, 5)));
    net.then("c1_act", squash());
    net.then(
        "s2",
        Layer::Subsample(Subsample {
            channels: 6,
            window: 2,
        }),
    );
    net.then("s2_act", squash());
    net.then(
        "c3",
        Layer::PartialConv2d(PartialConv2d {
            in_channels: 6,
            table: C3_TABLE.iter().map(|row| row.to_vec()).collect(),
            kernel: 5,
        }),
    );
    net.then("c3_act", squash());
    net.then(
        "s4",
        Layer::Subsample(Subsample {
            channels: 16,
            window: 2,
        }),
    );
    net.then("s4_act", squash());
    // C5 is a convolution, not a dense layer: the paper says so because on a larger input
    // its maps would be larger than 1x1. At 32x32 its output is 120x1x1.
    net.then("c5", Layer::Conv2d(Conv2d::new(16, 120, 5)));
    net.then("c5_act", squash());
    net.then("flatten", Layer::Flatten);
    net.then("f6", Layer::Dense(Dense::new(120, 84)));
    net.then("f6_act", squash());
    let output = net.then(
        "output",
        Layer::Rbf(Rbf {
            in_features: 84,
            outputs: 10,
        }),
    );
    net.outputs.push(output);
    net
}

/// LeNet-5 as commonly coded for 28x28 MNIST (e.g. d2l.ai's "LeNet" chapter, the PyTorch
/// tutorials): padding 2 on the first convolution restores the 32x32 geometry, ReLU replaces
/// the scaled tanh, 2x2 max-pooling replaces trainable subsampling, C3 is fully connected and
/// a plain dense layer replaces the RBF units.
pub fn lenet5_modern() -> Network {
    let mut net = Network::new("lenet5_modern", 1, (28, 28));
    let relu = || Layer::Activation(Activation::Relu);

    net.then("conv1", Layer::Conv2d(Conv2d::new(1, 6, 5).pad(2)));
    net.then("relu1", relu());
    net.then("pool1", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net.then("conv2", Layer::Conv2d(Conv2d::new(6, 16, 5)));
    net.then("relu2", relu());
    net.then("pool2", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net.then("flatten", Layer::Flatten);
    net.then("fc1", Layer::Dense(Dense::new(16 * 5 * 5, 120)));
    net.then("relu3", relu());
    net.then("fc2", Layer::Dense(Dense::new(120, 84)));
    net.then("relu4", relu());
    let output = net.then("fc3", Layer::Dense(Dense::new(84, 10)));
    net.outputs.push(output);
    net
}
