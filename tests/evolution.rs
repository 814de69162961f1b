//! The feature-evolution view (Zeiler & Fergus 2013, Fig. 4) against the methods called
//! directly on each checkpoint's weights: every shipped model whose run record lists
//! checkpoints offers them (at least two models with at least four each); a column's filters
//! are the checkpoint's first-layer weights; each unit's input is the argmax of the channel's
//! activation over the dataset on the f64 CPU reference; its projection is
//! `explain::Explainer::deconvnet` of that checkpoint, input and unit. On the CPU engine and,
//! where there is an adapter (lavapipe in CI), on the GPU.

use convscope::engine::evolution::{evolution_plan, CheckpointWeights, EvolutionColumn};
use convscope::engine::{Backend, Engine, Quiet};
use convscope::explain::{crop, Explainer, Unit};
use convscope::gpu::GpuContext;
use convscope::lab::forward_to;
use convscope::preprocess::GreyscaleFrame;
use convscope::tensor::Tensor;
use convscope::train::{load_fashion_mnist, RunRecord, FASHION_MNIST_DIR};
use convscope::weights::{load_safetensors, Weights};
use convscope::zoo;
use pollster::block_on;
use std::path::{Path, PathBuf};

/// Test images ranked per checkpoint: enough for real competition between inputs, few enough
/// for the f64 reference to check every one.
const IMAGES: usize = 300;

fn weights_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/weights")
}

/// Every shipped run record that lists checkpoints.
fn records_with_checkpoints() -> Vec<RunRecord> {
    let mut records: Vec<RunRecord> = std::fs::read_dir(weights_dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?.to_string();
            name.ends_with(".run.json").then_some(path)
        })
        .map(|p| RunRecord::from_json(&std::fs::read_to_string(&p).unwrap()).unwrap())
        .filter(|r| !r.checkpoints.is_empty())
        .collect();
    records.sort_by(|a, b| a.model.cmp(&b.model));
    records
}

#[test]
fn at_least_two_models_offer_at_least_four_checkpoints_each() {
    let records = records_with_checkpoints();
    let mut rich = Vec::new();
    for record in &records {
        let plan = evolution_plan(record).unwrap();
        assert!(
            !plan.layers.is_empty(),
            "{}: no layer to follow",
            plan.model
        );
        assert!(plan.layers.iter().any(|l| l.node == plan.default_node));
        for c in &plan.checkpoints {
            let file = weights_dir().join(&c.file);
            assert!(
                file.exists(),
                "{}: {} is missing",
                plan.model,
                file.display()
            );
            // The recorded accuracy is the epoch's own.
            let epoch = &record.epochs[c.epoch - 1];
            assert_eq!(epoch.epoch, c.epoch);
            assert_eq!(Some(c.test_accuracy), epoch.test_accuracy, "{}", plan.model);
        }
        if plan.checkpoints.len() >= 4 {
            rich.push(plan.model);
        }
    }
    assert!(
        rich.len() >= 2,
        "models with at least four checkpoints: {rich:?}"
    );
    // A record without checkpoints is refused with the command that makes them.
    let mut bare = records[0].clone();
    bare.checkpoints.clear();
    let message = evolution_plan(&bare).unwrap_err().to_string();
    assert!(message.contains("--checkpoints"), "{message}");
}

/// The first `IMAGES` Fashion-MNIST test images, prepared for `net`.
fn test_images(net: &convscope::model::Network) -> Vec<Tensor> {
    let (_, test) = load_fashion_mnist(FASHION_MNIST_DIR)
        .unwrap_or_else(|e| panic!("{FASHION_MNIST_DIR}: {e} (run ./scripts/setup.sh)"));
    let frame = GreyscaleFrame::for_network(net);
    (0..IMAGES)
        .map(|i| frame.image(test.image(i), test.rows, test.cols))
        .collect()
}

/// Each input's largest activation of `channel` of `node` on the reference.
fn reference_peaks(
    net: &convscope::model::Network,
    weights: &Weights,
    inputs: &[Tensor],
    node: usize,
    channel: usize,
) -> Vec<(f32, Vec<f32>)> {
    inputs
        .iter()
        .map(|x| {
            let out = &forward_to(net, weights, x, node).unwrap()[node];
            let plane = out.shape[1] * out.shape[2];
            let values = out.data[channel * plane..(channel + 1) * plane].to_vec();
            let peak = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            (peak, values)
        })
        .collect()
}

/// A column against the methods called directly on the checkpoint's weights.
fn check_column(column: &EvolutionColumn, weights: &Weights, inputs: &[Tensor]) {
    let net = zoo::build(&column.model).unwrap();
    let what = format!("{} epoch {}", column.model, column.epoch);
    // The filters are the checkpoint's first-layer weights, drawn on one centred scale.
    let f = column.filters.as_ref().expect("a first convolution");
    let w = weights.get(&f.node, "weight");
    assert_eq!(f.weights, *w, "{what}: filters");
    let m = w.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let [kh, kw] = f.kernel;
    // One input channel: each weight is one grey pixel of its filter's tile.
    assert_eq!(f.in_channels, 1);
    for (i, &v) in w.data.iter().enumerate().step_by(7) {
        let (filter, y, x) = (i / (kh * kw), i / kw % kh, i % kw);
        let py = filter / f.cols * (kh + 1) + y;
        let px = filter % f.cols * (kw + 1) + x;
        let shown = f.rgba[4 * (py * f.width + px)] as f32;
        let expected = (0.5 + 0.5 * v / m) * 255.0;
        assert!(
            (shown - expected).abs() <= 0.5 + 1e-3,
            "{what}: filter pixel {i}"
        );
    }
    let node = net.find(&column.node).unwrap();
    for u in &column.units {
        let peaks = reference_peaks(&net, weights, inputs, node, u.channel);
        let best = peaks.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max);
        let tolerance = 1e-4 + 1e-3 * best.abs();
        // The chosen input is the argmax over the dataset (or ties it within f32 rounding),
        // and the unit is that input's strongest position.
        let (peak, plane) = &peaks[u.image];
        assert!(
            *peak >= best - tolerance,
            "{what} c{}: input {} peaks at {peak}, the best input at {best}",
            u.channel,
            u.image
        );
        let width = net_width(&net, node);
        assert!(
            (plane[u.y * width + u.x] - peak).abs() <= tolerance,
            "{what}: position"
        );
        assert!(
            (u.value - best).abs() <= tolerance,
            "{what}: value {}",
            u.value
        );
        // The projection is the deconvnet's for that checkpoint, input and unit.
        let unit = Unit {
            node,
            channel: u.channel,
            y: u.y,
            x: u.x,
        };
        let direct = Explainer::new(&net, weights, &inputs[u.image])
            .unwrap()
            .deconvnet(unit)
            .unwrap();
        let (h, w) = (column.patch_height, column.patch_width);
        let direct = crop(&direct, u.top, u.left, h, w);
        let scale = direct.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{what}: an empty projection");
        for (a, b) in u.projection.data.iter().zip(&direct.data) {
            assert!(
                (a - b).abs() <= 1e-4 * scale + 1e-3 * b.abs(),
                "{what} c{}: projection {a} vs {b}",
                u.channel
            );
        }
    }
}

fn net_width(net: &convscope::model::Network, node: usize) -> usize {
    net.infer_shapes(28, 28).unwrap()[node].w
}

/// Every checkpoint of `model`'s record through `engine`, checked.
fn check_model(
    (engine, backend): (&Engine, &str),
    model: &str,
    node: &str,
    channels: &[usize],
) -> Vec<usize> {
    let record = records_with_checkpoints()
        .into_iter()
        .find(|r| r.model == model)
        .unwrap_or_else(|| panic!("{model} has no checkpoints"));
    let net = zoo::build(model).unwrap();
    let inputs = test_images(&net);
    let mut chosen = Vec::new();
    for c in &record.checkpoints {
        let bytes = std::fs::read(weights_dir().join(&c.file)).unwrap();
        let checkpoint = CheckpointWeights {
            epoch: c.epoch,
            test_accuracy: c.test_accuracy,
            bytes: &bytes,
        };
        let column = block_on(engine.evolution_column(
            model,
            &checkpoint,
            node,
            channels,
            &inputs,
            &mut Quiet,
        ))
        .unwrap();
        assert_eq!(column.epoch, c.epoch);
        assert_eq!(column.test_accuracy, c.test_accuracy);
        assert_eq!(column.inputs, IMAGES);
        assert_eq!(column.projection_backend, backend);
        assert_eq!(column.ranking_backend, "cpu");
        let want: Vec<usize> = if channels.is_empty() {
            vec![0, 1, 2]
        } else {
            channels.to_vec()
        };
        let got: Vec<usize> = column.units.iter().map(|u| u.channel).collect();
        assert_eq!(got, want);
        let size = 4 * column.patch_height * column.patch_width;
        assert_eq!(column.patches.len(), want.len() * size);
        assert_eq!(column.projections.len(), want.len() * size);
        let weights = load_safetensors(&bytes, &net).unwrap();
        check_column(&column, &weights, &inputs);
        chosen.extend(column.units.iter().map(|u| u.image));
    }
    chosen
}

#[test]
fn cpu_columns_match_the_methods_called_directly() {
    let engine = block_on(Engine::new(Backend::Cpu));
    let cpu = (&engine, "reference");
    check_model(cpu, "lab_first_alexnet", "relu2", &[]);
    check_model(cpu, "lab_first_zfnet", "relu1", &[5, 17]);
}

#[test]
fn gpu_columns_match_the_methods_called_directly() {
    let ctx = match block_on(GpuContext::new()) {
        Ok(ctx) => ctx,
        Err(e) if std::env::var_os("CONVSCOPE_REQUIRE_GPU").is_some() => {
            panic!("CONVSCOPE_REQUIRE_GPU is set but {e}")
        }
        Err(e) => return eprintln!("skipping GPU test: {e}"),
    };
    let engine = Engine::with_gpu(ctx);
    let gpu = check_model((&engine, "webgpu"), "lab_first_zfnet", "relu2", &[0, 3]);
    let cpu = block_on(Engine::new(Backend::Cpu));
    // The ranking is the fast CPU engine's on both: the same inputs.
    let on_cpu = check_model((&cpu, "reference"), "lab_first_zfnet", "relu2", &[0, 3]);
    assert_eq!(on_cpu, gpu);
}

#[test]
fn a_bad_request_is_refused_with_a_message() {
    let engine = block_on(Engine::new(Backend::Cpu));
    let record = &records_with_checkpoints()[0];
    let bytes = std::fs::read(weights_dir().join(&record.checkpoints[0].file)).unwrap();
    let checkpoint = CheckpointWeights {
        epoch: 1,
        test_accuracy: 0.5,
        bytes: &bytes,
    };
    let net = zoo::build(&record.model).unwrap();
    let inputs = test_images(&net)[..3].to_vec();
    let run = |node: &str, channels: &[usize], inputs: &[Tensor], bytes: &[u8]| {
        let c = CheckpointWeights {
            bytes,
            ..checkpoint
        };
        block_on(engine.evolution_column(&record.model, &c, node, channels, inputs, &mut Quiet))
            .unwrap_err()
            .to_string()
    };
    assert!(run("nowhere", &[], &inputs, &bytes).contains("nowhere"));
    assert!(run("conv1", &[999], &inputs, &bytes).contains("999"));
    assert!(run("conv1", &[], &[], &bytes).contains("no images"));
    assert!(run("conv1", &[], &inputs, b"not weights").contains(&record.model));
}
