//! Every zoo model, random weights, on the GPU against the CPU reference: every node within
//! the tolerance and the same top-5. Inputs are reduced where the network allows it.

mod common;

use common::{assert_close, gpu, random_input};
use convscope::cpu::{self, top_k};
use convscope::gpu::{Plan, PlanOptions};
use convscope::weights::Weights;
use convscope::zoo;

fn check_model(name: &str, h: usize, w: usize) {
    let Some(ctx) = gpu() else { return };
    let net = zoo::build(name).unwrap();
    let weights = Weights::random(&net, 42);
    let input = random_input(net.input_channels(), h, w, 1);
    let expected = cpu::forward(&net, &weights, &input).expect("cpu reference");
    let plan = pollster::block_on(Plan::new(ctx, &net, &weights, h, w, PlanOptions::default()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    plan.forward(ctx, &input).unwrap();
    for (id, node) in net.nodes.iter().enumerate() {
        let got = pollster::block_on(plan.read(ctx, id)).unwrap();
        assert_close(&format!("{name} node {}", node.name), &got.data, &expected[id].data);
    }
    for &out in &net.outputs {
        let cpu_logits = &expected[out].data;
        let gpu_logits = pollster::block_on(plan.read(ctx, out)).unwrap().data;
        let (want, got) = (top_k(cpu_logits, 5), top_k(&gpu_logits, 5));
        for (a, b) in want.iter().zip(&got) {
            // Same class, or two classes whose reference scores tie within the tolerance.
            let tie = (cpu_logits[a.0] - cpu_logits[b.0]).abs() <= 1e-4 + 1e-3 * a.1.abs();
            assert!(a.0 == b.0 || tie, "{name}: top-5 differs: cpu {want:?} gpu {got:?}");
        }
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
    resnet18: "resnet18" at 64 x 64;
    resnet34: "resnet34" at 64 x 64;
    resnet50: "resnet50" at 64 x 64;
    resnet101: "resnet101" at 64 x 64;
    resnet152: "resnet152" at 64 x 64;
    efficientnet_lite0: "efficientnet_lite0" at 224 x 224;
}
