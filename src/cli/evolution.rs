//! `evolution`: how a trained model's features grow during training (Zeiler & Fergus 2013,
//! Fig. 4). For each checkpoint its run record lists, the engine's column
//! (`Engine::evolution_column`): the first-layer filters, and per chosen channel of a node the
//! dataset's input that excites it most with the unit's deconvnet projection; written as PNGs
//! and an index JSON.

use super::classify::shipped_weights;
use super::top9::load_inputs;
use super::CliError;
use convscope::engine::evolution::{evolution_plan, CheckpointWeights, EvolutionColumn};
use convscope::engine::{Backend, Engine, Quiet};
use convscope::tensor::Tensor;
use convscope::train::RunRecord;
use convscope::zoo;
use pollster::block_on;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct EvolutionArgs {
    /// A zoo model whose run record lists checkpoints (`convscope train M --checkpoints ...`).
    #[arg(long)]
    model: String,
    /// The run record (default: the shipped one, assets/weights/<model>.run.json); the
    /// checkpoints are read from its directory.
    #[arg(long)]
    record: Option<PathBuf>,
    /// A node name as `convscope summary` prints it.
    #[arg(long)]
    node: String,
    /// Channels to follow, comma-separated (default: the first three).
    #[arg(long, value_delimiter = ',')]
    channels: Vec<usize>,
    /// fashion-test (the default: the 10,000 test images) or a folder of images.
    #[arg(long)]
    dataset: Option<String>,
    /// Rank the first N inputs only (the page ranks the first 100 test images).
    #[arg(long)]
    limit: Option<usize>,
    /// Project on the CPU reference (default: the GPU, the reference as fallback).
    #[arg(long)]
    cpu: bool,
    /// The folder to write the PNGs and index.json to.
    #[arg(long)]
    out: PathBuf,
}

fn io(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Io(path.display().to_string(), e.to_string())
}

/// RGBA bytes as a PNG.
fn save_rgba(path: &Path, width: usize, height: usize, rgba: &[u8]) -> Result<(), CliError> {
    image::RgbaImage::from_raw(width as u32, height as u32, rgba.to_vec())
        .expect("the engine's pictures fit their size")
        .save(path)
        .map_err(|e| io(path, e))
}

/// Write one column's pictures; its entry in the index.
fn write_column(out: &Path, c: &EvolutionColumn) -> Result<serde_json::Value, CliError> {
    let filters = match &c.filters {
        Some(f) => {
            let file = format!("epoch{}_filters.png", c.epoch);
            save_rgba(&out.join(&file), f.width, f.height, &f.rgba)?;
            Some(file)
        }
        None => None,
    };
    let size = 4 * c.patch_height * c.patch_width;
    let mut units = Vec::new();
    for (k, u) in c.units.iter().enumerate() {
        let patch = format!("epoch{}_c{}_patch.png", c.epoch, u.channel);
        let projection = format!("epoch{}_c{}_projection.png", c.epoch, u.channel);
        let (h, w) = (c.patch_height, c.patch_width);
        save_rgba(&out.join(&patch), w, h, &c.patches[k * size..][..size])?;
        save_rgba(
            &out.join(&projection),
            w,
            h,
            &c.projections[k * size..][..size],
        )?;
        let mut value = serde_json::to_value(u).expect("plain data serialises");
        value["patch_png"] = json!(patch);
        value["projection_png"] = json!(projection);
        units.push(value);
    }
    Ok(json!({
        "epoch": c.epoch,
        "test_accuracy": c.test_accuracy,
        "filters": c.filters,
        "filters_png": filters,
        "projection_backend": c.projection_backend,
        "units": units,
    }))
}

/// The run record `args` name (default: the shipped one) and where it is.
fn read_record(args: &EvolutionArgs) -> Result<(PathBuf, RunRecord), CliError> {
    let path = args
        .record
        .clone()
        .unwrap_or_else(|| RunRecord::path_for(&shipped_weights(&args.model)));
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    let record = RunRecord::from_json(&text).map_err(|e| io(&path, e))?;
    if record.model != args.model {
        return Err(CliError::BadArgument(format!(
            "{} is the run record of {}, not {}",
            path.display(),
            record.model,
            args.model
        )));
    }
    Ok((path, record))
}

pub fn evolution(args: EvolutionArgs) -> Result<(), CliError> {
    let entry =
        zoo::entry(&args.model).ok_or_else(|| CliError::UnknownModel(args.model.clone()))?;
    let (record_path, record) = read_record(&args)?;
    let plan = evolution_plan(&record)?;
    let net = (entry.build)();
    let dataset = args.dataset.as_deref().unwrap_or("fashion-test");
    let source = load_inputs(dataset, entry.preprocess, &net)?;
    let count = args.limit.unwrap_or(usize::MAX).min(source.len());
    let inputs: Vec<Tensor> = (0..count).map(|i| source.get(i)).collect();
    let backend = if args.cpu { Backend::Cpu } else { Backend::Gpu };
    let engine = block_on(Engine::new(backend));
    std::fs::create_dir_all(&args.out).map_err(|e| io(&args.out, e))?;
    let dir = record_path.parent().unwrap_or(Path::new("."));
    let start = Instant::now();
    let mut columns = Vec::new();
    for c in &plan.checkpoints {
        let path = dir.join(&c.file);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let checkpoint = CheckpointWeights {
            epoch: c.epoch,
            test_accuracy: c.test_accuracy,
            bytes: &bytes,
        };
        let column = block_on(engine.evolution_column(
            &args.model,
            &checkpoint,
            &args.node,
            &args.channels,
            &inputs,
            &mut Quiet,
        ))?;
        let units: Vec<String> = column
            .units
            .iter()
            .map(|u| format!("c{} <- input {} ({:.3})", u.channel, u.image, u.value))
            .collect();
        println!(
            "epoch {:>3}  test {:.2}%  {}",
            c.epoch,
            100.0 * c.test_accuracy,
            units.join(", ")
        );
        columns.push((write_column(&args.out, &column)?, column.projection_backend));
    }
    let seconds = start.elapsed().as_secs_f32();
    let projected: Vec<&str> = columns.iter().map(|(_, b)| *b).collect();
    let index = json!({
        "model": args.model,
        "node": args.node,
        "dataset": dataset,
        "inputs": count,
        "record": record_path.display().to_string(),
        "ranking_backend": "cpu",
        "projection_backend": projected.first().copied().unwrap_or("reference"),
        "seconds": seconds,
        "normalisation": convscope::engine::evolution::NORMALISATION,
        "checkpoints": columns.into_iter().map(|(c, _)| c).collect::<Vec<_>>(),
    });
    let index_path = args.out.join("index.json");
    let text = serde_json::to_string_pretty(&index).expect("plain data serialises");
    std::fs::write(&index_path, text).map_err(|e| io(&index_path, e))?;
    println!(
        "{} checkpoints of {}, `{}` over {count} inputs of {dataset}: ranked on the fast CPU engine, projected on the {} in {seconds:.1} s; wrote {}",
        plan.checkpoints.len(),
        args.model,
        args.node,
        match projected.first().copied() {
            Some("webgpu") => "GPU",
            _ => "CPU reference",
        },
        index_path.display()
    );
    Ok(())
}
