//! The tool on ONNX files: `--model FILE.onnx` in summary, classify and bench, with
//! `--preprocess` and `--labels`, and the messages for bad files.

use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/onnx/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn photo() -> String {
    format!("{}/assets/photos/coffee.png", env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn summary_of_an_exported_zoo_model_equals_the_zoos() {
    let json = |model: &str| -> serde_json::Value {
        let out = convscope(&["summary", model, "--json"]);
        assert!(out.status.success(), "{}", text(&out).1);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (mut imported, zoo) = (json(&fixture("lenet5_modern.onnx")), json("lenet5_modern"));
    assert_eq!(imported["model"], "lenet5_modern.onnx");
    imported["model"] = zoo["model"].clone();
    assert_eq!(imported, zoo);
}

#[test]
fn summary_says_when_the_input_size_was_assumed() {
    let out = convscope(&["summary", &fixture("resnet_like_op17.onnx")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("224 assumed") && stdout.contains("3x224x224"),
        "{stdout}"
    );
}

#[test]
fn classify_an_onnx_file_with_labels_and_a_preprocessing() {
    let labels = std::env::temp_dir().join("convscope_cli_onnx_labels.txt");
    let names: Vec<String> = (0..10).map(|i| format!("thing{i}")).collect();
    std::fs::write(&labels, names.join("\n") + "\n").unwrap();
    let model = fixture("alexnet_like_op12.onnx");
    let labels = labels.to_str().unwrap();
    let out = convscope(&[
        "classify",
        &photo(),
        "--model",
        &model,
        "--cpu",
        "--labels",
        labels,
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("torchvision (the default"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" thing")).count(),
        5,
        "{stdout}"
    );
    let caffe = convscope(&[
        "classify",
        &photo(),
        "--model",
        &model,
        "--cpu",
        "--preprocess",
        "caffe",
    ]);
    let (stdout, stderr) = text(&caffe);
    assert!(caffe.status.success(), "{stderr}");
    assert!(
        stdout.contains("preprocessing: caffe") && stdout.contains("class "),
        "{stdout}"
    );
}

#[test]
fn bench_runs_an_onnx_file_on_the_cpu_engine() {
    let model = fixture("mobilenet_like_op17.onnx");
    let out = convscope(&["bench", &model, "--cpu", "--runs", "1", "--no-reference"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("dw1"), "{stdout}");
}

#[test]
fn bad_onnx_use_gets_clear_messages() {
    let model = fixture("alexnet_like_op12.onnx");
    let failing = |args: &[&str]| -> String {
        let out = convscope(args);
        assert!(!out.status.success(), "{args:?} should fail");
        text(&out).1
    };
    let e = failing(&[
        "classify",
        &photo(),
        "--model",
        &model,
        "--preprocess",
        "tf",
    ]);
    assert!(
        e.contains("unknown preprocessing `tf`") && e.contains("caffe"),
        "{e}"
    );
    let three = std::env::temp_dir().join("convscope_cli_onnx_three.txt");
    std::fs::write(&three, "a\nb\nc\n").unwrap();
    let e = failing(&[
        "classify",
        &photo(),
        "--model",
        &model,
        "--cpu",
        "--labels",
        three.to_str().unwrap(),
    ]);
    assert!(e.contains("3 names") && e.contains("10 outputs"), "{e}");
    let e = failing(&["summary", &fixture("bad_elu.onnx")]);
    assert!(
        e.contains("Elu") && e.contains("opset 12") && e.contains("bad_elu.onnx"),
        "{e}"
    );
    let truncated = std::env::temp_dir().join("convscope_cli_onnx_truncated.onnx");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let e = failing(&[
        "classify",
        &photo(),
        "--model",
        truncated.to_str().unwrap(),
        "--cpu",
    ]);
    assert!(
        e.contains("truncated") || e.contains("no initializer"),
        "{e}"
    );
    let e = failing(&["summary", "missing.onnx"]);
    assert!(e.contains("missing.onnx"), "{e}");
}
