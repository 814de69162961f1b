//! VGG configurations A, B, D and E, with and without BatchNorm, in torchvision's layout.
//!
//! Sources: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
//! Recognition", arXiv:1409.1556 (ICLR 2015), Table 1 (the configurations) and §2.1 (3x3
//! convolutions with padding 1, 2x2/2 max-pooling, three dense layers). Module layout and
//! names follow torchvision `models/vgg.py` (`cfgs`, `make_layers`, `VGG.classifier`), whose
//! `_bn` variants put a BatchNorm2d between each convolution and its ReLU, shifting the
//! `features.N` indexes.

use crate::model::{
    Activation, AdaptiveAvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Layer, Network, Pool2d,
};

/// Output channels of the five blocks; the same in every configuration (Table 1).
const BLOCK_WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];

/// One column of Table 1: how many 3x3 convolutions each of the five blocks stacks before
/// its 2x2 max-pool.
type Config = [usize; 5];

/// Configuration A, 11 weight layers.
const CONFIG_A: Config = [1, 1, 2, 2, 2];
/// Configuration B, 13 weight layers.
const CONFIG_B: Config = [2, 2, 2, 2, 2];
/// Configuration D, 16 weight layers.
const CONFIG_D: Config = [2, 2, 3, 3, 3];
/// Configuration E, 19 weight layers.
const CONFIG_E: Config = [2, 2, 4, 4, 4];

/// A VGG network from its Table 1 column. `batch_norm` inserts torchvision's
/// `BatchNorm2d(eps = 1e-5)` after every convolution.
fn vgg(name: &str, config: Config, batch_norm: bool) -> Network {
    let mut net = Network::new(name, 3, (224, 224));
    // torchvision numbers the modules of `features` consecutively, whatever their kind.
    let mut index = 0;
    let mut feature = |net: &mut Network, layer: Layer| {
        net.then(format!("features.{index}"), layer);
        index += 1;
    };

    let mut channels = 3;
    for (&width, &convs) in BLOCK_WIDTHS.iter().zip(&config) {
        for _ in 0..convs {
            feature(
                &mut net,
                Layer::Conv2d(Conv2d::new(channels, width, 3).pad(1)),
            );
            if batch_norm {
                feature(
                    &mut net,
                    Layer::BatchNorm(BatchNorm {
                        channels: width,
                        eps: 1e-5,
                    }),
                );
            }
            feature(&mut net, Layer::Activation(Activation::Relu));
            channels = width;
        }
        feature(&mut net, Layer::MaxPool2d(Pool2d::new(2, 2)));
    }

    // torchvision's `avgpool = AdaptiveAvgPool2d((7, 7))`: the identity at 224x224, and what
    // lets the classifier take other input sizes.
    net.then(
        "avgpool",
        Layer::AdaptiveAvgPool2d(AdaptiveAvgPool2d { output: (7, 7) }),
    );
    // `flatten` is torchvision's functional `torch.flatten(x, 1)`.
    net.then("flatten", Layer::Flatten);
    let relu = || Layer::Activation(Activation::Relu);
    let dropout = || Layer::Dropout(Dropout { p: 0.5 });
    net.then(
        "classifier.0",
        Layer::Dense(Dense::new(channels * 7 * 7, 4096)),
    );
    net.then("classifier.1", relu());
    net.then("classifier.2", dropout());
    net.then("classifier.3", Layer::Dense(Dense::new(4096, 4096)));
    net.then("classifier.4", relu());
    net.then("classifier.5", dropout());
    let logits = net.then("classifier.6", Layer::Dense(Dense::new(4096, 1000)));
    net.outputs.push(logits);
    net
}

pub fn vgg11() -> Network {
    vgg("vgg11", CONFIG_A, false)
}

pub fn vgg11_bn() -> Network {
    vgg("vgg11_bn", CONFIG_A, true)
}

pub fn vgg13() -> Network {
    vgg("vgg13", CONFIG_B, false)
}

pub fn vgg13_bn() -> Network {
    vgg("vgg13_bn", CONFIG_B, true)
}

pub fn vgg16() -> Network {
    vgg("vgg16", CONFIG_D, false)
}

pub fn vgg16_bn() -> Network {
    vgg("vgg16_bn", CONFIG_D, true)
}

pub fn vgg19() -> Network {
    vgg("vgg19", CONFIG_E, false)
}

pub fn vgg19_bn() -> Network {
    vgg("vgg19_bn", CONFIG_E, true)
}
