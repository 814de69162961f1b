//! torchvision's own networks saved by `torch.save` (zip checkpoints) load into the zoo's
//! torchvision-layout models and classify as torch does: resnet18, alexnet, vgg11_bn and
//! googlenet_torchvision, with the same tensors as the safetensors file written from the
//! same state dict, and the logits torch 1.13 computed when the fixtures were made.
//!
//! The fixtures are too big to commit (vgg11_bn is 532 MB): `scripts/test.sh` makes them
//! with `/usr/bin/python3 scripts/fixtures/make_pth.py large .cache/pth` (Debian's
//! python3-torch and python3-torchvision, installed by `scripts/setup.sh`) and sets
//! CONVSCOPE_PTH_DIR, so a missing fixture fails there; a bare `cargo test` without them
//! skips with a note.

mod common;

use common::assert_same_output;
use convscope::engine::{Backend, Engine, Quiet};
use convscope::fastcpu::FastPlan;
use convscope::tensor::Tensor;
use convscope::weights::{decode_f32, expected_tensors, load_weights, TorchError, WeightsError};
use pollster::block_on;
use safetensors::SafeTensors;
use std::path::PathBuf;

/// The fixtures' folder, or `None` (with a note) when they were never made here.
fn fixtures() -> Option<PathBuf> {
    let (dir, required) = match std::env::var_os("CONVSCOPE_PTH_DIR") {
        Some(d) => (PathBuf::from(d), true),
        None => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/pth"),
            false,
        ),
    };
    let complete = ["resnet18", "alexnet", "vgg11_bn", "googlenet_torchvision"]
        .iter()
        .all(|m| dir.join(format!("{m}_io.safetensors")).exists())
        && dir.join("resnet18_wrapped.pth").exists();
    match (complete, required) {
        (true, _) => Some(dir),
        (false, true) => panic!(
            "CONVSCOPE_PTH_DIR={} lacks the fixtures: run /usr/bin/python3 scripts/fixtures/make_pth.py large {}",
            dir.display(),
            dir.display()
        ),
        (false, false) => {
            eprintln!("note: no .cache/pth fixtures (scripts/test.sh makes them); skipping");
            None
        }
    }
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A tensor of a safetensors file as f32.
fn tensor(file: &SafeTensors, name: &str) -> Tensor {
    let view = file
        .tensor(name)
        .unwrap_or_else(|e| panic!("`{name}`: {e}"));
    Tensor::new(view.shape().to_vec(), decode_f32(view.data()))
}

/// `model`'s checkpoint loads into the zoo model `model` with exactly the safetensors file's
/// values, and the fast CPU engine's logits match torch's on the recorded input.
fn loads_and_classifies_like_torch(model: &str) {
    let Some(dir) = fixtures() else { return };
    let net = convscope::zoo::build(model).unwrap();
    let (weights, notes) = {
        let pth = read(dir.join(format!("{model}.pth")));
        load_weights(&pth, &net).unwrap_or_else(|e| panic!("{model}: {e}"))
    };
    assert_eq!(weights.tensors.len(), expected_tensors(&net).len());
    {
        let st_bytes = read(dir.join(format!("{model}.safetensors")));
        let st = SafeTensors::deserialize(&st_bytes).unwrap();
        for (name, t) in &weights.tensors {
            assert_eq!(
                t,
                &tensor(&st, name),
                "{model}: `{name}` differs from safetensors"
            );
        }
    }
    if model == "googlenet_torchvision" {
        // torchvision's GoogLeNet checkpoints carry the auxiliary classifiers
        assert_eq!(
            notes,
            vec!["ignored modules the model does not have: `aux1` (9 tensors), `aux2` (9 tensors)"]
        );
    } else {
        assert!(notes.is_empty(), "{notes:?}");
    }
    let io_bytes = read(dir.join(format!("{model}_io.safetensors")));
    let io = SafeTensors::deserialize(&io_bytes).unwrap();
    let (input, torch_logits) = (tensor(&io, "input"), tensor(&io, "logits"));
    let mut plan = FastPlan::new(&net, &weights, 224, 224).unwrap();
    plan.forward(&input).unwrap();
    let logits = plan.read(net.output()).unwrap();
    // torch 1.13's float32 logits of the same weights on the same input
    assert_same_output(model, &logits.data, &torch_logits.data);
}

#[test]
fn resnet18_checkpoint_classifies_like_torch() {
    loads_and_classifies_like_torch("resnet18");
}

#[test]
fn alexnet_checkpoint_classifies_like_torch() {
    loads_and_classifies_like_torch("alexnet");
}

#[test]
fn vgg11_bn_checkpoint_classifies_like_torch() {
    loads_and_classifies_like_torch("vgg11_bn");
}

#[test]
fn googlenet_checkpoint_with_aux_heads_classifies_like_torch() {
    loads_and_classifies_like_torch("googlenet_torchvision");
}

#[test]
fn a_wrapped_training_checkpoint_classifies_like_the_safetensors_file_in_the_engine() {
    let Some(dir) = fixtures() else { return };
    let picture = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(240, 260, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    }));
    let engine = block_on(Engine::new(Backend::Cpu));
    let classify = |bytes: &[u8]| {
        let report = block_on(engine.load_model("resnet18", Some(bytes), &mut Quiet)).unwrap();
        (
            report.weights,
            block_on(engine.classify(&picture, &mut Quiet)).unwrap(),
        )
    };
    // {"model": {"module." + name: tensor}, "optimizer": {... momentum buffers ...}, "epoch": 90}
    let (note, wrapped) = classify(&read(dir.join("resnet18_wrapped.pth")));
    assert_eq!(note, "trained weights (a PyTorch checkpoint, zip format; the state dict under `model`; the `module.` prefix (DataParallel) removed from its 122 tensor names)");
    let (note, plain) = classify(&read(dir.join("resnet18.safetensors")));
    assert_eq!(note, "trained weights");
    let top = |c: &convscope::engine::report::Classification| {
        c.top5
            .iter()
            .map(|p| (p.class, p.logit))
            .collect::<Vec<_>>()
    };
    // the same weights: the same classes and bit-identical logits
    assert_eq!(top(&wrapped), top(&plain));
}

#[test]
fn truncated_and_wrong_model_checkpoints_say_what_is_wrong() {
    let Some(dir) = fixtures() else { return };
    let pth = read(dir.join("resnet18.pth"));
    let net = convscope::zoo::build("resnet18").unwrap();
    let cut = load_weights(&pth[..pth.len() / 2], &net).unwrap_err();
    assert!(
        matches!(cut, WeightsError::Torch(TorchError::Zip { .. })),
        "{cut:?}"
    );
    assert!(cut.to_string().contains("is it complete?"), "{cut}");
    let wrong = load_weights(&pth, &convscope::zoo::build("resnet34").unwrap()).unwrap_err();
    let text = wrong.to_string();
    assert!(
        text.contains("missing tensor `layer1.2.conv1.weight` (expected 64x64x3x3)"),
        "{text}"
    );
}
