//! `classify`: one image through a model on the GPU (or the CPU reference), top-5 printed.

use super::{assets_dir, model, CliError};
use convscope::cpu::{self, top_k};
use convscope::gpu::{GpuContext, Plan, PlanOptions};
use convscope::labels::{Labels, FASHION_MNIST};
use convscope::model::Network;
use convscope::predict::scores;
use convscope::weights::{load_safetensors, Weights};
use convscope::zoo;
use std::path::{Path, PathBuf};

/// Where the shipped weights of `name` live.
pub fn shipped_weights(name: &str) -> PathBuf {
    assets_dir()
        .join("weights")
        .join(format!("{name}.safetensors"))
}

/// Weights from `file`, else the shipped file, else seeded random weights (the flag says which).
pub fn weights_for(net: &Network, file: Option<&Path>) -> Result<(Weights, String), CliError> {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => {
            let p = shipped_weights(&net.name);
            if !p.exists() {
                let note = format!(
                    "random weights: no trained weights for {} (looked for {})",
                    net.name,
                    p.display()
                );
                return Ok((Weights::random(net, 0), note));
            }
            p
        }
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))?;
    let weights = load_safetensors(&bytes, net)
        .map_err(|e| CliError::Weights(path.display().to_string(), e))?;
    Ok((weights, format!("weights: {}", path.display())))
}

/// The class names of a model's outputs, if they can be found.
pub fn class_names(labels: Labels) -> Option<Vec<String>> {
    match labels {
        Labels::FashionMnist => Some(FASHION_MNIST.iter().map(|s| s.to_string()).collect()),
        Labels::ImageNet => std::fs::read_to_string(assets_dir().join("labels/imagenet.txt"))
            .ok()
            .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| l.len() == 1000),
    }
}

/// Read and decode an image file, with a message a person can act on.
pub fn read_image(path: &Path) -> Result<image::DynamicImage, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))?;
    if bytes.is_empty() {
        return Err(CliError::Image(
            path.display().to_string(),
            "the file is empty".into(),
        ));
    }
    image::load_from_memory(&bytes)
        .map_err(|e| CliError::Image(path.display().to_string(), e.to_string()))
}

pub fn classify(
    image: &Path,
    name: &str,
    weights_file: Option<&Path>,
    use_cpu: bool,
) -> Result<(), CliError> {
    let net = model(name)?;
    let entry = zoo::entry(name).expect("model() found it");
    let picture = read_image(image)?;
    let input = entry.preprocess.apply(&picture);
    let (weights, note) = weights_for(&net, weights_file)?;
    println!("{note}");
    let out = net.output();
    let output = if use_cpu {
        println!("path: CPU reference");
        cpu::forward(&net, &weights, &input)?.swap_remove(out)
    } else {
        let ctx = pollster::block_on(GpuContext::new())?;
        println!("path: GPU, {}", ctx.describe());
        let (h, w) = (input.shape[1], input.shape[2]);
        let plan = pollster::block_on(Plan::new(
            &ctx,
            &net,
            &weights,
            h,
            w,
            PlanOptions::default(),
        ))?;
        plan.forward(&ctx, &input)?;
        pollster::block_on(plan.read(&ctx, out))?
    };
    let (logits, probs) = scores(&net, &output.data);
    let names = class_names(entry.labels);
    if names.is_none() {
        println!("(no class names: run the set-up to produce assets/labels/imagenet.txt)");
    }
    for (rank, (class, logit)) in top_k(&logits, 5).into_iter().enumerate() {
        let label = names
            .as_ref()
            .and_then(|n| n.get(class))
            .map_or("", String::as_str);
        println!(
            "{}. {:>4} {:<28} p={:.4} logit={:.4}",
            rank + 1,
            class,
            label,
            probs[class],
            logit
        );
    }
    Ok(())
}
