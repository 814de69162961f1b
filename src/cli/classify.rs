//! `classify`: one image through a model with the engine core the page uses (the GPU, or the
//! CPU reference), top-5 printed.

use super::onnx::{file_name, is_onnx, read, ImportArgs};
use super::{assets_dir, CliError};
use convscope::engine::families_report::FamilyReport;
use convscope::engine::report::{Classification, LoadReport};
use convscope::engine::{Backend, Engine, EngineError, Quiet};
use convscope::labels::{Labels, FASHION_MNIST};
use convscope::zoo;
use pollster::block_on;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where the shipped weights of `name` live.
pub fn shipped_weights(name: &str) -> PathBuf {
    assets_dir()
        .join("weights")
        .join(format!("{name}.safetensors"))
}

/// The safetensors bytes to load: `file`, else the shipped file, else none (the engine then
/// makes seeded random weights); and the file's path, if any.
pub fn weight_bytes(
    name: &str,
    file: Option<&Path>,
) -> Result<(Option<Vec<u8>>, Option<PathBuf>), CliError> {
    let path = match file {
        Some(p) => p.to_path_buf(),
        None => {
            let p = shipped_weights(name);
            if !p.exists() {
                return Ok((None, None));
            }
            p
        }
    };
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))?;
    Ok((Some(bytes), Some(path)))
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

/// Load zoo model `name` into `engine` with `file`'s weights (else the shipped ones, else
/// seeded random ones), and the ImageNet class names if present; the load report and the
/// weights file used.
pub fn load_model(
    engine: &Engine,
    name: &str,
    file: Option<&Path>,
) -> Result<(LoadReport, Option<PathBuf>), CliError> {
    let (bytes, path) = weight_bytes(name, file)?;
    if let Some(names) = class_names(Labels::ImageNet) {
        engine.set_imagenet_labels(&names.join("\n"))?;
    }
    let load =
        block_on(engine.load_model(name, bytes.as_deref(), &mut Quiet)).map_err(|e| {
            match (e, &path) {
                (EngineError::Weights { source, .. }, Some(p)) => {
                    CliError::Weights(p.display().to_string(), *source)
                }
                (e, _) => e.into(),
            }
        })?;
    Ok((load, path))
}

/// Load the ONNX file `name` into `engine` with `import`'s preprocessing and labels; the load
/// report, the file, and whether its classes are ImageNet's.
fn load_onnx(
    engine: &Engine,
    name: &str,
    import: &ImportArgs,
) -> Result<(LoadReport, Option<PathBuf>, bool), CliError> {
    if let Some(names) = class_names(Labels::ImageNet) {
        engine.set_imagenet_labels(&names.join("\n"))?;
    }
    let options = import.options()?;
    let load = block_on(engine.load_onnx(&file_name(name), read(name)?, options, &mut Quiet))
        .map_err(|e| match e {
            EngineError::Import { source, .. } => CliError::Import(name.into(), *source),
            e => e.into(),
        })?;
    let net = engine.network()?;
    let outputs = net.infer_shapes(load.input[1], load.input[2])?[net.output()].len();
    let imagenet = outputs == 1000 && import.labels.is_none();
    Ok((load, Some(PathBuf::from(name)), imagenet))
}

/// What `classify --json` prints.
#[derive(Serialize)]
struct ClassifyReport<'a> {
    load: &'a LoadReport,
    engine: &'a str,
    result: &'a Classification,
    /// With --families: every family view's numbers for this pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    families: Option<FamilyReport>,
}

pub fn classify(
    image: &Path,
    name: &str,
    weights_file: Option<&Path>,
    backend: Backend,
    json: bool,
    families: bool,
    import: &ImportArgs,
) -> Result<(), CliError> {
    let picture = read_image(image)?;
    let engine = block_on(Engine::new(backend));
    let (load, path, imagenet) = if is_onnx(name) {
        load_onnx(&engine, name, import)?
    } else {
        let entry = zoo::entry(name).ok_or_else(|| CliError::UnknownModel(name.into()))?;
        let (load, path) = load_model(&engine, name, weights_file)?;
        (load, path, entry.labels == Labels::ImageNet)
    };
    let result = block_on(engine.classify(&picture, &mut Quiet))?;
    if json {
        let reason = engine.backend_reason();
        let report = ClassifyReport {
            load: &load,
            engine: &reason,
            result: &result,
            families: match families {
                true => Some(block_on(engine.family_report())?),
                false => None,
            },
        };
        let text = serde_json::to_string_pretty(&report).expect("plain data serialises");
        println!("{text}");
        return Ok(());
    }
    match &path {
        Some(p) => println!("weights: {}: {}", p.display(), load.weights),
        None => println!("{}", load.weights),
    }
    println!("engine: {}", engine.backend_reason());
    if let Some(ctx) = engine.gpu() {
        println!("adapter: {}", ctx.describe());
    }
    for note in [&load.gpu_problem, &result.gpu_problem]
        .into_iter()
        .flatten()
        .chain(&load.notes)
    {
        println!("note: {note}");
    }
    if imagenet && class_names(Labels::ImageNet).is_none() {
        println!("(no class names: run the set-up to produce assets/labels/imagenet.txt)");
    }
    let path = match result.backend {
        "cpu" => "fast CPU engine",
        "reference" => "CPU reference",
        _ => "GPU",
    };
    println!("path: {path}");
    for (rank, p) in result.top5.iter().enumerate() {
        println!(
            "{}. {:>4} {:<28} p={:.4} logit={:.4}",
            rank + 1,
            p.class,
            p.name,
            p.probability,
            p.logit
        );
    }
    Ok(())
}
