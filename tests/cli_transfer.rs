//! `convscope transfer` on a small Fashion-MNIST subset (5 images a class, 40 test images):
//! the head on trained features beats chance and the head on random-weight features is
//! reported beside it, `--train last` retrains the last layers, the head file reloads with
//! the class names, and a second run takes the cached features and writes the same head.

use convscope::engine::transfer::FEATURE_DIM;
use convscope::train::{Head, FASHION_MNIST_CLASSES};
use std::process::{Command, Output};

fn convscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

/// The percentage after `prefix` in `text`'s first line containing it.
fn percent_after(text: &str, prefix: &str) -> f32 {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
        + prefix.len();
    let rest = text[at..].trim_start();
    rest[..rest.find('%').unwrap()].parse().unwrap()
}

#[test]
fn transfer_trains_a_head_that_beats_chance_and_reloads() {
    let dir = std::env::temp_dir().join(format!("convscope-transfer-{}", std::process::id()));
    let (cache, out) = (dir.join("cache"), dir.join("head.safetensors"));
    let args = [
        "transfer",
        "--per-class",
        "5",
        "--test",
        "40",
        "--train",
        "last",
        "--cache",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let first = convscope(&args);
    let text = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let trained = percent_after(&text, "test accuracy of a new head:");
    let random = percent_after(&text, "% on trained features,");
    // Chance is 10% on ten classes; 75% was measured on these 40 images (50% on random features).
    assert!(trained >= 30.0, "trained features: {trained}%\n{text}");
    assert!((0.0..=100.0).contains(&random), "{text}");
    assert_eq!(
        text.matches("last conv + BatchNorm + head retrained")
            .count(),
        2,
        "{text}"
    );
    for line in text.lines().filter(|l| l.contains("head retrained")) {
        let accuracy = percent_after(line, "test accuracy");
        assert!((0.0..=100.0).contains(&accuracy), "{line}");
    }
    let bytes = std::fs::read(&out).unwrap();
    let head =
        Head::from_safetensors(&bytes, FEATURE_DIM, "efficientnet_lite0/_avg_pooling").unwrap();
    assert_eq!(head.classes, FASHION_MNIST_CLASSES);

    let second = dir.join("again.safetensors");
    let mut again_args = args.to_vec();
    *again_args.last_mut().unwrap() = second.to_str().unwrap();
    let again = convscope(&again_args);
    let text = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(again.status.success(), "{text}");
    assert_eq!(text.matches("features from the cache").count(), 4, "{text}");
    assert_eq!(
        percent_after(&text, "test accuracy of a new head:"),
        trained,
        "{text}"
    );
    assert!(
        std::fs::read(&second).unwrap() == bytes,
        "the same features and seed must give the same head file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn transfer_refuses_an_empty_subset() {
    let out = convscope(&["transfer", "--per-class", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--per-class and --test must be at least 1"),
        "{err}"
    );
}
