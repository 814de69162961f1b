//! The fast CPU engine in WebAssembly (headless Chromium, wasm-bindgen-test): gemm's simd128
//! kernels and the vectorised loops against the f64 reference at every node, on networks that
//! cover every kernel, and one timed EfficientNet-Lite0 pass at 224 x 224 printed for the
//! benchmarks. Run by `cargo test --release --target wasm32-unknown-unknown --test
//! fastcpu_wasm`; on native targets this file is empty (tests/fastcpu.rs covers the zoo).
#![cfg(target_arch = "wasm32")]

use convscope::cpu;
use convscope::fastcpu::FastPlan;
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use convscope::zoo;
use rand::{rngs::StdRng, Rng, SeedableRng};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn random_input(c: usize, h: usize, w: usize) -> Tensor {
    let mut rng = StdRng::seed_from_u64(1);
    let data = (0..c * h * w)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    Tensor::new(vec![c, h, w], data)
}

/// Every node of `name` at `h x w` against the reference layer on the fast engine's inputs,
/// `|a - b| <= 1e-4 + 1e-3 |b|` as tests/fastcpu.rs.
fn check_model(name: &str, h: usize, w: usize) {
    let net = zoo::build(name).unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(net.input_channels(), h, w);
    cpu::calibrate_batchnorm(&net, &mut weights, &input).unwrap();
    let mut plan = FastPlan::new(&net, &weights, h, w).unwrap();
    plan.forward(&input).unwrap();
    let fast: Vec<_> = (0..net.nodes.len())
        .map(|id| plan.read(id).unwrap())
        .collect();
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let ins: Vec<_> = node.inputs.iter().map(|&i| &fast[i]).collect();
        let want = cpu::layer_forward(&node.name, &node.layer, &weights, &ins).unwrap();
        for (i, (&a, &b)) in fast[id].data.iter().zip(&want.data).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 + 1e-3 * b.abs(),
                "{name} node {} element {i}: fast {a} cpu {b}",
                node.name
            );
        }
    }
}

#[wasm_bindgen_test]
fn efficientnet_lite0_matches_the_reference_in_wasm() {
    check_model("efficientnet_lite0", 64, 64);
}

#[wasm_bindgen_test]
fn resnet18_matches_the_reference_in_wasm() {
    check_model("resnet18", 32, 32);
}

#[wasm_bindgen_test]
fn googlenet_with_lrn_concat_and_auxiliary_heads_matches_the_reference_in_wasm() {
    check_model("googlenet", 224, 224);
}

#[wasm_bindgen_test]
fn grouped_alexnet_and_vgg11_bn_match_the_reference_in_wasm() {
    check_model("alexnet_original", 227, 227);
    check_model("vgg11_bn", 32, 32);
}

#[wasm_bindgen_test]
fn lenet5_and_alexnet_match_the_reference_in_wasm() {
    check_model("lenet5", 32, 32);
    check_model("alexnet", 64, 64);
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
