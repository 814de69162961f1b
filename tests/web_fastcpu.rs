//! The fast CPU engine compiled to WebAssembly (with simd128) in headless Chromium: every node
//! equals the f64 reference's layer on the engine's own inputs, within the GPU tests'
//! tolerance, on one model of each family (the native test, tests/fastcpu.rs, covers the
//! whole zoo). Run by `cargo test --release --target wasm32-unknown-unknown --test
//! web_fastcpu`; on native targets this file is empty.
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

/// `|fast - reference| <= 1e-4 + 1e-3 |reference|` at every value of every node.
fn check_model(name: &str, h: usize, w: usize) {
    let net = zoo::build(name).unwrap();
    let mut weights = Weights::random(&net, 42);
    let input = random_input(net.input_channels(), h, w);
    cpu::calibrate_batchnorm(&net, &mut weights, &input).expect("cpu reference");
    let mut plan = FastPlan::new(&net, &weights, h, w).unwrap();
    plan.forward(&input).unwrap();
    let fast: Vec<Tensor> = (0..net.nodes.len())
        .map(|id| plan.read(id).unwrap())
        .collect();
    for (id, node) in net.nodes.iter().enumerate().skip(1) {
        let ins: Vec<&Tensor> = node.inputs.iter().map(|&i| &fast[i]).collect();
        let want = cpu::layer_forward(&node.name, &node.layer, &weights, &ins).unwrap();
        assert_eq!(fast[id].shape, want.shape, "{name} node {}", node.name);
        for (i, (&g, &c)) in fast[id].data.iter().zip(&want.data).enumerate() {
            assert!(
                (g - c).abs() <= 1e-4 + 1e-3 * c.abs(),
                "{name} node {} value {i}: fast {g}, reference {c}",
                node.name
            );
        }
    }
}

#[wasm_bindgen_test]
fn lenet5_with_its_partial_connections_and_rbf_output() {
    check_model("lenet5", 32, 32);
}

#[wasm_bindgen_test]
fn alexnet_original_with_groups_and_lrn() {
    check_model("alexnet_original", 227, 227);
}

#[wasm_bindgen_test]
fn googlenet_with_inception_concat_and_aux_heads() {
    check_model("googlenet", 224, 224);
}

#[wasm_bindgen_test]
fn resnet18_with_batchnorm_and_residual_adds() {
    check_model("resnet18", 32, 32);
}

#[wasm_bindgen_test]
fn efficientnet_lite0_with_depthwise_and_same_padding() {
    check_model("efficientnet_lite0", 96, 96);
}

#[wasm_bindgen_test]
fn vgg11_bn_with_ceil_free_pools_and_a_dense_head() {
    check_model("vgg11_bn", 32, 32);
}
