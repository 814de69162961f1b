//! AlexNet as published (two towers), AlexNet as torchvision ships it (one tower), and ZFNet.
//!
//! Sources:
//! - `alexnet_original`: A. Krizhevsky, I. Sutskever, G. Hinton, "ImageNet Classification with
//!   Deep Convolutional Neural Networks", NIPS 2012: §3.3 (LRN), §3.4 (overlapping pooling),
//!   §3.5 and Fig. 2 (the architecture), §4.2 (dropout). Node names follow Caffe's
//!   `bvlc_alexnet/deploy.prototxt`, which keeps the two-tower grouping.
//! - `alexnet`: torchvision `models/alexnet.py` (`AlexNet.features`, `.avgpool`, `.classifier`),
//!   the one-tower variant of Krizhevsky's "One weird trick" (arXiv:1404.5997).
//! - `zfnet`: M. Zeiler, R. Fergus, "Visualizing and Understanding Convolutional Networks",
//!   arXiv:1311.2901 (ECCV 2014): Fig. 3 (the architecture), §3 (dense layers 3-5, dropout).

use crate::model::{
    Activation, AdaptiveAvgPool2d, Conv2d, Dense, Dropout, Layer, Lrn, Network, Pool2d,
};

fn relu() -> Layer {
    Layer::Activation(Activation::Relu)
}

fn dropout() -> Layer {
    Layer::Dropout(Dropout { p: 0.5 })
}

/// The classifier shared by the paper models: fc6 and fc7 (ReLU, dropout), fc8, softmax.
/// Krizhevsky §4.2 and Zeiler & Fergus §3 both put dropout 0.5 on the first two dense layers.
fn paper_classifier(net: &mut Network, in_features: usize) {
    net.then("flatten", Layer::Flatten);
    net.then("fc6", Layer::Dense(Dense::new(in_features, 4096)));
    net.then("relu6", relu());
    net.then("drop6", dropout());
    net.then("fc7", Layer::Dense(Dense::new(4096, 4096)));
    net.then("relu7", relu());
    net.then("drop7", dropout());
    net.then("fc8", Layer::Dense(Dense::new(4096, 1000)));
    let prob = net.then("prob", Layer::Softmax);
    net.outputs.push(prob);
}

/// AlexNet as in Krizhevsky et al. 2012, split over two GPUs: conv2, conv4 and conv5 only see
/// the maps of their own GPU (`groups = 2`), while conv3 and the dense layers connect across
/// both (Fig. 2). The paper states a 224x224 input, but 227x227 is what makes conv1's
/// 11x11/4 arithmetic give its 55x55 maps ((227 - 11) / 4 + 1 = 55), as Caffe uses.
pub fn alexnet_original() -> Network {
    let mut net = Network::new("alexnet_original", 3, (227, 227));
    // §3.4: overlapping pooling, z = 3, s = 2.
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2));

    // §3.5: response normalisation follows the ReLU of layers 1 and 2; max pooling follows
    // both normalisations and the fifth convolution.
    net.then("conv1", Layer::Conv2d(Conv2d::new(3, 96, 11).stride(4)));
    net.then("relu1", relu());
    net.then("norm1", Layer::Lrn(Lrn::alexnet()));
    net.then("pool1", pool());
    net.then(
        "conv2",
        Layer::Conv2d(Conv2d::new(96, 256, 5).pad(2).groups(2)),
    );
    net.then("relu2", relu());
    net.then("norm2", Layer::Lrn(Lrn::alexnet()));
    net.then("pool2", pool());
    net.then("conv3", Layer::Conv2d(Conv2d::new(256, 384, 3).pad(1)));
    net.then("relu3", relu());
    net.then(
        "conv4",
        Layer::Conv2d(Conv2d::new(384, 384, 3).pad(1).groups(2)),
    );
    net.then("relu4", relu());
    net.then(
        "conv5",
        Layer::Conv2d(Conv2d::new(384, 256, 3).pad(1).groups(2)),
    );
    net.then("relu5", relu());
    net.then("pool5", pool());
    paper_classifier(&mut net, 256 * 6 * 6);
    net
}

/// AlexNet with torchvision's module layout and names (`features.N`, `classifier.N`), so its
/// published weights load by name: one tower of widths 64-192-384-256-256, no LRN, padding 2
/// on conv1, and dropout *before* each of the first two dense layers.
pub fn alexnet() -> Network {
    let mut net = Network::new("alexnet", 3, (224, 224));
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2));

    net.then(
        "features.0",
        Layer::Conv2d(Conv2d::new(3, 64, 11).stride(4).pad(2)),
    );
    net.then("features.1", relu());
    net.then("features.2", pool());
    net.then("features.3", Layer::Conv2d(Conv2d::new(64, 192, 5).pad(2)));
    net.then("features.4", relu());
    net.then("features.5", pool());
    net.then("features.6", Layer::Conv2d(Conv2d::new(192, 384, 3).pad(1)));
    net.then("features.7", relu());
    net.then("features.8", Layer::Conv2d(Conv2d::new(384, 256, 3).pad(1)));
    net.then("features.9", relu());
    net.then(
        "features.10",
        Layer::Conv2d(Conv2d::new(256, 256, 3).pad(1)),
    );
    net.then("features.11", relu());
    net.then("features.12", pool());
    // torchvision's `avgpool = AdaptiveAvgPool2d((6, 6))`: the identity at 224x224, and what
    // lets the classifier take other input sizes.
    net.then(
        "avgpool",
        Layer::AdaptiveAvgPool2d(AdaptiveAvgPool2d { output: (6, 6) }),
    );
    // `flatten` is torchvision's functional `torch.flatten(x, 1)`.
    net.then("flatten", Layer::Flatten);
    net.then("classifier.0", dropout());
    net.then("classifier.1", Layer::Dense(Dense::new(256 * 6 * 6, 4096)));
    net.then("classifier.2", relu());
    net.then("classifier.3", dropout());
    net.then("classifier.4", Layer::Dense(Dense::new(4096, 4096)));
    net.then("classifier.5", relu());
    let logits = net.then("classifier.6", Layer::Dense(Dense::new(4096, 1000)));
    net.outputs.push(logits);
    net
}

/// ZFNet (Zeiler & Fergus 2013, Fig. 3): AlexNet with a 7x7/2 first layer, a 5x5/2 second
/// layer, dense (ungrouped) layers 3-5 (§3), and contrast normalisation *after* pooling.
///
/// Fig. 3 gives map sizes, not paddings. These choices reproduce every size in it exactly
/// (conv1 110, pool1 55, conv2 26, pool2 13, conv3-5 13, pool5 6):
/// - conv1 pads 1: (224 + 2 - 7) / 2 + 1 = 110 (unpadded would give 109);
/// - pool1 and pool2 round up (Caffe's pooling rule, `ceil_mode`): 110 -> 55 and 26 -> 13,
///   where rounding down would give 54 and 12;
/// - conv2 is unpadded: (55 - 5) / 2 + 1 = 26; conv3-5 pad 1 to keep 13; pool5 gives 6
///   either way.
///
/// The paper does not give the normalisation constants; AlexNet's LRN constants stand in.
pub fn zfnet() -> Network {
    let mut net = Network::new("zfnet", 3, (224, 224));
    let pool = || Layer::MaxPool2d(Pool2d::new(3, 2).ceil());

    net.then(
        "conv1",
        Layer::Conv2d(Conv2d::new(3, 96, 7).stride(2).pad(1)),
    );
    net.then("relu1", relu());
    net.then("pool1", pool());
    net.then("norm1", Layer::Lrn(Lrn::alexnet()));
    net.then("conv2", Layer::Conv2d(Conv2d::new(96, 256, 5).stride(2)));
    net.then("relu2", relu());
    net.then("pool2", pool());
    net.then("norm2", Layer::Lrn(Lrn::alexnet()));
    net.then("conv3", Layer::Conv2d(Conv2d::new(256, 384, 3).pad(1)));
    net.then("relu3", relu());
    net.then("conv4", Layer::Conv2d(Conv2d::new(384, 384, 3).pad(1)));
    net.then("relu4", relu());
    net.then("conv5", Layer::Conv2d(Conv2d::new(384, 256, 3).pad(1)));
    net.then("relu5", relu());
    net.then("pool5", pool());
    paper_classifier(&mut net, 256 * 6 * 6);
    net
}
