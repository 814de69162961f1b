//! The engine's explanations on the GPU against the same requests on the CPU path (the f64
//! reference's backward passes): gradient, guided backprop, deconvnet and Grad-CAM, on
//! EfficientNet-Lite0 with its real weights and on ResNet-18 (torchvision's layout) with the
//! engine's seeded random weights, on a real photo. Maps agree within the whole-pass
//! tolerance, scaled by the map's largest value (f32 rounding compounds with depth), but for
//! a few values near rectifier kinks; the class and unit are the same. Occlusion's three maps
//! (batched on the GPU, the fast CPU engine on the CPU path) agree on EfficientNet-Lite0;
//! tests/gpu_occlusion.rs has ResNet-18's.

mod common;

use convscope::engine::explain::{ExplainRequest, Method};
use convscope::engine::{Backend, Engine, Quiet};
use convscope::gpu::GpuContext;
use convscope::zoo;
use std::path::PathBuf;

fn asset(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path)
}

/// A GPU engine and a reference engine with `model` loaded, or `None` without an adapter
/// (failing under CONVSCOPE_REQUIRE_GPU, as every GPU test).
fn engines(model: &str, weights: Option<&[u8]>) -> Option<(Engine, Engine)> {
    let gpu = match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Engine::with_gpu(ctx),
        Err(e) if std::env::var_os("CONVSCOPE_REQUIRE_GPU").is_some() => {
            panic!("CONVSCOPE_REQUIRE_GPU is set but {e}")
        }
        Err(e) => {
            eprintln!("skipping GPU test: {e}");
            return None;
        }
    };
    let reference = pollster::block_on(Engine::new(Backend::Reference));
    for engine in [&gpu, &reference] {
        pollster::block_on(engine.load_model(model, weights, &mut Quiet)).unwrap();
    }
    Some((gpu, reference))
}

fn agree(model: &str, weights: Option<&[u8]>, unit_node: &str, cam_node: &str) {
    let Some((gpu, reference)) = engines(model, weights) else {
        return;
    };
    let image = image::open(asset("photos/coffee.png")).unwrap();
    let requests = [
        (Method::Gradient, ExplainRequest::default()),
        (Method::Guided, ExplainRequest::default()),
        (
            Method::Deconvnet,
            ExplainRequest {
                node: Some(unit_node.into()),
                channel: Some(3),
                ..Default::default()
            },
        ),
        (
            Method::GradCam,
            ExplainRequest {
                node: Some(cam_node.into()),
                ..Default::default()
            },
        ),
    ];
    for (method, request) in requests {
        let run = |e: &Engine| pollster::block_on(e.explain(&image, method, &request, &mut Quiet));
        let (g, c) = (run(&gpu).unwrap(), run(&reference).unwrap());
        let what = format!("{model} {}", method.name());
        assert_eq!(g.backend, "webgpu", "{what}: the GPU ran it");
        assert_eq!(c.backend, "reference", "{what}");
        assert_eq!(
            (g.class, g.unit, &g.shape),
            (c.class, c.unit, &c.shape),
            "{what}"
        );
        let scale = c.values.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{what}: a zero map proves nothing");
        // Where the GPU's and the reference's forward values straddle a rectifier's kink
        // (0, or ReLU6's 6) the two passes differ by that unit's share. Measured on
        // EfficientNet-Lite0 and coffee.png: the gradient has 105 of 150,528 values outside the
        // whole-pass tolerance, the worst 2.4% of the map's range; guided backprop, deconvnet
        // and Grad-CAM none. So: all within 5%, at most 0.1% outside the tolerance.
        let mut loose = 0;
        let mut worst = 0f32;
        for (a, b) in g.values.iter().zip(&c.values) {
            worst = worst.max((a - b).abs() / scale);
            loose += ((a - b).abs() > 2e-3 * scale + 1e-3 * b.abs()) as usize;
        }
        assert!(
            worst <= 0.05,
            "{what}: worst difference {worst} of the map's range"
        );
        assert!(
            loose * 1000 <= c.values.len(),
            "{what}: {loose} of {} values outside the whole-pass tolerance",
            c.values.len()
        );
    }
}

#[test]
fn efficientnet_lite0_explanations_agree_on_gpu_and_cpu() {
    let bytes = std::fs::read(asset("weights/efficientnet_lite0.safetensors"))
        .expect("assets/weights/efficientnet_lite0.safetensors: run ./scripts/setup.sh first");
    let net = zoo::build("efficientnet_lite0").unwrap();
    assert!(net.find("_blocks.5._project_conv").is_some());
    agree(
        "efficientnet_lite0",
        Some(&bytes),
        "_blocks.5._project_conv",
        "_relu1",
    );
}

#[test]
fn resnet18_explanations_agree_on_gpu_and_cpu() {
    agree("resnet18", None, "layer2.0.conv1", "layer4.1.relu");
}

/// Occlusion through the engine: batched on the GPU where the plan is there (and said so),
/// on the fast CPU engine otherwise, the same three maps (a 3x3 grid keeps lavapipe quick).
#[test]
fn efficientnet_lite0_occlusion_runs_on_the_gpu_and_agrees_with_the_cpu() {
    let bytes = std::fs::read(asset("weights/efficientnet_lite0.safetensors"))
        .expect("assets/weights/efficientnet_lite0.safetensors: run ./scripts/setup.sh first");
    let Some((gpu, reference)) = engines("efficientnet_lite0", Some(&bytes)) else {
        return;
    };
    let image = image::open(asset("photos/coffee.png")).unwrap();
    let request = ExplainRequest {
        patch: Some(112),
        stride: Some(56),
        ..Default::default()
    };
    let run = |e: &Engine| {
        pollster::block_on(e.explain(&image, Method::Occlusion, &request, &mut Quiet)).unwrap()
    };
    let (g, c) = (run(&gpu), run(&reference));
    assert_eq!((g.backend, c.backend), ("webgpu", "cpu"));
    assert_eq!((g.class, &g.shape, &g.node), (c.class, &c.shape, &c.node));
    assert_eq!(g.shape, [3, 3]);
    let maps = |e: &Engine| {
        let input = g.input.clone();
        pollster::block_on(e.occlusion_maps(input, None, &request, &mut Quiet)).unwrap()
    };
    let ((gm, gb), (cm, cb)) = (maps(&gpu), maps(&reference));
    assert_eq!((gb, cb), ("webgpu", "cpu"));
    assert_eq!((gm.channel, &gm.top_class), (cm.channel, &cm.top_class));
    assert_eq!(
        gm.probability, g.values,
        "the explanation is the probability map"
    );
    for (name, a, b) in [
        ("probability", &gm.probability, &cm.probability),
        ("activation", &gm.activation, &cm.activation),
    ] {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{name}: a zero map proves nothing");
        for (x, y) in a.iter().zip(b.iter()) {
            assert!(
                (x - y).abs() <= 2e-3 * scale + 1e-3 * y.abs(),
                "{name}: gpu {x} cpu {y} (scale {scale})"
            );
        }
    }
}
