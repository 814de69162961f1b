//! The zoo: every network convscope knows, one file per family, each citing its source.

mod alexnet;
mod efficientnet;
mod fmnist;
mod fmnist_resnet;
mod googlenet;
mod lab;
mod lenet;
mod nin;
mod recipe;
mod resnet;
mod vgg;

pub use lab::{BLOCK_C, FIRST_FILTERS};
pub use recipe::{Schedule, TrainConfig};

use crate::labels::Labels;
use crate::model::Network;
use crate::preprocess::Preprocess;

/// One zoo entry: its name, a one-line description, its builder, how its inputs are prepared
/// and, for the models convscope trains itself, how it is trained.
pub struct ZooEntry {
    pub name: &'static str,
    pub description: &'static str,
    pub build: fn() -> Network,
    /// How its training images were prepared; the CLI and the page prepare inputs the same way.
    pub preprocess: Preprocess,
    /// What its outputs name.
    pub labels: Labels,
    /// The settings `convscope train` uses, which its shipped weights were trained with;
    /// `None` for models convscope does not train.
    pub recipe: Option<TrainConfig>,
}

/// Every model, in historical order, then the teaching lab's.
pub const ZOO: &[ZooEntry] = &[
    ZooEntry { name: "lenet5", description: "LeNet-5 as in LeCun et al. 1998: 32x32, C3 connection table, RBF output", build: lenet::lenet5 , preprocess: Preprocess::FASHION_32, labels: Labels::FashionMnist, recipe: Some(lenet::LENET5_RECIPE) },
    ZooEntry { name: "lenet5_modern", description: "LeNet-5 as commonly coded: 28x28, ReLU, 2x2 max-pool, dense 120-84-10", build: lenet::lenet5_modern , preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lenet::LENET5_MODERN_RECIPE) },
    ZooEntry { name: "alexnet_original", description: "AlexNet as in Krizhevsky et al. 2012: two towers (groups=2), LRN, 227x227", build: alexnet::alexnet_original , preprocess: Preprocess::IMAGENET_227, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "alexnet", description: "AlexNet as in torchvision: one tower, 64-192-384-256-256", build: alexnet::alexnet , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "zfnet", description: "ZFNet (Zeiler & Fergus 2013): 7x7/2 first layer, 3x3/2 pooling", build: alexnet::zfnet , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg11", description: "VGG configuration A (Simonyan & Zisserman 2014)", build: vgg::vgg11 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg11_bn", description: "VGG configuration A with BatchNorm (torchvision)", build: vgg::vgg11_bn , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg13", description: "VGG configuration B", build: vgg::vgg13 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg13_bn", description: "VGG configuration B with BatchNorm (torchvision)", build: vgg::vgg13_bn , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg16", description: "VGG configuration D", build: vgg::vgg16 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg16_bn", description: "VGG configuration D with BatchNorm (torchvision)", build: vgg::vgg16_bn , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg19", description: "VGG configuration E", build: vgg::vgg19 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "vgg19_bn", description: "VGG configuration E with BatchNorm (torchvision)", build: vgg::vgg19_bn , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "nin", description: "Network in Network (Lin et al. 2013), ImageNet model", build: nin::nin , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "googlenet", description: "GoogLeNet / Inception v1 as in Szegedy et al. 2014, Table 1, with auxiliary classifiers", build: googlenet::googlenet , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "googlenet_torchvision", description: "GoogLeNet as in torchvision: BatchNorm, 3x3 in the \"5x5\" branch", build: googlenet::googlenet_torchvision , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "resnet18", description: "ResNet-18 (He et al. 2015), torchvision layout", build: resnet::resnet18 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "resnet34", description: "ResNet-34, torchvision layout", build: resnet::resnet34 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "resnet50", description: "ResNet-50 (bottleneck, stride in the 3x3), torchvision layout", build: resnet::resnet50 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "resnet101", description: "ResNet-101, torchvision layout", build: resnet::resnet101 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "resnet152", description: "ResNet-152, torchvision layout", build: resnet::resnet152 , preprocess: Preprocess::TORCHVISION, labels: Labels::ImageNet, recipe: None },
    ZooEntry { name: "efficientnet_lite0", description: "EfficientNet-Lite0 (Tan & Le 2019, Lite variant): MBConv, ReLU6, no SE", build: efficientnet::efficientnet_lite0 , preprocess: Preprocess::EFFICIENTNET_LITE, labels: Labels::ImageNet, recipe: None },
    // The teaching lab's Fashion-MNIST networks (see `lab.rs`).
    ZooEntry { name: "lab_k5", description: "Lab twin: a 5x5 convolution block on Fashion-MNIST", build: lab::lab_k5, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_k5_stack", description: "Lab twin: two stacked 3x3 convolutions in place of the 5x5", build: lab::lab_k5_stack, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_k7", description: "Lab twin: a 7x7 convolution block on Fashion-MNIST", build: lab::lab_k7, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_k7_stack", description: "Lab twin: three stacked 3x3 convolutions in place of the 7x7", build: lab::lab_k7_stack, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_first_alexnet", description: "Lab twin: AlexNet-style first layer (9x9, stride 4) at 28x28", build: lab::lab_first_alexnet, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_first_zfnet", description: "Lab twin: ZFNet-style first layer (5x5, stride 2) at 28x28", build: lab::lab_first_zfnet, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_tricks_plain", description: "Lab tricks: small CNN, no BatchNorm, dropout, smoothing or schedule", build: lab::lab_tricks_plain, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::PLAIN_RECIPE) },
    ZooEntry { name: "lab_tricks_batchnorm", description: "Lab tricks: with BatchNorm after each convolution", build: lab::lab_tricks_batchnorm, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::PLAIN_RECIPE) },
    ZooEntry { name: "lab_tricks_dropout", description: "Lab tricks: with dropout (p = 0.5) before the classifier", build: lab::lab_tricks_dropout, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::PLAIN_RECIPE) },
    ZooEntry { name: "lab_tricks_smoothing", description: "Lab tricks: trained with label smoothing 0.1", build: lab::lab_tricks_smoothing, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::SMOOTHING_RECIPE) },
    ZooEntry { name: "lab_tricks_schedule", description: "Lab tricks: trained with warm-up + cosine learning rate", build: lab::lab_tricks_schedule, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::LAB_RECIPE) },
    ZooEntry { name: "lab_tricks_all", description: "Lab tricks: BatchNorm, dropout, label smoothing and the schedule", build: lab::lab_tricks_all, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(lab::ALL_TRICKS_RECIPE) },
    // The families at Fashion-MNIST scale, trained by convscope (see `fmnist.rs`, `fmnist_resnet.rs`).
    ZooEntry { name: "fmnist_alexnet", description: "AlexNet at Fashion-MNIST scale: 7x7/2 first layer, LRN, overlapping pooling, dropout", build: fmnist::fmnist_alexnet, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
    ZooEntry { name: "fmnist_vgg", description: "VGG at Fashion-MNIST scale: 3x3 blocks, channels doubling, pooling halving", build: fmnist::fmnist_vgg, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
    ZooEntry { name: "fmnist_nin", description: "Network in Network at Fashion-MNIST scale: mlpconv blocks, global average pooling", build: fmnist::fmnist_nin, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
    ZooEntry { name: "fmnist_googlenet", description: "GoogLeNet at Fashion-MNIST scale: Inception modules, two auxiliary classifiers", build: fmnist::fmnist_googlenet, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
    ZooEntry { name: "fmnist_resnet", description: "ResNet-20 layout at Fashion-MNIST scale: basic blocks, BatchNorm, projection shortcuts", build: fmnist_resnet::fmnist_resnet, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
    ZooEntry { name: "fmnist_plain", description: "The ResNet's plain twin: the same 20 layers without shortcuts", build: fmnist_resnet::fmnist_plain, preprocess: Preprocess::FASHION_28, labels: Labels::FashionMnist, recipe: Some(fmnist::FAMILY_RECIPE) },
];

/// The model called `name`, if the zoo has it.
pub fn build(name: &str) -> Option<Network> {
    ZOO.iter().find(|e| e.name == name).map(|e| (e.build)())
}

/// The zoo entry called `name`.
pub fn entry(name: &str) -> Option<&'static ZooEntry> {
    ZOO.iter().find(|e| e.name == name)
}

/// All model names.
pub fn names() -> impl Iterator<Item = &'static str> {
    ZOO.iter().map(|e| e.name)
}
