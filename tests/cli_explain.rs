//! `convscope explain` and `convscope top9`: the .npy files they write (header, shape, values
//! against the library's own result), the PNGs beside them, and clear messages for bad input.

use convscope::cpu::backward::Mode;
use convscope::explain::Explainer;
use convscope::model::Network;
use convscope::weights::Weights;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// A Fashion-MNIST test image shipped with the samples (its class is in fashion-test.txt).
fn image() -> String {
    root()
        .join("assets/photos/fashion-test.png")
        .display()
        .to_string()
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "convscope-cli-explain-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parse a version 1.0 `.npy` holding little-endian float32 in C order: shape and values.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "the header is padded to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.ends_with('\n'));
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    let tuple = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = tuple
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "data length matches the shape"
    );
    (shape, values)
}

/// The zoo's lenet5_modern with its shipped weights, and the sample image as its input.
fn lenet() -> (Network, Weights, convscope::tensor::Tensor) {
    let entry = convscope::zoo::entry("lenet5_modern").unwrap();
    let net = (entry.build)();
    let bytes = std::fs::read(root().join("assets/weights/lenet5_modern.safetensors")).unwrap();
    let loaded = pollster::block_on(convscope::engine::model_weights(
        entry,
        &net,
        Some(&bytes),
        &mut convscope::engine::Quiet,
    ))
    .unwrap();
    let picture = image::open(image()).unwrap();
    let input = entry.preprocess.apply(&picture);
    (net, loaded.weights, input)
}

fn run_ok(args: &[&str]) -> String {
    let out = convscope(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails_with(args: &[&str], message: &str) {
    let out = convscope(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(message),
        "{args:?}: expected `{message}` in: {err}"
    );
}

#[test]
fn explain_writes_what_the_library_computes() {
    let dir = scratch("values");
    let (net, weights, input) = lenet();
    let e = Explainer::new(&net, &weights, &input).unwrap();
    let class = e.top_class();
    let img = image();
    let out = |name: &str| dir.join(name).display().to_string();
    let o = out("guided.npy");
    let text = run_ok(&[
        "explain",
        &img,
        "--model",
        "lenet5_modern",
        "--method",
        "guided",
        // The reference path, compared exactly (tests/explain_gpu.rs compares the GPU's).
        "--cpu",
        "--out",
        &o,
    ]);
    assert!(
        text.contains("method: guided") && text.contains(&format!("class: {class} ")),
        "{text}"
    );
    let (shape, values) = read_npy(Path::new(&o));
    assert_eq!(shape, [1, 28, 28]);
    assert_eq!(values, e.saliency(class, Mode::Guided).unwrap().data);
    assert!(
        dir.join("guided.png").exists(),
        "the picture is written beside the array"
    );

    let o = out("cam.npy");
    run_ok(&[
        "explain",
        &img,
        "--model",
        "lenet5_modern",
        "--method",
        "gradcam",
        "--node",
        "conv2",
        "--class",
        "3",
        "--cpu",
        "--out",
        &o,
    ]);
    let (shape, values) = read_npy(Path::new(&o));
    assert_eq!(shape, [10, 10]);
    let cam = e.grad_cam(net.find("conv2").unwrap(), 3).unwrap();
    let want: Vec<f32> = cam.map.iter().map(|&v| v as f32).collect();
    assert_eq!(values, want);
}

#[test]
fn explain_deconvnet_projects_the_strongest_unit_or_the_one_asked_for() {
    let dir = scratch("deconv");
    let (net, weights, input) = lenet();
    let e = Explainer::new(&net, &weights, &input).unwrap();
    let img = image();
    let out = |name: &str| dir.join(name).display().to_string();
    let o = out("deconv.npy");
    let text = run_ok(&[
        "explain",
        &img,
        "--model",
        "lenet5_modern",
        "--method",
        "deconvnet",
        "--cpu",
        "--node",
        "conv2",
        "--channel",
        "5",
        "--out",
        &o,
    ]);
    let unit = e.unit(net.find("conv2").unwrap(), 5, None).unwrap();
    assert!(
        text.contains(&format!("unit: channel 5 at ({},{})", unit.y, unit.x)),
        "{text}"
    );
    assert_eq!(read_npy(Path::new(&o)).1, e.deconvnet(unit).unwrap().data);
    run_ok(&[
        "explain",
        &img,
        "--model",
        "lenet5_modern",
        "--method",
        "deconvnet",
        "--cpu",
        "--node",
        "conv2",
        "--channel",
        "5",
        "--at",
        "2,7",
        "--out",
        &o,
    ]);
    let unit = e.unit(net.find("conv2").unwrap(), 5, Some((2, 7))).unwrap();
    assert_eq!(read_npy(Path::new(&o)).1, e.deconvnet(unit).unwrap().data);
}

#[test]
fn occlusion_defaults_scale_to_the_input() {
    let dir = scratch("occlusion");
    let o = dir.join("occ.npy").display().to_string();
    run_ok(&[
        "explain",
        &image(),
        "--model",
        "lenet5_modern",
        "--method",
        "occlusion",
        "--out",
        &o,
    ]);
    // 28 pixels: patch 32 * 28 / 224 = 4, stride 2, (28 - 4) / 2 + 1 = 13 per side.
    let (shape, values) = read_npy(Path::new(&o));
    assert_eq!(shape, [13, 13]);
    assert!(
        values.iter().all(|p| (0.0..=1.0).contains(p)),
        "probabilities"
    );
    let o = dir.join("occ8.npy").display().to_string();
    run_ok(&[
        "explain",
        &image(),
        "--model",
        "lenet5_modern",
        "--method",
        "occlusion",
        "--patch",
        "8",
        "--stride",
        "5",
        "--out",
        &o,
    ]);
    assert_eq!(read_npy(Path::new(&o)).0, [5, 5]);
    assert!(dir.join("occ8.png").exists());
}

#[test]
fn bad_explain_input_gets_a_clear_message() {
    let dir = scratch("bad");
    let o = dir.join("x.npy").display().to_string();
    let img = image();
    let cases = [
        ("gradcam --node conv9", "has no node called `conv9`"),
        ("gradcam --node fc1", "needs a node with spatial extent"),
        ("gradcam", "gradcam needs a node"),
        (
            "deconvnet --node conv2 --channel 16",
            "has 16 channels; channel 16 does not exist",
        ),
        ("deconvnet --node conv2", "deconvnet needs a channel"),
        (
            "deconvnet --node conv2 --channel 1 --at 10,0",
            "outside node `conv2`'s 10x10 output",
        ),
        ("deconvnet --node conv2 --channel 1 --at x", "bad --at `x`"),
        ("saliency", "unknown method `saliency`"),
        ("gradient --class 10", "class 10 does not exist"),
        ("occlusion --patch 40", "does not fit the 28x28 input"),
    ];
    for (method, message) in cases {
        let mut args = vec![
            "explain",
            &img,
            "--model",
            "lenet5_modern",
            "--out",
            &o,
            "--method",
        ];
        args.extend(method.split_whitespace());
        fails_with(&args, message);
    }
    assert!(!Path::new(&o).exists(), "nothing is written on an error");
}

#[test]
fn top9_writes_patches_projections_and_an_index() {
    let dir = scratch("top9");
    let out = dir.display().to_string();
    let photos = root().join("assets/photos").display().to_string();
    // The sample folder has fewer than nine images: each channel lists them all.
    let text = run_ok(&[
        "top9",
        "--model",
        "lenet5_modern",
        "--node",
        "conv2",
        "--channels",
        "1,4",
        "--dataset",
        &photos,
        "--out",
        &out,
    ]);
    assert!(text.contains("top-9 of 2 channel(s)"), "{text}");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let channels = index["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 2);
    let inputs = index["inputs"].as_u64().unwrap() as usize;
    assert!(inputs >= 2);
    for c in channels {
        let entries = c["entries"].as_array().unwrap();
        assert_eq!(entries.len(), inputs.min(9));
        let values: Vec<f64> = entries
            .iter()
            .map(|e| e["value"].as_f64().unwrap())
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] >= w[1]),
            "best first: {values:?}"
        );
        for e in entries {
            // conv2's receptive field is 14 pixels.
            assert_eq!(
                (e["height"].as_u64(), e["width"].as_u64()),
                (Some(14), Some(14))
            );
            for key in ["patch_png", "projection_png"] {
                let png = image::open(dir.join(e[key].as_str().unwrap())).unwrap();
                assert_eq!((png.width(), png.height()), (14, 14));
            }
        }
    }
    fails_with(
        &[
            "top9",
            "--model",
            "lenet5_modern",
            "--node",
            "conv2",
            "--channels",
            "16",
            "--dataset",
            &photos,
            "--out",
            &out,
        ],
        "channel 16 does not exist",
    );
    fails_with(
        &[
            "top9",
            "--model",
            "lenet5_modern",
            "--node",
            "nope",
            "--out",
            &out,
        ],
        "has no node `nope`",
    );
}

/// The default dataset: the Fashion-MNIST test set, nine distinct images per channel, the
/// same ranking as the library's search over the same images.
#[test]
fn top9_over_fashion_test_matches_the_library() {
    let dir = scratch("top9-fashion");
    let out = dir.display().to_string();
    run_ok(&[
        "top9",
        "--model",
        "lenet5_modern",
        "--node",
        "conv1",
        "--channels",
        "2",
        "--limit",
        "200",
        "--out",
        &out,
    ]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let got: Vec<u64> = index["channels"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image"].as_u64().unwrap())
        .collect();
    let (net, weights, _) = lenet();
    let (_, test) =
        convscope::train::load_fashion_mnist(convscope::train::FASHION_MNIST_DIR).unwrap();
    let frame = convscope::preprocess::GreyscaleFrame::for_network(&net);
    let mut search = convscope::explain::Top9::new(&net, &weights, 1, &[2], (28, 28)).unwrap();
    for i in 0..200 {
        search
            .add(&frame.image(test.image(i), test.rows, test.cols))
            .unwrap();
    }
    let want: Vec<u64> = search.ranking(0).iter().map(|r| r.1 as u64).collect();
    assert_eq!(got, want);
    let mut distinct = got.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 9, "nine distinct inputs");
}
