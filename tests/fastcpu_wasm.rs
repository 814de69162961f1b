//! The fast CPU engine in WebAssembly (headless Chromium, wasm-bindgen-test): gemm's simd128
//! kernels and the vectorised loops against the f64 reference at every node of every zoo
//! model (at the smallest input each allows, several small models a test to keep each under
//! the runner's 20 s), and one timed EfficientNet-Lite0 pass at 224 x 224 printed for the
//! benchmarks. Run by `cargo test --release --target wasm32-unknown-unknown --test
//! fastcpu_wasm`; on native targets this file is empty (tests/fastcpu.rs covers the zoo).
#![cfg(target_arch = "wasm32")]

use convscope::cpu;
use convscope::fastcpu::FastPlan;
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use convscope::zoo;
use rand::{rngs::StdRng, Rng, SeedableRng};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn random_input(c: usize, h: usize, w: usize) -> Tensor {
    let mut rng = StdRng::seed_from_u64(1);
    let data = (0..c * h * w)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    Tensor::new(vec![c, h, w], data)
}

/// A turn for the browser's event loop: the runner reads the page's output while the tests
/// run, and a page blocked for long makes its request fail.
async fn next_turn() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
                .expect("setTimeout")
                .into();
        set_timeout
            .call2(&JsValue::NULL, &resolve, &0.into())
            .expect("setTimeout");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("a timer");
}

/// Every node of `name` at `h x w` against the reference layer on the fast engine's inputs,
/// `|a - b| <= 1e-4 + 1e-3 |b|` as tests/fastcpu.rs, with a turn for the browser between nodes.
async fn check_model(name: &str, h: usize, w: usize) {
    let net = zoo::build(name).unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(net.input_channels(), h, w);
    cpu::calibrate_batchnorm(&net, &mut weights, &input).unwrap();
    next_turn().await;
    let mut plan = FastPlan::new(&net, &weights, h, w).unwrap();
    plan.forward(&input).unwrap();
    let fast: Vec<_> = (0..net.nodes.len())
        .map(|id| plan.read(id).unwrap())
        .collect();
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        next_turn().await;
        let ins: Vec<_> = node.inputs.iter().map(|&i| &fast[i]).collect();
        let want = cpu::layer_forward(&node.name, &node.layer, &weights, &ins).unwrap();
        assert_eq!(fast[id].shape, want.shape, "{name} node {}", node.name);
        for (i, (&a, &b)) in fast[id].data.iter().zip(&want.data).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 + 1e-3 * b.abs(),
                "{name} node {} element {i}: fast {a} cpu {b}",
                node.name
            );
        }
    }
}

/// One test per group of models, each model at its input size; a last test checks that the
/// groups name every zoo model.
macro_rules! zoo_tests {
    ($($test:ident: [$($name:literal at $size:literal),* $(,)?];)*) => {
        $(
            #[wasm_bindgen_test]
            async fn $test() {
                $(check_model($name, $size, $size).await;)*
            }
        )*
        #[wasm_bindgen_test]
        fn every_zoo_model_is_checked_in_wasm() {
            let covered = [$($($name),*),*];
            for name in zoo::names() {
                assert!(covered.contains(&name), "{name} has no wasm check");
            }
        }
    };
}

// Dense layers fix the input of ZFNet, AlexNet as published and GoogLeNet (its auxiliary
// heads); the others run at the smallest size their pooling allows.
zoo_tests! {
    lenet_and_the_lab_networks_match_the_reference_in_wasm: [
        "lenet5" at 32, "lenet5_modern" at 28, "lab_k5" at 28, "lab_k5_stack" at 28,
        "lab_k7" at 28, "lab_k7_stack" at 28, "lab_first_alexnet" at 28,
        "lab_first_zfnet" at 28, "lab_tricks_plain" at 28, "lab_tricks_batchnorm" at 28,
        "lab_tricks_dropout" at 28, "lab_tricks_smoothing" at 28,
        "lab_tricks_schedule" at 28, "lab_tricks_all" at 28,
    ];
    the_fashion_mnist_families_match_the_reference_in_wasm: [
        "fmnist_alexnet" at 28, "fmnist_vgg" at 28, "fmnist_nin" at 28,
        "fmnist_googlenet" at 28, "fmnist_resnet" at 28, "fmnist_plain" at 28,
    ];
    grouped_alexnet_matches_the_reference_in_wasm: ["alexnet_original" at 227];
    alexnet_and_nin_match_the_reference_in_wasm: ["alexnet" at 64, "nin" at 48];
    zfnet_matches_the_reference_in_wasm: ["zfnet" at 224];
    vgg_plain_matches_the_reference_in_wasm: [
        "vgg11" at 32, "vgg13" at 32, "vgg16" at 32, "vgg19" at 32,
    ];
    vgg_with_batchnorm_matches_the_reference_in_wasm: [
        "vgg11_bn" at 32, "vgg13_bn" at 32, "vgg16_bn" at 32, "vgg19_bn" at 32,
    ];
    googlenet_with_lrn_concat_and_auxiliary_heads_matches_the_reference_in_wasm: ["googlenet" at 224];
    googlenet_torchvision_and_efficientnet_lite0_match_the_reference_in_wasm: [
        "googlenet_torchvision" at 32, "efficientnet_lite0" at 64,
    ];
    basic_block_resnets_match_the_reference_in_wasm: ["resnet18" at 32, "resnet34" at 32];
    resnet50_and_101_match_the_reference_in_wasm: ["resnet50" at 32, "resnet101" at 32];
    resnet152_matches_the_reference_in_wasm: ["resnet152" at 32];
}

/// Not a check: the mean of 10 steady passes, printed for BENCHMARKS.md (weights calibrated
/// on the input, as the native bench's are, so no pass runs on overflowed values).
#[wasm_bindgen_test]
fn efficientnet_lite0_timing_in_wasm() {
    let net = zoo::build("efficientnet_lite0").unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(3, 224, 224);
    cpu::calibrate_batchnorm(&net, &mut weights, &input).unwrap();
    let mut plan = FastPlan::new(&net, &weights, 224, 224).unwrap();
    plan.forward(&input).unwrap();
    let runs = 10;
    let start = js_sys::Date::now();
    for _ in 0..runs {
        plan.forward(&input).unwrap();
    }
    let ms = (js_sys::Date::now() - start) / runs as f64;
    console_log!("fast CPU engine, wasm simd128, efficientnet_lite0 224x224: {ms:.1} ms per pass");
}
