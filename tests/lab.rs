//! The teaching lab: its comparisons against the analysis module and the papers' examples,
//! the first-layer filter counts, the block timing on the GPU, and every shipped lab network
//! against the accuracy its run record holds.

mod common;

use convscope::analysis::{compare_kernels, stacked_3x3_net};
use convscope::lab::{self, first_layer, sample_inputs, side_report, time_block, Clock, Lesson};
use convscope::model::{Activation, Conv2d, Layer, Network};
use convscope::tensor::Tensor;
use convscope::train::{self as t, Dataset, RunRecord, Schedule, TrainConfig};
use convscope::weights::load_safetensors;
use std::sync::OnceLock;

fn fashion() -> &'static (Dataset, Dataset) {
    static DATA: OnceLock<(Dataset, Dataset)> = OnceLock::new();
    DATA.get_or_init(|| {
        t::load_fashion_mnist(t::FASHION_MNIST_DIR).unwrap_or_else(|e| {
            panic!("Fashion-MNIST is needed: `apt-get install dataset-fashion-mnist` ({e})")
        })
    })
}

fn kernels(in_c: usize, out_c: usize, k: usize) -> convscope::analysis::Comparison {
    let lesson = Lesson::Kernels {
        in_c,
        out_c,
        h: 32,
        w: 32,
        k,
    };
    lesson.compare().unwrap()
}

#[test]
fn kernel_lesson_is_the_analysis_and_matches_vgg_arithmetic() {
    for c in [1usize, 16, 64] {
        let (k5, k7) = (kernels(c, c, 5), kernels(c, c, 7));
        assert_eq!(
            (k5.a.params, k5.b.params),
            (25 * c * c, 18 * c * c).map_u64()
        );
        assert_eq!(
            (k7.a.params, k7.b.params),
            (49 * c * c, 27 * c * c).map_u64()
        );
        assert_eq!(k5, compare_kernels(c, c, 32, 32, 5).unwrap());
        assert_eq!((k7.a.rf_size, k7.b.rf_size), (7, 7));
        assert_eq!((k7.a.nonlinearities, k7.b.nonlinearities), (1, 3));
        // MACs: one weight per output pixel each (same padding keeps 32x32).
        assert_eq!(k7.b.macs, 27 * (c * c * 32 * 32) as u64);
    }
    let k11 = kernels(3, 8, 11);
    assert_eq!(k11.b.layers, 5);
    assert_eq!(k11.b.rf_size, 11);
    // The step-through's fields grow by 2 per 3x3 layer.
    let fields: Vec<i64> = k11
        .b
        .nodes
        .iter()
        .filter(|n| n.kind == "conv")
        .map(|n| n.receptive_field.h.size)
        .collect();
    assert_eq!(fields, [3, 5, 7, 9, 11]);
}

trait MapU64 {
    fn map_u64(self) -> (u64, u64);
}
impl MapU64 for (usize, usize) {
    fn map_u64(self) -> (u64, u64) {
        (self.0 as u64, self.1 as u64)
    }
}

#[test]
fn default_lessons_give_the_papers_numbers() {
    let [kernels, inception, bottleneck, heads] = Lesson::DEFAULTS.map(|l| l.compare().unwrap());
    assert_eq!(kernels.a.params, 49 * 64 * 64);
    // Inception (3a)'s 5x5 branch at 28x28x192 -> 32: 120.4 M MACs direct, 12.4 M through a
    // 16-channel 1x1 reduction.
    assert_eq!(inception.a.macs, 120_422_400);
    assert_eq!(inception.b.macs, 12_443_648);
    // ResNet: two 3x3 at 256 channels against 1x1-3x3-1x1 through 64.
    assert_eq!(bottleneck.a.params, 1_179_648);
    assert_eq!(bottleneck.b.params, 69_632);
    // VGG's head on 512x7x7 against global average pooling + one dense layer.
    assert_eq!(heads.a.params, 102_764_544 + 16_781_312 + 4_097_000);
    assert_eq!(heads.b.params, 513_000);
    // Averaging is additions only: the dense layer's MACs are all of the head's.
    assert_eq!(heads.b.macs, 512_000);
}

#[test]
fn lessons_reject_impossible_settings() {
    let bad = [
        Lesson::Kernels {
            in_c: 8,
            out_c: 8,
            h: 16,
            w: 16,
            k: 4,
        },
        Lesson::Inception {
            in_c: 0,
            reduce: 16,
            out_c: 32,
            h: 28,
            w: 28,
        },
        Lesson::Bottleneck {
            c: 64,
            mid: 0,
            h: 8,
            w: 8,
        },
        Lesson::Heads {
            c: 0,
            h: 7,
            w: 7,
            hidden: 10,
            classes: 10,
        },
    ];
    for lesson in bad {
        let e = lesson.compare().unwrap_err().to_string();
        assert!(!e.is_empty(), "{lesson:?}");
    }
    let json = serde_json::to_string(&Lesson::DEFAULTS[1]).unwrap();
    assert!(json.contains("\"kind\":\"inception\""), "{json}");
}

/// A 1 -> 3 convolution whose filters are: structured, flat (zero), and never positive.
fn toy_first_layer() -> (Network, convscope::weights::Weights) {
    let mut net = Network::new("toy", 1, (6, 6));
    net.then("conv1", Layer::Conv2d(Conv2d::new(1, 3, 3)));
    let out = net.then("relu1", Layer::Activation(Activation::Relu));
    net.outputs.push(out);
    let mut weights = t::init_weights(&net, 1);
    let w = &mut weights.tensors.get_mut("conv1.weight").unwrap().data;
    for (i, v) in w[0..9].iter_mut().enumerate() {
        *v = if i % 2 == 0 { 1.0 } else { -1.0 };
    }
    w[9..18].fill(0.0);
    w[18..27]
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = -1.0 - i as f32);
    weights.tensors.get_mut("conv1.bias").unwrap().data = vec![0.0, 0.0, -0.5];
    (net, weights)
}

#[test]
fn first_layer_counts_dead_and_low_contrast_filters() {
    let (net, weights) = toy_first_layer();
    let images: Vec<Tensor> = (0..4)
        .map(|k| {
            let data = (0..36).map(|i| ((i * 7 + k) % 5) as f32 / 4.0).collect();
            Tensor::new(vec![1, 6, 6], data)
        })
        .collect();
    let f = first_layer(&net, &weights, &images).unwrap().unwrap();
    assert_eq!(
        (f.node.as_str(), f.response_node.as_str()),
        ("conv1", "relu1")
    );
    assert_eq!((f.kernel, f.stride, f.in_channels, f.images), (3, 1, 1, 4));
    let flags: Vec<(bool, bool)> = f.filters.iter().map(|v| (v.dead, v.low_contrast)).collect();
    // The flat filter never responds either (its output is exactly 0 after ReLU).
    assert_eq!(flags, [(false, false), (true, true), (true, false)]);
    assert_eq!((f.dead, f.low_contrast, f.dead_or_low_contrast), (2, 1, 2));
    assert_eq!(f.filters[0].weights.len(), 9);
    // Without images nothing is called dead.
    let none = first_layer(&net, &weights, &[]).unwrap().unwrap();
    assert_eq!(none.dead, 0);
    // A network without convolutions has no first layer.
    let mut dense = Network::new("dense", 1, (2, 2));
    dense.then("flatten", Layer::Flatten);
    let w = t::init_weights(&dense, 1);
    assert_eq!(first_layer(&dense, &w, &[]).unwrap(), None);
}

#[test]
fn sample_inputs_check_their_length() {
    let net = convscope::zoo::build("lab_k5").unwrap();
    assert_eq!(
        sample_inputs(&net, &[0; 2 * 784], 2, 28, 28).unwrap().len(),
        2
    );
    let e = sample_inputs(&net, &[0; 783], 1, 28, 28).unwrap_err();
    assert!(e.to_string().contains("784 bytes"), "{e}");
    let e = side_report("vgg16", None, None, &[]).unwrap_err();
    assert!(
        e.to_string().contains("not one of the lab's networks"),
        "{e}"
    );
}

#[test]
fn lab_networks_are_in_the_zoo_with_their_own_settings() {
    let models = lab::models();
    assert_eq!(models.len(), 2 * lab::TWINS.len() + lab::TRICKS.len());
    for name in &models {
        let net = convscope::zoo::build(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(net.default_input, (28, 28));
        assert_eq!(net.infer_shapes(28, 28).unwrap().last().unwrap().len(), 10);
    }
    let cfg = |n| TrainConfig::for_model(n).unwrap();
    assert_eq!(cfg("lab_tricks_plain").schedule, Schedule::Constant);
    assert_eq!(cfg("lab_tricks_schedule").schedule, Schedule::WarmupCosine);
    assert_eq!(cfg("lab_tricks_smoothing").label_smoothing, 0.1);
    assert_eq!(cfg("lab_tricks_all").label_smoothing, 0.1);
    assert_eq!(cfg("lab_k5"), cfg("lab_k5_stack"));
    assert_eq!(cfg("lab_first_alexnet"), cfg("lab_first_zfnet"));
    // The twins differ where they say they do.
    let conv_kernels = |name: &str| -> Vec<usize> {
        let net = convscope::zoo::build(name).unwrap();
        net.nodes
            .iter()
            .filter_map(|n| match &n.layer {
                Layer::Conv2d(c) => Some(c.kernel.0),
                _ => None,
            })
            .collect()
    };
    assert_eq!(conv_kernels("lab_k5"), [3, 5]);
    assert_eq!(conv_kernels("lab_k5_stack"), [3, 3, 3]);
    assert_eq!(conv_kernels("lab_k7"), [3, 7]);
    assert_eq!(conv_kernels("lab_k7_stack"), [3, 3, 3, 3]);
    assert_eq!(conv_kernels("lab_first_alexnet"), [9, 3]);
    assert_eq!(conv_kernels("lab_first_zfnet"), [5, 3]);
}

#[test]
fn constant_schedule_keeps_the_rate() {
    let (train, _) = fashion();
    let net = convscope::zoo::build("lab_tricks_plain").unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 32,
        ..TrainConfig::for_model("lab_tricks_plain").unwrap()
    };
    let mut reports = Vec::new();
    t::train(&net, &cfg, &train.subset(0..128), None, |r| {
        reports.push(r.clone())
    })
    .unwrap();
    assert!(reports.iter().all(|r| r.lr == cfg.lr), "{reports:?}");
}

#[test]
fn block_timing_runs_on_the_gpu() {
    let Some(ctx) = common::gpu() else { return };
    let start = std::time::Instant::now();
    let now = || start.elapsed().as_secs_f64() * 1e3;
    let net = stacked_3x3_net(4, 4, 5);
    let t = pollster::block_on(time_block(ctx, &net, 12, 12, 3, &now)).unwrap();
    let elapsed = now();
    assert_eq!(t.runs, 3);
    // The clock is the best the adapter offers: GPU timestamps where it has them (lavapipe
    // does), wall time otherwise.
    let clock = if ctx.timestamps {
        Clock::Timestamps
    } else {
        Clock::Wall
    };
    assert_eq!(t.clock, clock, "{} {t:?}", ctx.describe());
    // The median pass is in milliseconds: positive, and within the whole call's wall time
    // (a compile pass and three timed passes).
    assert!(t.ms.is_finite() && t.ms > 0.0, "{t:?}");
    assert!(t.ms <= elapsed, "{t:?} in a call of {elapsed} ms");
}

/// Every shipped lab network reaches the accuracy its run record holds (+-0.5%) on the
/// 10,000 Fashion-MNIST test images, and the record describes the documented command.
#[test]
fn shipped_lab_networks_reach_their_recorded_accuracy() {
    let (_, test) = fashion();
    let dir = format!("{}/assets/weights", env!("CARGO_MANIFEST_DIR"));
    for name in lab::models() {
        let weights_path = std::path::PathBuf::from(format!("{dir}/{name}.safetensors"));
        let record_path = RunRecord::path_for(&weights_path);
        let text = std::fs::read_to_string(&record_path)
            .unwrap_or_else(|e| panic!("{}: {e}", record_path.display()));
        let record = RunRecord::from_json(&text).unwrap();
        assert_eq!(record.model, name);
        // The recipe's run; the checkpoints the feature-evolution view reads are the
        // recipe's or asked for on the command line.
        let mut command = format!("convscope train {name}");
        let mut recipe = TrainConfig::for_model(name).unwrap();
        if record.config.checkpoints != recipe.checkpoints {
            let epochs: Vec<String> = record
                .config
                .checkpoints
                .iter()
                .map(usize::to_string)
                .collect();
            command += &format!(" --checkpoints {}", epochs.join(","));
            recipe.checkpoints = record.config.checkpoints.clone();
        }
        assert_eq!(record.command, command);
        assert_eq!(record.config, recipe, "{name}");
        assert_eq!(record.epochs.len(), record.config.epochs);
        assert_eq!((record.train_images, record.test_images), (60_000, 10_000));
        let net = convscope::zoo::build(name).unwrap();
        let bytes = std::fs::read(&weights_path).unwrap();
        let weights = load_safetensors(&bytes, &net).unwrap();
        let accuracy = t::evaluate(&net, &weights, test).unwrap().fraction();
        eprintln!("{name}: {accuracy} (recorded {})", record.test_accuracy);
        assert!(
            (accuracy - record.test_accuracy).abs() <= 0.005,
            "{name}: {accuracy} against the recorded {}",
            record.test_accuracy
        );
        assert!(accuracy > 0.8, "{name}: {accuracy}");
    }
}

/// The first-layer pair's report on the first 100 test images (what the page and `convscope
/// lab` show): every filter measured, counts consistent with the flags.
#[test]
fn first_layer_pair_reports_filters_and_counts() {
    let (_, test) = fashion();
    let pixels = &test.images[..100 * 784];
    for name in ["lab_first_alexnet", "lab_first_zfnet"] {
        let net = convscope::zoo::build(name).unwrap();
        let path = format!(
            "{}/assets/weights/{name}.safetensors",
            env!("CARGO_MANIFEST_DIR")
        );
        let weights = load_safetensors(&std::fs::read(&path).unwrap(), &net).unwrap();
        let images = sample_inputs(&net, pixels, 100, 28, 28).unwrap();
        let report = side_report(name, None, Some(&weights), &images).unwrap();
        let f = report.first_layer.unwrap();
        assert_eq!(f.filters.len(), convscope::zoo::FIRST_FILTERS);
        assert_eq!(f.images, 100);
        let dead = f.filters.iter().filter(|v| v.dead).count();
        assert_eq!(f.dead, dead);
        assert!(f.filters.iter().all(|v| v.dead == (v.peak <= 0.0)));
        eprintln!(
            "{name}: {} dead, {} low-contrast of {}",
            f.dead,
            f.low_contrast,
            f.filters.len()
        );
    }
}
