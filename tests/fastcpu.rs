//! The fast CPU engine against the f64 reference: every zoo model at every node (each node on
//! the fast engine's own inputs, within the kernel tolerance, and the whole pass end to end),
//! awkward shapes for each kernel, fused nodes read on their own, and the pass's errors.

mod common;

use common::{assert_close, assert_same_output, random_input};
use convscope::cpu;
use convscope::fastcpu::{ConvKernel, FastError, FastPlan};
use convscope::model::{Activation, BatchNorm, Conv2d, Dense, Layer, Network, Padding, Pool2d};
use convscope::weights::Weights;
use convscope::zoo;

/// Plans `net` at `h x w` with seeded random weights calibrated on the input, runs one pass,
/// and checks every node against the reference layer on the fast engine's inputs; returns
/// the plan, the weights and the reference's outputs.
fn check_net(
    net: &Network,
    h: usize,
    w: usize,
) -> (FastPlan, Weights, Vec<convscope::tensor::Tensor>) {
    let mut weights = Weights::random(net, 42);
    let input = random_input(net.input_channels(), h, w, 1);
    // BatchNorm statistics calibrated on this input keep activations of order one; the
    // outputs of the calibrating pass are the reference's forward pass.
    let reference = cpu::calibrate_batchnorm(net, &mut weights, &input).expect("cpu reference");
    let mut plan =
        FastPlan::new(net, &weights, h, w).unwrap_or_else(|e| panic!("{}: {e}", net.name));
    plan.forward(&input).unwrap();
    let fast: Vec<_> = (0..net.nodes.len())
        .map(|id| plan.read(id).unwrap())
        .collect();
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let ins: Vec<_> = node.inputs.iter().map(|&i| &fast[i]).collect();
        let expected = cpu::layer_forward(&node.name, &node.layer, &weights, &ins).unwrap();
        let what = format!("{} node {}", net.name, node.name);
        assert_eq!(fast[id].shape, reference[id].shape, "{what}");
        assert_close(&what, &fast[id].data, &expected.data);
    }
    (plan, weights, reference)
}

/// Every node, then the outputs end to end: f32 rounding compounds with depth, so the pass
/// is held to twice the kernel tolerance scaled by the output's magnitude (as the GPU engine
/// in tests/gpu_zoo.rs), and the same top-5.
fn check_model(name: &str, h: usize, w: usize) {
    let net = zoo::build(name).unwrap();
    let (plan, _, reference) = check_net(&net, h, w);
    for &out in &net.outputs {
        assert_same_output(name, &plan.read(out).unwrap().data, &reference[out].data);
    }
}

macro_rules! zoo_tests {
    ($($test:ident: $name:literal at $h:literal x $w:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_model($name, $h, $w);
            }
        )*
        #[test]
        fn every_zoo_model_is_covered() {
            let covered = [$($name),*];
            for name in zoo::names() {
                assert!(covered.contains(&name), "{name} has no fast CPU test");
            }
        }
    };
}

zoo_tests! {
    lenet5: "lenet5" at 32 x 32;
    lenet5_modern: "lenet5_modern" at 28 x 28;
    alexnet_original: "alexnet_original" at 227 x 227;
    alexnet: "alexnet" at 64 x 64;
    zfnet: "zfnet" at 224 x 224;
    vgg11: "vgg11" at 32 x 32;
    vgg11_bn: "vgg11_bn" at 32 x 32;
    vgg13: "vgg13" at 32 x 32;
    vgg13_bn: "vgg13_bn" at 32 x 32;
    vgg16: "vgg16" at 32 x 32;
    vgg16_bn: "vgg16_bn" at 32 x 32;
    vgg19: "vgg19" at 32 x 32;
    vgg19_bn: "vgg19_bn" at 32 x 32;
    nin: "nin" at 96 x 96;
    googlenet: "googlenet" at 224 x 224;
    googlenet_torchvision: "googlenet_torchvision" at 96 x 96;
    resnet18: "resnet18" at 32 x 32;
    resnet34: "resnet34" at 32 x 32;
    resnet50: "resnet50" at 32 x 32;
    resnet101: "resnet101" at 32 x 32;
    resnet152: "resnet152" at 32 x 32;
    efficientnet_lite0: "efficientnet_lite0" at 96 x 96;
    lab_k5: "lab_k5" at 28 x 28;
    lab_k5_stack: "lab_k5_stack" at 28 x 28;
    lab_k7: "lab_k7" at 28 x 28;
    lab_k7_stack: "lab_k7_stack" at 28 x 28;
    lab_first_alexnet: "lab_first_alexnet" at 28 x 28;
    lab_first_zfnet: "lab_first_zfnet" at 28 x 28;
    lab_tricks_plain: "lab_tricks_plain" at 28 x 28;
    lab_tricks_batchnorm: "lab_tricks_batchnorm" at 28 x 28;
    lab_tricks_dropout: "lab_tricks_dropout" at 28 x 28;
    lab_tricks_smoothing: "lab_tricks_smoothing" at 28 x 28;
    lab_tricks_schedule: "lab_tricks_schedule" at 28 x 28;
    lab_tricks_all: "lab_tricks_all" at 28 x 28;
    fmnist_alexnet: "fmnist_alexnet" at 28 x 28;
    fmnist_vgg: "fmnist_vgg" at 28 x 28;
    fmnist_nin: "fmnist_nin" at 28 x 28;
    fmnist_googlenet: "fmnist_googlenet" at 28 x 28;
    fmnist_resnet: "fmnist_resnet" at 28 x 28;
    fmnist_plain: "fmnist_plain" at 28 x 28;
}

/// A network of one layer after the input.
fn single(channels: usize, layer: Layer) -> Network {
    let mut net = Network::new("single", channels, (8, 8));
    net.then("layer", layer);
    net
}

/// Each case as a one-layer network, checked against the reference, on the kernel it names.
fn check_convolutions(cases: Vec<(&str, Conv2d, usize, usize, ConvKernel)>) {
    for (what, conv, h, w, kernel) in cases {
        let net = single(conv.in_channels, Layer::Conv2d(conv));
        let (plan, _, _) = check_net(&net, h, w);
        assert_eq!(plan.conv_kernel(1), Some(kernel), "{what}");
    }
}

/// Convolutions that are easy to get wrong, on the matrix-product kernels (pointwise and
/// im2col): shapes off the vector width, borders and strides.
#[test]
fn awkward_convolutions_match_the_reference() {
    let asymmetric = Padding::Explicit {
        top: 0,
        bottom: 2,
        left: 1,
        right: 0,
    };
    let cases: Vec<(&str, Conv2d, usize, usize, ConvKernel)> = vec![
        (
            "1x1 input, 3x3 pad 1",
            Conv2d::new(5, 7, 3).pad(1),
            1,
            1,
            ConvKernel::Im2col,
        ),
        (
            "stride > kernel",
            Conv2d::new(3, 5, 2).stride(3),
            11,
            10,
            ConvKernel::Im2col,
        ),
        (
            "groups",
            Conv2d::new(6, 9, 3).groups(3).pad(1),
            7,
            5,
            ConvKernel::Im2col,
        ),
        (
            "SAME stride 2, even input",
            Conv2d::new(3, 13, 3).stride(2).same(),
            10,
            12,
            ConvKernel::Im2col,
        ),
        (
            "asymmetric padding",
            Conv2d {
                padding: asymmetric,
                ..Conv2d::new(4, 6, 3)
            },
            6,
            7,
            ConvKernel::Im2col,
        ),
        (
            "dilation 2",
            Conv2d::new(3, 5, 3).dilation(2).pad(2),
            9,
            9,
            ConvKernel::Im2col,
        ),
        (
            "1x1, 13 -> 17",
            Conv2d::new(13, 17, 1),
            5,
            3,
            ConvKernel::Pointwise,
        ),
        (
            "1x1 stride 2",
            Conv2d::new(5, 7, 1).stride(2),
            9,
            9,
            ConvKernel::Im2col,
        ),
        (
            "1x1 grouped",
            Conv2d::new(6, 4, 1).groups(2),
            4,
            5,
            ConvKernel::Pointwise,
        ),
    ];
    check_convolutions(cases);
}

/// Depthwise convolutions: SAME padding, strides, a channel multiplier, dilation, 1x1 input.
#[test]
fn awkward_depthwise_convolutions_match_the_reference() {
    let cases: Vec<(&str, Conv2d, usize, usize, ConvKernel)> = vec![
        (
            "depthwise stride 2, odd padding and width",
            Conv2d::new(3, 3, 3).groups(3).stride(2).pad(1),
            9,
            11,
            ConvKernel::Depthwise,
        ),
        (
            "depthwise 3x3",
            Conv2d::new(7, 7, 3).groups(7).pad(1),
            9,
            11,
            ConvKernel::Depthwise,
        ),
        (
            "depthwise 5x5 SAME stride 2",
            Conv2d::new(5, 5, 5).groups(5).stride(2).same(),
            10,
            13,
            ConvKernel::Depthwise,
        ),
        (
            "depthwise multiplier 2, dilated",
            Conv2d::new(3, 6, 3).groups(3).dilation(2).pad(1),
            8,
            8,
            ConvKernel::Depthwise,
        ),
        (
            "depthwise stride > kernel",
            Conv2d::new(4, 4, 2).groups(4).stride(3),
            10,
            10,
            ConvKernel::Depthwise,
        ),
        (
            "depthwise 1x1 input",
            Conv2d::new(9, 9, 3).groups(9).pad(1),
            1,
            1,
            ConvKernel::Depthwise,
        ),
    ];
    check_convolutions(cases);
}

/// Pooling with ceil mode, padding, `count_include_pad` off, and windows past the input.
#[test]
fn awkward_pooling_matches_the_reference() {
    let mut no_count = Pool2d::new(3, 2).pad(1).ceil();
    no_count.count_include_pad = false;
    let layers = [
        Layer::MaxPool2d(Pool2d::new(3, 2).ceil()),
        Layer::MaxPool2d(Pool2d::new(2, 3).pad(1)),
        Layer::MaxPool2d(Pool2d::new(3, 1).same()),
        Layer::AvgPool2d(Pool2d::new(3, 2).pad(1).ceil()),
        Layer::AvgPool2d(no_count),
        Layer::AvgPool2d(Pool2d::new(2, 2)),
        Layer::AdaptiveAvgPool2d(convscope::model::AdaptiveAvgPool2d { output: (3, 2) }),
        Layer::GlobalAvgPool,
    ];
    for layer in layers {
        for (h, w) in [(7, 9), (8, 8), (3, 4)] {
            check_net(&single(5, layer.clone()), h, w);
        }
    }
}

/// A convolution with its BatchNorm and activation folded into one kernel, and a second
/// with only an activation; reading each absorbed node computes it on its own.
#[test]
fn fused_nodes_are_materialised_on_read() {
    let mut net = Network::new("fused", 3, (9, 9));
    let conv = net.then("conv", Layer::Conv2d(Conv2d::new(3, 6, 3).pad(1)));
    let bn = net.then(
        "bn",
        Layer::BatchNorm(BatchNorm {
            channels: 6,
            eps: 1e-3,
        }),
    );
    let act = net.then("relu6", Layer::Activation(Activation::Relu6));
    let conv2 = net.then("conv2", Layer::Conv2d(Conv2d::new(6, 5, 1)));
    let act2 = net.then("tanh", Layer::Activation(Activation::Tanh));
    net.then("flatten", Layer::Flatten);
    net.then("fc", Layer::Dense(Dense::new(5 * 9 * 9, 4)));
    net.then("prob", Layer::Softmax);
    let (plan, _, reference) = check_net(&net, 9, 9);
    assert_eq!(plan.fused_into(bn), Some(conv));
    assert_eq!(plan.fused_into(act), Some(conv));
    assert_eq!(plan.fused_into(act2), Some(conv2));
    assert!(plan.is_fused(conv) && plan.is_fused(conv2));
    for id in [conv, bn, act, conv2, act2] {
        let what = format!("fused node {}", net.nodes[id].name);
        assert_close(&what, &plan.read(id).unwrap().data, &reference[id].data);
    }
}

/// A pass run a node at a time reaches the same outputs, and reads before a node is
/// computed, of nodes that do not exist, or inputs of the wrong size are errors.
#[test]
fn stepping_and_errors() {
    let net = zoo::build("lenet5").unwrap();
    let weights = Weights::random(&net, 7);
    let input = random_input(1, 32, 32, 3);
    let mut plan = FastPlan::new(&net, &weights, 32, 32).unwrap();
    let wrong = random_input(1, 28, 28, 3);
    assert!(matches!(
        plan.forward(&wrong),
        Err(FastError::InputShape { .. })
    ));
    plan.start(&input).unwrap();
    assert!(matches!(
        plan.read(net.output()),
        Err(FastError::NotComputed { .. })
    ));
    let mut steps = 0;
    while let Some(id) = plan.step() {
        assert!(plan.read(id).is_ok());
        steps += 1;
    }
    assert!(steps > 0 && plan.progress() == 1.0);
    let stepped = plan.read(net.output()).unwrap();
    plan.forward(&input).unwrap();
    assert_eq!(plan.read(net.output()).unwrap(), stepped);
    assert!(matches!(
        plan.read(net.nodes.len()),
        Err(FastError::NoNode { .. })
    ));
    assert_eq!(plan.node_times_ms().len(), net.nodes.len());
}
