//! `convscope evolution`: the index JSON (per checkpoint: epoch and test accuracy as the run
//! record has them, per unit the input and activation the engine's column gives for the same
//! inputs, the files) and the PNGs it writes (the filter mosaic is the engine's picture), and
//! a clear message for a bad node or a model without checkpoints.

use convscope::engine::evolution::CheckpointWeights;
use convscope::engine::{Backend, Engine, Quiet};
use convscope::preprocess::GreyscaleFrame;
use convscope::train::{load_fashion_mnist, RunRecord, FASHION_MNIST_DIR};
use pollster::block_on;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MODEL: &str = "lab_first_alexnet";
const IMAGES: usize = 100;

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

fn weights_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/weights")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "convscope-cli-evolution-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_index_lists_each_checkpoint_with_the_engines_choices() {
    let out = scratch("index");
    let dir = out.display().to_string();
    let limit = IMAGES.to_string();
    let run = convscope(&[
        "evolution",
        "--model",
        MODEL,
        "--node",
        "relu2",
        "--channels",
        "0,4",
        "--limit",
        &limit,
        "--cpu",
        "--out",
        &dir,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["inputs"], IMAGES);
    assert_eq!(index["node"], "relu2");
    let record_text = std::fs::read_to_string(weights_dir().join(format!("{MODEL}.run.json")));
    let record = RunRecord::from_json(&record_text.unwrap()).unwrap();
    let columns = index["checkpoints"].as_array().unwrap();
    assert_eq!(columns.len(), record.checkpoints.len());
    // The same inputs through the engine directly.
    let (_, test) = load_fashion_mnist(FASHION_MNIST_DIR).unwrap();
    let net = convscope::zoo::build(MODEL).unwrap();
    let frame = GreyscaleFrame::for_network(&net);
    let inputs: Vec<_> = (0..IMAGES)
        .map(|i| frame.image(test.image(i), test.rows, test.cols))
        .collect();
    let engine = block_on(Engine::new(Backend::Cpu));
    for (column, c) in columns.iter().zip(&record.checkpoints) {
        assert_eq!(column["epoch"], c.epoch);
        assert_eq!(
            column["test_accuracy"].as_f64().unwrap() as f32,
            c.test_accuracy
        );
        let bytes = std::fs::read(weights_dir().join(&c.file)).unwrap();
        let checkpoint = CheckpointWeights {
            epoch: c.epoch,
            test_accuracy: c.test_accuracy,
            bytes: &bytes,
        };
        let direct = block_on(engine.evolution_column(
            MODEL,
            &checkpoint,
            "relu2",
            &[0, 4],
            &inputs,
            &mut Quiet,
        ))
        .unwrap();
        let units = column["units"].as_array().unwrap();
        assert_eq!(units.len(), 2);
        for (u, d) in units.iter().zip(&direct.units) {
            assert_eq!(u["channel"], d.channel);
            assert_eq!(u["image"], d.image);
            assert_eq!(u["value"].as_f64().unwrap() as f32, d.value);
            for key in ["patch_png", "projection_png"] {
                let png = image::open(out.join(u[key].as_str().unwrap())).unwrap();
                assert_eq!(png.width() as usize, direct.patch_width);
            }
        }
        let filters = direct.filters.unwrap();
        let png = image::open(out.join(column["filters_png"].as_str().unwrap()))
            .unwrap()
            .to_rgba8();
        assert_eq!(png.into_raw(), filters.rgba, "epoch {}: filters", c.epoch);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_requests_get_clear_messages() {
    let out = scratch("bad");
    let dir = out.display().to_string();
    let run = convscope(&[
        "evolution",
        "--model",
        MODEL,
        "--node",
        "nowhere",
        "--limit",
        "5",
        "--out",
        &dir,
    ]);
    assert!(!run.status.success());
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(message.contains("nowhere"), "{message}");
    // A record that lists no checkpoints.
    std::fs::create_dir_all(&out).unwrap();
    let text = std::fs::read_to_string(weights_dir().join(format!("{MODEL}.run.json")));
    let mut record = RunRecord::from_json(&text.unwrap()).unwrap();
    record.checkpoints.clear();
    let bare = out.join("bare.run.json");
    std::fs::write(&bare, record.to_json()).unwrap();
    let bare = bare.display().to_string();
    let run = convscope(&[
        "evolution",
        "--model",
        MODEL,
        "--record",
        &bare,
        "--node",
        "conv1",
        "--limit",
        "5",
        "--out",
        &dir,
    ]);
    assert!(!run.status.success());
    let message = String::from_utf8_lossy(&run.stderr);
    assert!(message.contains("--checkpoints"), "{message}");
    let _ = std::fs::remove_dir_all(&out);
}
