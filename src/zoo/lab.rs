//! The teaching lab's small Fashion-MNIST networks, trained by convscope's own trainer. They
//! come in groups that differ in one thing only, so a difference in accuracy or cost has one
//! cause:
//!
//! - Kernel twins: one `k x k` convolution against a stack of 3x3 convolutions of the same
//!   receptive field (Simonyan & Zisserman 2014, §2.3: two 3x3 layers see 5x5, three see 7x7,
//!   with fewer weights and more non-linearities). Both share a 3x3 stem and a dense head; the
//!   compared block maps `BLOCK_C` channels to `BLOCK_C` channels at 14x14.
//! - First-layer twins: AlexNet's first layer (11x11, stride 4, at 224x224) against ZFNet's
//!   (7x7, stride 2), which Zeiler & Fergus (2013, §4.1, Fig. 6) chose after seeing dead and
//!   aliased filters in AlexNet's. At 28x28 the pair becomes 9x9 / 4 against 5x5 / 2; the rest
//!   of the network is the same and both reach a 3x3 map before the head.
//! - Training tricks: one plain network trained with and without BatchNorm (Ioffe & Szegedy
//!   2015), dropout (Srivastava et al. 2014), label smoothing (Szegedy et al. 2016) and a
//!   warm-up + cosine learning rate (Goyal et al. 2017; Loshchilov & Hutter 2017). Label
//!   smoothing and the schedule are training settings, so those entries share the plain
//!   network; each entry's recipe below holds its run's settings.

use super::recipe::{Schedule, TrainConfig};
use crate::model::{Activation, BatchNorm, Conv2d, Dense, Dropout, Layer, Network, Pool2d};

/// The twins' runs: 6 epochs at peak rate 0.05 with the default warm-up + cosine, so each
/// pair differs only in its network. `lab_tricks_schedule` is this run of the plain network.
pub(super) const LAB_RECIPE: TrainConfig = TrainConfig {
    epochs: 6,
    lr: 0.05,
    ..TrainConfig::DEFAULT
};

/// The tricks panel's plain run has none of the tricks: constant rate 0.05, no label
/// smoothing. The BatchNorm and dropout entries change only the network.
pub(super) const PLAIN_RECIPE: TrainConfig = TrainConfig {
    schedule: Schedule::Constant,
    warmup_epochs: 0.0,
    ..LAB_RECIPE
};

/// Label smoothing of the tricks panel (Szegedy et al. 2016 used 0.1).
const SMOOTHING: f32 = 0.1;

/// The plain run with label smoothing.
pub(super) const SMOOTHING_RECIPE: TrainConfig = TrainConfig {
    label_smoothing: SMOOTHING,
    ..PLAIN_RECIPE
};

/// Every trick: the twins' warm-up + cosine run with label smoothing.
pub(super) const ALL_TRICKS_RECIPE: TrainConfig = TrainConfig {
    label_smoothing: SMOOTHING,
    ..LAB_RECIPE
};

/// Channels of the kernel twins' compared block.
pub const BLOCK_C: usize = 8;

fn relu() -> Layer {
    Layer::Activation(Activation::Relu)
}

/// Stem (3x3, 1 -> `BLOCK_C`, then 2x2 max-pool to 14x14), the compared block from
/// `kernels` (each "same" padded, `BLOCK_C -> BLOCK_C`, ReLU after each), 2x2 max-pool to
/// 7x7, and a dense classifier.
fn kernel_twin(name: &str, kernels: &[usize]) -> Network {
    let c = BLOCK_C;
    let mut net = Network::new(name, 1, (28, 28));
    net.then("stem", Layer::Conv2d(Conv2d::new(1, c, 3).pad(1)));
    net.then("stem_relu", relu());
    net.then("pool1", Layer::MaxPool2d(Pool2d::new(2, 2)));
    for (i, &k) in kernels.iter().enumerate() {
        let n = i + 1;
        net.then(
            format!("conv{k}x{k}_{n}"),
            Layer::Conv2d(Conv2d::new(c, c, k).pad(k / 2)),
        );
        net.then(format!("relu_{n}"), relu());
    }
    net.then("pool2", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net.then("flatten", Layer::Flatten);
    let out = net.then("fc", Layer::Dense(Dense::new(c * 7 * 7, 10)));
    net.outputs.push(out);
    net
}

/// One 5x5 convolution in the block.
pub fn lab_k5() -> Network {
    kernel_twin("lab_k5", &[5])
}

/// Two stacked 3x3 convolutions in its place (receptive field 5x5).
pub fn lab_k5_stack() -> Network {
    kernel_twin("lab_k5_stack", &[3, 3])
}

/// One 7x7 convolution in the block.
pub fn lab_k7() -> Network {
    kernel_twin("lab_k7", &[7])
}

/// Three stacked 3x3 convolutions in its place (receptive field 7x7).
pub fn lab_k7_stack() -> Network {
    kernel_twin("lab_k7_stack", &[3, 3, 3])
}

/// Filters in the first-layer twins' first layer.
pub const FIRST_FILTERS: usize = 32;

/// `first` (1 -> 32 filters), ReLU, overlapping 3x3/2 max-pooling (ceil, as both papers
/// pool), a 3x3 convolution 32 -> 32, ReLU, and `extra_pool` more 3x3/2 poolings until the map
/// is 3x3, then a dense classifier.
fn first_layer_twin(name: &str, first: Conv2d, extra_pool: bool) -> Network {
    let c = FIRST_FILTERS;
    let mut net = Network::new(name, 1, (28, 28));
    net.then("conv1", Layer::Conv2d(first));
    net.then("relu1", relu());
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2).ceil());
    net.then("pool1", pool());
    net.then("conv2", Layer::Conv2d(Conv2d::new(c, c, 3).pad(1)));
    net.then("relu2", relu());
    if extra_pool {
        net.then("pool2", pool());
    }
    net.then("flatten", Layer::Flatten);
    let out = net.then("fc", Layer::Dense(Dense::new(c * 3 * 3, 10)));
    net.outputs.push(out);
    net
}

/// AlexNet-style first layer at Fashion-MNIST scale: 9x9, stride 4 (28 -> 6 -> 3).
pub fn lab_first_alexnet() -> Network {
    let conv1 = Conv2d::new(1, FIRST_FILTERS, 9).stride(4).pad(2);
    first_layer_twin("lab_first_alexnet", conv1, false)
}

/// ZFNet-style first layer at Fashion-MNIST scale: 5x5, stride 2 (28 -> 14 -> 7 -> 3).
pub fn lab_first_zfnet() -> Network {
    let conv1 = Conv2d::new(1, FIRST_FILTERS, 5).stride(2).pad(2);
    first_layer_twin("lab_first_zfnet", conv1, true)
}

/// The tricks panel's network: two 3x3 convolutions (8 and 16 channels) with 2x2 max-pooling,
/// a 64-unit hidden layer and the classifier; optionally BatchNorm after each convolution and
/// dropout (p = 0.5) before the classifier.
fn tricks_net(name: &str, batchnorm: bool, dropout: bool) -> Network {
    let mut net = Network::new(name, 1, (28, 28));
    for (i, (cin, cout)) in [(1, 8), (8, 16)].into_iter().enumerate() {
        let n = i + 1;
        net.then(
            format!("conv{n}"),
            Layer::Conv2d(Conv2d::new(cin, cout, 3).pad(1)),
        );
        if batchnorm {
            let bn = BatchNorm {
                channels: cout,
                eps: 1e-5,
            };
            net.then(format!("bn{n}"), Layer::BatchNorm(bn));
        }
        net.then(format!("relu{n}"), relu());
        net.then(format!("pool{n}"), Layer::MaxPool2d(Pool2d::new(2, 2)));
    }
    net.then("flatten", Layer::Flatten);
    net.then("fc1", Layer::Dense(Dense::new(16 * 7 * 7, 64)));
    net.then("relu3", relu());
    if dropout {
        net.then("dropout", Layer::Dropout(Dropout { p: 0.5 }));
    }
    let out = net.then("fc2", Layer::Dense(Dense::new(64, 10)));
    net.outputs.push(out);
    net
}

/// No tricks: constant learning rate, no BatchNorm, dropout or label smoothing.
pub fn lab_tricks_plain() -> Network {
    tricks_net("lab_tricks_plain", false, false)
}

/// With BatchNorm after each convolution.
pub fn lab_tricks_batchnorm() -> Network {
    tricks_net("lab_tricks_batchnorm", true, false)
}

/// With dropout before the classifier.
pub fn lab_tricks_dropout() -> Network {
    tricks_net("lab_tricks_dropout", false, true)
}

/// The plain network, trained with label smoothing.
pub fn lab_tricks_smoothing() -> Network {
    tricks_net("lab_tricks_smoothing", false, false)
}

/// The plain network, trained with warm-up + cosine learning rate.
pub fn lab_tricks_schedule() -> Network {
    tricks_net("lab_tricks_schedule", false, false)
}

/// Every trick at once.
pub fn lab_tricks_all() -> Network {
    tricks_net("lab_tricks_all", true, true)
}
