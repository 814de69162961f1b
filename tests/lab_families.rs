//! The five families at Fashion-MNIST scale and the ResNet's plain twin: what each keeps of
//! its design, the shipped weights against their recorded accuracy and checkpoints, the
//! degradation problem in the shipped records, and `convscope lab --families --json`.

use convscope::lab::{family_row, DEGRADATION_PAIR, FAMILIES};
use convscope::model::{Layer, Network};
use convscope::train::{self as t, Dataset, RunRecord, TrainConfig};
use convscope::weights::load_safetensors;
use std::path::PathBuf;

fn weights_path(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/assets/weights/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn shipped_record(name: &str) -> RunRecord {
    let path = RunRecord::path_for(&weights_path(name));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    RunRecord::from_json(&text).unwrap()
}

fn count(net: &Network, f: fn(&Layer) -> bool) -> usize {
    net.nodes.iter().filter(|n| f(&n.layer)).count()
}

fn build(name: &str) -> Network {
    convscope::zoo::build(name).unwrap_or_else(|| panic!("{name} is not in the zoo"))
}

#[test]
fn each_family_keeps_its_design() {
    for f in FAMILIES {
        let net = build(f.model);
        assert_eq!(net.default_input, (28, 28), "{}", f.model);
        let shapes = net.infer_shapes(28, 28).unwrap();
        assert_eq!(shapes[net.output()].len(), 10, "{}", f.model);
    }
    let alexnet = build("fmnist_alexnet");
    let first = alexnet.nodes.iter().find_map(|n| match &n.layer {
        Layer::Conv2d(c) => Some(c.clone()),
        _ => None,
    });
    let first = first.unwrap();
    assert!(first.kernel.0 >= 7 && first.stride.0 >= 2, "{first:?}");
    assert_eq!(count(&alexnet, |l| matches!(l, Layer::Lrn(_))), 2);
    assert_eq!(count(&alexnet, |l| matches!(l, Layer::Dropout(_))), 2);
    // Overlapping pooling: windows larger than their stride.
    let overlapping = |l: &Layer| matches!(l, Layer::MaxPool2d(p) if p.kernel.0 > p.stride.0);
    assert_eq!(count(&alexnet, overlapping), 2);
    let vgg = build("fmnist_vgg");
    let kernels: Vec<usize> = vgg
        .nodes
        .iter()
        .filter_map(|n| match &n.layer {
            Layer::Conv2d(c) => Some(c.kernel.0),
            _ => None,
        })
        .collect();
    assert!(kernels.iter().all(|&k| k == 3), "{kernels:?}");
    let nin = build("fmnist_nin");
    assert_eq!(count(&nin, |l| matches!(l, Layer::Dense(_))), 0);
    assert!(matches!(
        nin.nodes[nin.output()].layer,
        Layer::GlobalAvgPool
    ));
    let googlenet = build("fmnist_googlenet");
    assert_eq!(googlenet.outputs.len(), 3, "main and two auxiliary heads");
    assert_eq!(count(&googlenet, |l| matches!(l, Layer::Concat)), 3);
    let (resnet, plain) = (build("fmnist_resnet"), build("fmnist_plain"));
    let is_conv = |l: &Layer| matches!(l, Layer::Conv2d(c) if c.kernel.0 == 3);
    // Same depth (20 weighted layers: 19 3x3 convolutions and the classifier), shortcuts
    // only in the residual one, projections where the shape changes.
    assert_eq!((count(&resnet, is_conv), count(&plain, is_conv)), (19, 19));
    assert_eq!(count(&resnet, |l| matches!(l, Layer::Add)), 9);
    assert_eq!(count(&plain, |l| matches!(l, Layer::Add)), 0);
    let projection = |l: &Layer| matches!(l, Layer::Conv2d(c) if c.kernel.0 == 1);
    assert_eq!(count(&resnet, projection), 2);
    for f in FAMILIES {
        assert_eq!(
            TrainConfig::for_model(f.model).unwrap(),
            TrainConfig::for_model("fmnist_vgg").unwrap()
        );
    }
}

/// Every shipped family reaches the accuracy its run record holds (+-0.5%) on the 10,000
/// Fashion-MNIST test images; the record names the command and lists at least four
/// checkpoints, whose files are shipped and load.
#[test]
fn shipped_families_reach_their_recorded_accuracy() {
    let (_, test): (Dataset, Dataset) =
        t::load_fashion_mnist(t::FASHION_MNIST_DIR).unwrap_or_else(|e| {
            panic!("Fashion-MNIST is needed: `apt-get install dataset-fashion-mnist` ({e})")
        });
    for f in FAMILIES {
        let name = f.model;
        let record = shipped_record(name);
        assert_eq!(record.command, format!("convscope train {name}"));
        assert_eq!(
            record.config,
            TrainConfig::for_model(name).unwrap(),
            "{name}"
        );
        assert_eq!(record.epochs.len(), record.config.epochs);
        assert_eq!((record.train_images, record.test_images), (60_000, 10_000));
        let net = build(name);
        let bytes = std::fs::read(weights_path(name)).unwrap();
        let weights = load_safetensors(&bytes, &net).unwrap();
        let accuracy = t::evaluate(&net, &weights, &test).unwrap().fraction();
        eprintln!("{name}: {accuracy} (recorded {})", record.test_accuracy);
        assert!(
            (accuracy - record.test_accuracy).abs() <= 0.005,
            "{name}: {accuracy} against the recorded {}",
            record.test_accuracy
        );
        assert!(accuracy > 0.8, "{name}: {accuracy}");
        assert!(
            record.checkpoints.len() >= 4,
            "{name}: {:?}",
            record.checkpoints
        );
        for c in &record.checkpoints {
            let path = weights_path(name).with_file_name(&c.file);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            load_safetensors(&bytes, &net).unwrap();
        }
    }
}

/// He et al. 2015, Fig. 1: with the same depth, the plain network's training error is higher
/// than the residual one's; here in the shipped records, after the last epoch.
#[test]
fn residual_network_trains_to_lower_error_than_its_plain_twin() {
    let [plain, residual] = DEGRADATION_PAIR.map(shipped_record);
    let last_error = |r: &RunRecord| 1.0 - r.epochs.last().unwrap().train_accuracy;
    let (p, r) = (last_error(&plain), last_error(&residual));
    assert!(r < p, "residual training error {r} against plain {p}");
    assert_eq!(plain.config, residual.config);
}

/// The table rows: costs from the analysis module, accuracy and curves from the records.
#[test]
fn family_rows_hold_costs_and_curves() {
    for f in FAMILIES {
        let record = shipped_record(f.model);
        let row = family_row(f.model, Some(&record)).unwrap();
        let net = build(f.model);
        let a = convscope::analysis::analyze(&net, 28, 28).unwrap();
        assert_eq!((row.params, row.macs), (a.totals.params, a.totals.macs));
        assert_eq!(row.params, net.params() as u64);
        assert_eq!(row.test_accuracy, Some(record.test_accuracy));
        assert_eq!(row.curve.len(), record.epochs.len());
        let last = row.curve.last().unwrap();
        assert_eq!(
            last.train_error,
            1.0 - record.epochs.last().unwrap().train_accuracy
        );
    }
    assert!(family_row("lab_k5", None).is_err());
}

/// `lab --families --json`: every family with recorded accuracy and measured times.
#[test]
fn lab_families_json_has_every_family_and_times() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(["lab", "--families", "--json"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["families"].as_array().unwrap();
    assert_eq!(rows.len(), FAMILIES.len());
    for (row, f) in rows.iter().zip(FAMILIES) {
        assert_eq!(row["model"], f.model);
        assert_eq!(
            row["test_accuracy"].as_f64().unwrap() as f32,
            shipped_record(f.model).test_accuracy
        );
        assert!(row["cpu"]["ms"].as_f64().unwrap() > 0.0, "{row}");
        // The GPU column is measured where an adapter exists (lavapipe in CI).
        if let Some(gpu) = row["gpu"]["ms"].as_f64() {
            assert!(gpu > 0.0, "{row}");
        } else {
            assert!(v["gpu_adapter"]
                .as_str()
                .unwrap()
                .starts_with("unavailable"));
        }
    }
}
