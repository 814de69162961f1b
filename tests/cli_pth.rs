//! The tool with PyTorch checkpoints: `classify --weights FILE.pth` loads a torch.save'd
//! state dict and says where it came from; a truncated or a wrong-model checkpoint fails
//! with a message naming the file and what is wrong; `eval --weights` takes one too.

use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the tool runs")
}

const PTH: &str = "tests/fixtures/pth/lab_k5.pth";

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn classify_takes_a_pth_and_names_its_format() {
    let image = std::env::temp_dir().join("convscope_cli_pth.png");
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * 9 + y * 3) % 256) as u8]))
        .save(&image)
        .unwrap();
    let out = convscope(&[
        "classify",
        image.to_str().unwrap(),
        "--model",
        "lab_k5",
        "--weights",
        PTH,
        "--cpu",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("weights: tests/fixtures/pth/lab_k5.pth: trained weights (a PyTorch checkpoint, zip format)"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" p=")).count(),
        5,
        "{stdout}"
    );
}

#[test]
fn truncated_and_wrong_model_checkpoints_fail_with_a_message() {
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PTH)).unwrap();
    let cut = std::env::temp_dir().join("convscope_cli_cut.pth");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let image = std::env::temp_dir().join("convscope_cli_cut.png");
    image::GrayImage::new(28, 28).save(&image).unwrap();
    let out = convscope(&[
        "classify",
        image.to_str().unwrap(),
        "--model",
        "lab_k5",
        "--weights",
        cut.to_str().unwrap(),
        "--cpu",
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "PyTorch checkpoint: the file starts like a zip archive but cannot be read as one"
        ),
        "{stderr}"
    );
    let out = convscope(&["eval", "lenet5", "--weights", PTH]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the weights do not fit model `lenet5`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unexpected tensor `stem.weight` (8x1x3x3)"),
        "{stderr}"
    );
}
