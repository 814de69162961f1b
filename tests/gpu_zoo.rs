//! Every zoo model, random weights, on the GPU against the CPU reference: every node within
//! the tolerance and the same top-5. Inputs are reduced where the network allows it.

mod common;

use common::{assert_close, assert_same_output, gpu, random_input};
use convscope::cpu;
use convscope::gpu::{Plan, PlanOptions};
use convscope::weights::Weights;
use convscope::zoo;

fn check_model(name: &str, h: usize, w: usize) {
    let Some(ctx) = gpu() else { return };
    let net = zoo::build(name).unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(net.input_channels(), h, w, 1);
    // BatchNorm statistics calibrated on this input keep activations of order one; the
    // outputs of the calibrating pass are the reference's forward pass.
    let reference = cpu::calibrate_batchnorm(&net, &mut weights, &input).expect("cpu reference");
    let plan = pollster::block_on(Plan::new(ctx, &net, &weights, h, w, PlanOptions::default()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    plan.forward(ctx, &input).unwrap();
    let ids: Vec<usize> = (0..net.nodes.len()).collect();
    let gpu = pollster::block_on(plan.read_many(ctx, &ids)).unwrap();
    // Every node: the GPU kernel against the reference layer on the same inputs (the GPU's),
    // within the kernel tolerance.
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let ins: Vec<_> = node.inputs.iter().map(|&i| &gpu[i]).collect();
        let expected = cpu::layer_forward(&node.name, &node.layer, &weights, &ins).unwrap();
        assert_eq!(
            gpu[id].shape, reference[id].shape,
            "{name} node {}",
            node.name
        );
        assert_close(
            &format!("{name} node {}", node.name),
            &gpu[id].data,
            &expected.data,
        );
    }
    // End to end (tests/common: twice the kernel tolerance, scaled, and the same top-5).
    for &out in &net.outputs {
        assert_same_output(name, &gpu[out].data, &reference[out].data);
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
                assert!(covered.contains(&name), "{name} has no GPU test");
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
    efficientnet_lite0: "efficientnet_lite0" at 224 x 224;
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
