//! The engine core that the page and the tool share, tested natively: random weights made and
//! calibrated the same way for the CLI, the GPU and the CPU reference (same top-5), deep random
//! networks with scores of ordinary size, trained weights, node reads, progress reports, and
//! the errors bad calls get.

mod common;

use convscope::engine::report::Classification;
use convscope::engine::{Backend, Engine, EngineError, Progress, Quiet};
use convscope::gpu::GpuContext;
use std::path::PathBuf;
use std::process::Command;

fn asset(path: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path);
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/setup.sh",
        p.display()
    );
    p
}

fn photo(name: &str) -> image::DynamicImage {
    image::open(asset(&format!("photos/{name}"))).unwrap()
}

/// An engine on the GPU; on a machine without an adapter, `None` unless the test command
/// requires one (CI), which fails instead.
fn gpu_engine() -> Option<Engine> {
    match pollster::block_on(GpuContext::new()) {
        Ok(ctx) => Some(Engine::with_gpu(ctx)),
        Err(e) if std::env::var_os("CONVSCOPE_REQUIRE_GPU").is_some() => {
            panic!("CONVSCOPE_REQUIRE_GPU is set but {e}")
        }
        Err(e) => {
            eprintln!("skipping the GPU half: {e}");
            None
        }
    }
}

fn cpu_engine() -> Engine {
    let engine = pollster::block_on(Engine::new(Backend::Cpu));
    assert_eq!(engine.backend(), Backend::Cpu);
    engine
}

fn labelled(engine: &Engine) -> &Engine {
    let text = std::fs::read_to_string(asset("labels/imagenet.txt")).unwrap();
    engine.set_imagenet_labels(&text).unwrap();
    engine
}

/// Same classes in the same order, or neighbours whose scores tie within `tolerance`; the
/// scores of each class agree within it.
fn assert_same_top5(what: &str, a: &Classification, b: &Classification, tolerance: f32) {
    for (x, y) in a.top5.iter().zip(&b.top5) {
        let tie = (x.logit - y.logit).abs() <= tolerance * (1.0 + x.logit.abs());
        assert!(
            x.class == y.class || tie,
            "{what}: {} against {}",
            x.name,
            y.name
        );
        if x.class == y.class {
            assert!(tie, "{what}: {} scores {} and {}", x.name, x.logit, y.logit);
        }
    }
}

fn classify(engine: &Engine, model: &str, image: &image::DynamicImage) -> Classification {
    pollster::block_on(engine.load_model(model, None, &mut Quiet)).unwrap();
    pollster::block_on(engine.classify(image, &mut Quiet)).unwrap()
}

/// The top-5 that `convscope classify --json` prints.
fn cli_top5(model: &str, photo: &str, cpu: bool) -> Vec<(usize, f32)> {
    let path = asset(&format!("photos/{photo}"));
    let mut args = vec![
        "classify",
        path.to_str().unwrap(),
        "--model",
        model,
        "--json",
    ];
    if cpu {
        args.push("--cpu");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(&args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["load"]["trained"], false);
    json["result"]["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let class = p["class"].as_u64().unwrap() as usize;
            (class, p["logit"].as_f64().unwrap() as f32)
        })
        .collect()
}

/// The defect this core fixes: the CLI made random weights without calibrating them, so
/// random resnet18 named every photo `jersey` at p = 0.996 with a logit of 186, while the page
/// calibrated. Now the page, the CLI, the GPU and the CPU reference share one loader.
#[test]
fn random_resnet18_gives_the_same_top5_from_the_cli_the_gpu_and_the_cpu_reference() {
    let image = photo("coffee.png");
    let mut stages: Vec<(String, f64)> = Vec::new();
    let cpu = cpu_engine();
    labelled(&cpu);
    let mut progress = Progress(|stage: &str, f: f64| stages.push((stage.into(), f)));
    let report = pollster::block_on(cpu.load_model("resnet18", None, &mut progress)).unwrap();
    assert!(!report.trained);
    assert!(report.weights.contains("seed 0"), "{}", report.weights);
    assert!(report.weights.contains("calibrated"), "{}", report.weights);
    let on_cpu = pollster::block_on(cpu.classify(&image, &mut Quiet)).unwrap();
    assert_eq!(on_cpu.backend, "cpu");
    // Progress: each stage's fractions grow from 0 to 1, stages in order.
    let order: Vec<&str> = stages
        .iter()
        .map(|s| s.0.as_str())
        .fold(Vec::new(), |mut v, s| {
            if v.last() != Some(&s) {
                v.push(s);
            }
            v
        });
    assert_eq!(
        order,
        ["making random weights", "calibrating the random weights"]
    );
    for stage in order {
        let f: Vec<f64> = stages
            .iter()
            .filter(|s| s.0 == stage)
            .map(|s| s.1)
            .collect();
        assert!(f.windows(2).all(|w| w[0] <= w[1]), "{stage}: {f:?}");
        assert_eq!((f[0], *f.last().unwrap()), (0.0, 1.0), "{stage}");
    }
    // The CLI's CPU path gives exactly the engine's numbers.
    let cli_cpu = cli_top5("resnet18", "coffee.png", true);
    let ours: Vec<(usize, f32)> = on_cpu.top5.iter().map(|p| (p.class, p.logit)).collect();
    assert_eq!(cli_cpu, ours);
    let top = &on_cpu.top5[0];
    assert!(
        top.probability < 0.9 && top.logit.abs() < 50.0,
        "{} p={} logit={}",
        top.name,
        top.probability,
        top.logit
    );

    let Some(gpu) = gpu_engine() else { return };
    let on_gpu = classify(labelled(&gpu), "resnet18", &image);
    assert_eq!(on_gpu.backend, "webgpu");
    assert_same_top5("GPU against the CPU reference", &on_gpu, &on_cpu, 1e-3);
    let cli_gpu = cli_top5("resnet18", "coffee.png", false);
    let ours: Vec<(usize, f32)> = on_gpu.top5.iter().map(|p| (p.class, p.logit)).collect();
    assert_eq!(
        cli_gpu, ours,
        "the CLI on the GPU against the engine on the GPU"
    );
}

/// Calibrated random weights keep the deepest networks' scores finite and of ordinary size
/// on real photos: no class above p = 0.9.
#[test]
fn deep_random_networks_give_ordinary_scores_on_photos() {
    let engine = gpu_engine().unwrap_or_else(cpu_engine);
    for model in ["resnet152", "vgg19_bn"] {
        pollster::block_on(engine.load_model(model, None, &mut Quiet)).unwrap();
        for name in ["coffee.png", "astronaut.png"] {
            let result = pollster::block_on(engine.classify(&photo(name), &mut Quiet)).unwrap();
            let out = pollster::block_on(engine.node_output("fc"))
                .or_else(|_| pollster::block_on(engine.node_output("classifier.6")));
            let logits = out.unwrap().data;
            assert!(
                logits.iter().all(|v| v.is_finite() && v.abs() < 100.0),
                "{model} on {name}"
            );
            let top = &result.top5[0];
            assert!(
                top.probability < 0.9,
                "{model} on {name}: {} p={}",
                top.name,
                top.probability
            );
        }
    }
}

const LENET5: &str = "weights/lenet5.safetensors";

/// A 28x28 drawing of a pair of trousers: two light legs on black.
fn trousers() -> image::DynamicImage {
    let img = image::GrayImage::from_fn(28, 28, |x, y| {
        let waist = y < 6 && (8..20).contains(&x);
        let leg = y >= 6 && ((8..13).contains(&x) || (15..20).contains(&x));
        image::Luma([if waist || leg { 220 } else { 0 }])
    });
    image::DynamicImage::ImageLuma8(img)
}

/// Trained LeNet-5 on the GPU and on the CPU reference: the same top-5, any node readable
/// (on the GPU only the nodes asked for come back), receptive fields and the input as seen.
#[test]
fn trained_lenet5_classifies_and_reads_nodes_on_both_paths() {
    let bytes = std::fs::read(asset(LENET5)).unwrap();
    let cpu = cpu_engine();
    let report = pollster::block_on(cpu.load_model("lenet5", Some(&bytes), &mut Quiet)).unwrap();
    assert!(report.trained);
    assert_eq!(report.input, [1, 32, 32]);
    let on_cpu = pollster::block_on(cpu.classify(&trousers(), &mut Quiet)).unwrap();
    assert_eq!(on_cpu.top5[0].name, "Trouser");
    let c1_cpu = pollster::block_on(cpu.node_output("c1")).unwrap();
    assert_eq!(c1_cpu.shape, vec![6, 28, 28]);
    assert_eq!(cpu.receptive_field_box("c1", 0, 0).unwrap(), [0, 0, 4, 4]);
    assert_eq!(cpu.input_rgba().unwrap().len(), 32 * 32 * 4);
    let summary = cpu
        .summary(|s| (s.model.to_string(), s.nodes.len()))
        .unwrap();
    assert_eq!(summary.0, "lenet5");

    let Some(gpu) = gpu_engine() else { return };
    pollster::block_on(gpu.load_model("lenet5", Some(&bytes), &mut Quiet)).unwrap();
    let on_gpu = pollster::block_on(gpu.classify(&trousers(), &mut Quiet)).unwrap();
    assert_eq!(on_gpu.backend, "webgpu");
    assert_same_top5("lenet5", &on_gpu, &on_cpu, 1e-3);
    assert_eq!(gpu.gpu_reads(), vec!["output".to_string()]);
    let c1 = pollster::block_on(gpu.node_output("c1")).unwrap();
    common::assert_close("c1", &c1.data, &c1_cpu.data);
    let ranges = pollster::block_on(gpu.node_ranges("c1")).unwrap().unwrap();
    assert_eq!(ranges.len(), 6);
    for (ch, [lo, hi, _]) in ranges.iter().enumerate() {
        let plane = &c1_cpu.data[ch * 784..(ch + 1) * 784];
        let want = plane.iter().copied().fold(f32::MIN, f32::max);
        assert!(
            (hi - want).abs() <= 1e-3 * (1.0 + want.abs()) && lo <= hi,
            "channel {ch}"
        );
    }
    assert_eq!(
        gpu.gpu_reads(),
        vec![
            "output".to_string(),
            "c1".into(),
            "c1 (channel ranges)".into()
        ]
    );
}

#[test]
fn bad_calls_get_errors_and_lose_nothing() {
    let engine = cpu_engine();
    let e = pollster::block_on(engine.node_output("c1")).unwrap_err();
    assert!(matches!(e, EngineError::NoModel), "{e}");
    let e = pollster::block_on(engine.load_model("lenet7", None, &mut Quiet)).unwrap_err();
    assert!(e.to_string().contains("no model called `lenet7`"), "{e}");
    let bytes = std::fs::read(asset(LENET5)).unwrap();
    pollster::block_on(engine.load_model("lenet5", Some(&bytes), &mut Quiet)).unwrap();
    let e = pollster::block_on(engine.node_output("c1")).unwrap_err();
    assert!(matches!(e, EngineError::NothingRun), "{e}");
    // Truncated weights, and another model's weights: refused, and lenet5 stays loaded.
    let e = pollster::block_on(engine.load_model(
        "lenet5",
        Some(&bytes[..bytes.len() / 2]),
        &mut Quiet,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = pollster::block_on(engine.load_model("lenet5_modern", Some(&bytes), &mut Quiet))
        .unwrap_err();
    assert!(e.to_string().contains("do not fit lenet5_modern"), "{e}");
    assert_eq!(engine.network().unwrap().name, "lenet5");
    let e = pollster::block_on(engine.classify_rgba(2, 2, vec![0; 15], &mut Quiet)).unwrap_err();
    assert!(e.to_string().contains("2x2x4 bytes"), "{e}");
    let e = pollster::block_on(engine.classify_rgba(0, 5, vec![], &mut Quiet)).unwrap_err();
    assert!(matches!(e, EngineError::EmptyImage), "{e}");
    pollster::block_on(engine.classify(&trousers(), &mut Quiet)).unwrap();
    let e = pollster::block_on(engine.node_output("c9")).unwrap_err();
    assert!(e.to_string().contains("no node called `c9`"), "{e}");
    let e = engine.receptive_field_box("c1", 28, 0).unwrap_err();
    assert!(e.to_string().contains("outside `c1`'s 28x28 map"), "{e}");
    let e = engine.set_imagenet_labels("a\nb\nc").unwrap_err();
    assert!(e.to_string().contains("3 lines, not 1000"), "{e}");
}

/// The timed rule of the automatic choice: one pass on each engine; the faster one runs the
/// models from then on, and the reason says what was measured. Lavapipe and the CPU engine
/// may come out either way, so the test checks that the engine does what its timing says.
#[test]
fn a_timed_pass_on_each_engine_picks_the_faster_and_says_so() {
    let clock = std::time::Instant::now();
    let now = || clock.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu_engine();
    pollster::block_on(cpu.load_model("lenet5", None, &mut Quiet)).unwrap();
    let none = pollster::block_on(cpu.choose_faster(now)).unwrap();
    assert!(none.is_none(), "a CPU engine has no GPU to time");

    let Some(gpu) = gpu_engine() else { return };
    pollster::block_on(gpu.load_model("lenet5", None, &mut Quiet)).unwrap();
    let timing = pollster::block_on(gpu.choose_faster(now)).unwrap().unwrap();
    assert!(timing.gpu_ms > 0.0 && timing.cpu_ms > 0.0, "{timing:?}");
    assert_eq!(timing.chose_cpu, timing.cpu_ms < timing.gpu_ms);
    let reason = gpu.backend_reason();
    assert!(reason.contains("one pass of lenet5 took"), "{reason}");
    let want = if timing.chose_cpu { "cpu" } else { "webgpu" };
    assert_eq!(gpu.backend().name(), want, "{reason}");
    let result = pollster::block_on(gpu.classify(&trousers(), &mut Quiet)).unwrap();
    assert_eq!(result.backend, want);
    // A later model runs where the timing said, too.
    let next = classify(&gpu, "lenet5_modern", &trousers());
    assert_eq!(next.backend, want);
}
