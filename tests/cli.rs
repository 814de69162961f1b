//! The command-line tool: outputs people and scripts rely on, and its error cases.

use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn models_lists_the_whole_zoo() {
    let out = convscope(&["models"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in convscope::zoo::names() {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing"
        );
    }
}

#[test]
fn summary_json_has_the_documented_fields() {
    let out = convscope(&["summary", "vgg16", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // torchvision's published vgg16 parameter count.
    assert_eq!(v["total_params"], 138_357_544u64);
    assert_eq!(
        v["total_flops"].as_u64().unwrap(),
        2 * v["total_macs"].as_u64().unwrap()
    );
    assert_eq!(v["model"], "vgg16");
    assert_eq!(v["input"], serde_json::json!([3, 224, 224]));
    let pool5 = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "features.30")
        .unwrap();
    for key in [
        "name",
        "kind",
        "output_shape",
        "params",
        "macs",
        "rf_size",
        "rf_stride",
    ] {
        assert!(pool5.get(key).is_some(), "node field {key} missing");
    }
    assert_eq!(pool5["rf_size"], 212);
    assert_eq!(pool5["rf_stride"], 32);
    assert_eq!(pool5["output_shape"], serde_json::json!([512, 7, 7]));
}

#[test]
fn summary_table_states_units() {
    let out = convscope(&["summary", "resnet50", "--input", "160x128"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("3x160x128"));
    assert!(text.contains("multiply-accumulates") && text.contains("= 2 x MACs"));
}

#[test]
fn unknown_model_bad_size_and_small_input_fail_cleanly() {
    let cases: [(&[&str], &str); 5] = [
        (&["summary", "vgg17"], "unknown model `vgg17`"),
        (&["summary", "vgg16", "--input", "224x"], "bad size `224x`"),
        (&["summary", "vgg16", "--input", "0x0"], "bad size `0x0`"),
        (&["summary", "alexnet", "--input", "8x8"], "too small"),
        (
            &[
                "compare-kernels",
                "--in",
                "8",
                "--out",
                "8",
                "--kernel",
                "4",
            ],
            "odd",
        ),
    ];
    for (args, message) in cases {
        let out = convscope(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn classify_rejects_a_non_image_and_an_empty_file() {
    let dir = std::env::temp_dir().join(format!("convscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.png");
    std::fs::write(&text, "not an image at all").unwrap();
    let empty = dir.join("empty.jpg");
    std::fs::write(&empty, "").unwrap();
    for (file, message) in [(&text, "not an image"), (&empty, "empty")] {
        let out = convscope(&[
            "classify",
            file.to_str().unwrap(),
            "--model",
            "lenet5",
            "--cpu",
        ]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(message) && !err.contains("panicked"), "{err}");
    }
}

#[test]
fn compare_kernels_json_matches_vgg_arithmetic() {
    // Simonyan & Zisserman 2014 §2.3: 49C^2 for a 7x7 against 27C^2 for three 3x3.
    let out = convscope(&[
        "compare-kernels",
        "--in",
        "64",
        "--out",
        "64",
        "--size",
        "56x56",
        "--kernel",
        "7",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["large"]["params"], 49 * 64 * 64);
    assert_eq!(v["stacked"]["params"], 27 * 64 * 64);
    assert_eq!(v["stacked"]["rf_size"], 7);
    assert_eq!(v["stacked"]["nonlinearities"], 3);
}

#[test]
fn compare_kernels_time_measures_both_sides_on_the_gpu() {
    let out = convscope(&[
        "compare-kernels",
        "--in",
        "4",
        "--out",
        "4",
        "--size",
        "12x12",
        "--kernel",
        "5",
        "--time",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for side in ["large", "stacked"] {
        let ms = v["gpu"][side]["ms"].as_f64().unwrap();
        assert!(ms.is_finite() && ms > 0.0, "{side}: {ms}");
        assert_eq!(v["gpu"][side]["runs"], 9);
    }
    assert!(v["gpu"]["adapter"].as_str().unwrap().len() > 3);
    // Without --time nothing is measured.
    let plain = convscope(&[
        "compare-kernels",
        "--in",
        "4",
        "--out",
        "4",
        "--kernel",
        "5",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(v.get("gpu").is_none());
}

#[test]
fn lab_json_holds_twins_tricks_and_recorded_accuracies() {
    let out = convscope(&["lab", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let twins = v["twins"].as_array().unwrap();
    assert_eq!(twins.len(), 3);
    assert_eq!(v["tricks"].as_array().unwrap().len(), 6);
    for t in twins {
        for side in ["a", "b"] {
            let s = &t[side];
            let name = s["model"].as_str().unwrap();
            let acc = s["record"]["test_accuracy"].as_f64().unwrap();
            assert!(acc > 0.8, "{name}: {acc}");
            assert!(s["params"].as_u64().unwrap() > 0 && s["macs"].as_u64().unwrap() > 0);
            let first = &s["first_layer"];
            assert_eq!(first["images"], 100, "{name}");
        }
    }
    let first = twins.iter().find(|t| t["twin"]["id"] == "first").unwrap();
    assert_eq!(first["a"]["first_layer"]["kernel"], 9);
    assert_eq!(first["b"]["first_layer"]["stride"], 2);
    let text = convscope(&["lab"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("filters dead"), "{text}");
}

#[test]
fn train_refuses_a_model_without_a_recipe() {
    let out = convscope(&["train", "vgg16"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("`vgg16` has no training recipe"), "{err}");
    assert!(err.contains("lenet5"), "{err}");
}
