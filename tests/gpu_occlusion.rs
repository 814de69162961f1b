//! Occlusion sensitivity batched on the GPU against its CPU twins: occlude.wgsl's input
//! against `OcclusionGrid::occluded` at every position on awkward shapes (one and five
//! channels, odd sizes, a stride larger than the patch, a patch the whole input), and the
//! three maps (occlusion_reduce.wgsl after the plan's passes) against `explain::Occlusion` on
//! the fast CPU engine: logits, a softmax output, LeNet-5's RBF distances, over 256 classes,
//! tied scores, a watched node that a fused kernel skips, and ResNet-18 (torchvision's
//! layout) with the engine's seeded weights at 64x64.

mod common;

use common::{assert_close, gpu, random_input};
use convscope::engine::occlusion_gpu::occlusion_on_gpu;
use convscope::engine::{random_weights, Quiet};
use convscope::explain::{Occlusion, OcclusionGrid, OcclusionMaps, OcclusionSettings};
use convscope::gpu::{OcclusionPlan, OcclusionSpec, Plan, PlanOptions};
use convscope::model::*;
use convscope::tensor::Tensor;
use convscope::weights::Weights;
use pollster::block_on;

fn settings(patch: usize, stride: usize) -> OcclusionSettings {
    OcclusionSettings {
        patch: Some(patch),
        stride: Some(stride),
        ..Default::default()
    }
}

/// A small classifier: 3x3 conv, BatchNorm, ReLU (fused on the GPU), max pool, a dense head.
fn small(c: usize, h: usize, w: usize, classes: usize) -> Network {
    let mut net = Network::new("small", c, (h, w));
    net.then("conv", Layer::Conv2d(Conv2d::new(c, 6, 3).pad(1)));
    let bn = BatchNorm {
        channels: 6,
        eps: 1e-3,
    };
    net.then("bn", Layer::BatchNorm(bn));
    net.then("relu", Layer::Activation(Activation::Relu));
    net.then("pool", Layer::MaxPool2d(Pool2d::new(2, 2)));
    net.then("flatten", Layer::Flatten);
    let features = 6 * (h / 2) * (w / 2);
    net.then("fc", Layer::Dense(Dense::new(features, classes)));
    net
}

/// The GPU's maps against the fast CPU engine's: the kernel rule, or on deep networks the
/// whole-pass rule.
fn compare(what: &str, gpu_maps: &OcclusionMaps, cpu_maps: &OcclusionMaps, whole_pass: bool) {
    let same = |m: &OcclusionMaps| {
        (
            m.rows, m.cols, m.patch, m.stride, m.class, m.node, m.channel,
        )
    };
    assert_eq!(same(gpu_maps), same(cpu_maps), "{what}: grid and defaults");
    assert_eq!(gpu_maps.top_class, cpu_maps.top_class, "{what}: top class");
    let pairs = [
        ("probability", &gpu_maps.probability, &cpu_maps.probability),
        ("activation", &gpu_maps.activation, &cpu_maps.activation),
    ];
    for (name, g, c) in pairs {
        assert_eq!(g.len(), gpu_maps.rows * gpu_maps.cols, "{what} {name}");
        if whole_pass {
            // f32 rounding compounds with depth: the whole-pass rule, scaled by the map.
            let scale = c.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            for (i, (a, b)) in g.iter().zip(c.iter()).enumerate() {
                let tolerance = 2e-3 * scale + 1e-3 * b.abs();
                assert!(
                    (a - b).abs() <= tolerance,
                    "{what} {name} {i}: gpu {a} cpu {b}"
                );
            }
        } else {
            assert_close(&format!("{what} {name}"), g, c);
        }
    }
}

/// Occlusion of `input` over `net` on the GPU and on the fast CPU engine.
fn both(
    net: &Network,
    weights: &Weights,
    input: &Tensor,
    s: &OcclusionSettings,
) -> Option<(OcclusionMaps, OcclusionMaps)> {
    let ctx = gpu()?;
    let (h, w) = (input.shape[1], input.shape[2]);
    let plan = block_on(Plan::new(ctx, net, weights, h, w, PlanOptions::default()))
        .unwrap_or_else(|e| panic!("{}: plan: {e}", net.name));
    let g = block_on(occlusion_on_gpu(ctx, &plan, input, s, &mut Quiet)).unwrap();
    let c = Occlusion::new(net, weights, input, s)
        .unwrap()
        .run()
        .unwrap();
    // The plan holds the unoccluded pass again.
    let out = block_on(plan.read(ctx, net.output())).unwrap();
    assert_close(
        &format!("{}: output after occlusion", net.name),
        &out.data,
        &convscope::cpu::forward(net, weights, input).unwrap()[net.output()].data,
    );
    Some((g, c))
}

#[test]
fn occlude_writes_the_input_as_its_cpu_twin_at_every_position() {
    let Some(ctx) = gpu() else { return };
    // (channels, h, w, patch, stride): odd sizes, stride > patch, a patch of the whole input.
    let cases = [
        (1, 7, 9, 3, 2),
        (3, 8, 8, 2, 5),
        (5, 6, 11, 6, 1),
        (3, 5, 5, 5, 3),
    ];
    for (c, h, w, patch, stride) in cases {
        let net = small(c, h, w, 4);
        let weights = Weights::random(&net, 7);
        let input = random_input(c, h, w, 11);
        let grid = OcclusionGrid::new(&settings(patch, stride), h, w).unwrap();
        let plan = block_on(Plan::new(ctx, &net, &weights, h, w, PlanOptions::default())).unwrap();
        let spec = OcclusionSpec {
            patch,
            stride,
            rows: grid.rows,
            cols: grid.cols,
            class: 1,
            node: 2,
            channel: 5,
        };
        let occlusion = block_on(OcclusionPlan::new(ctx, &plan, &input, &spec)).unwrap();
        assert_eq!(occlusion.positions(), grid.positions());
        for k in 0..grid.positions() {
            occlusion.run(ctx, &plan, k, 1);
            let written = block_on(plan.read(ctx, Network::INPUT)).unwrap();
            let want = grid.occluded(&input, k);
            assert_eq!(
                written.data, want.data,
                "{c}x{h}x{w} patch {patch} stride {stride} at {k}"
            );
        }
    }
}

#[test]
fn maps_match_the_fast_cpu_engine_on_small_networks() {
    // Logits over more classes than the reduction's workgroup; a watched conv that the
    // fused kernel skips (its un-fused dispatches run each position).
    let net = small(3, 12, 10, 300);
    let weights = Weights::random(&net, 5);
    let input = random_input(3, 12, 10, 2);
    let mut s = settings(4, 3);
    if let Some((g, c)) = both(&net, &weights, &input, &s) {
        compare("300 logits", &g, &c, false);
    }
    s.node = net.find("conv");
    s.channel = Some(4);
    if let Some((g, c)) = both(&net, &weights, &input, &s) {
        assert_eq!(g.channel, 4);
        compare("watched conv", &g, &c, false);
    }
    // A softmax output: its own probabilities.
    let mut soft = small(1, 8, 8, 7);
    soft.then("softmax", Layer::Softmax);
    let weights = Weights::random(&soft, 9);
    let input = random_input(1, 8, 8, 4);
    if let Some((g, c)) = both(&soft, &weights, &input, &settings(3, 2)) {
        compare("softmax output", &g, &c, false);
    }
    // Tied scores everywhere: the first class, as `explain::argmax` picks it.
    let mut tied = Weights::random(&soft, 9);
    for t in tied
        .tensors
        .iter_mut()
        .filter(|(k, _)| k.starts_with("fc."))
    {
        t.1.data.fill(0.0);
    }
    if let Some((g, c)) = both(&soft, &tied, &input, &settings(3, 2)) {
        assert!(g.top_class.iter().all(|&k| k == 0));
        compare("tied", &g, &c, false);
    }
}

#[test]
fn maps_match_on_lenet5_rbf_distances() {
    let net = convscope::zoo::build("lenet5").unwrap();
    let weights = Weights::random(&net, 3);
    let input = random_input(1, 32, 32, 8);
    if let Some((g, c)) = both(&net, &weights, &input, &OcclusionSettings::default()) {
        assert_eq!((g.rows, g.cols), (14, 14), "defaults 5 px every 2 px at 32");
        compare("lenet5", &g, &c, true);
    }
}

#[test]
fn maps_match_on_resnet18_with_seeded_weights_at_64_pixels() {
    let entry = convscope::zoo::entry("resnet18").unwrap();
    let net = convscope::zoo::build("resnet18").unwrap();
    let (weights, _) = block_on(random_weights(entry, &net, &mut Quiet)).unwrap();
    let input = random_input(3, 64, 64, 6);
    if let Some((g, c)) = both(&net, &weights, &input, &settings(24, 20)) {
        assert_eq!((g.rows, g.cols), (3, 3));
        assert_eq!(net.nodes[g.node].name, "layer4.1.relu");
        compare("resnet18", &g, &c, true);
    }
}
