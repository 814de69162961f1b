//! `top9`: for channels of a node, the nine inputs of a dataset that excite each most, written
//! as PNGs (the input patch under the unit's receptive field, and its deconvnet projection)
//! with an index JSON.

use super::classify::{read_image, weight_bytes};
use super::heatmap::save_tensor;
use super::CliError;
use convscope::engine::{model_weights, Quiet};
use convscope::explain::{ExplainError, Top9};
use convscope::preprocess::{GreyscaleFrame, Preprocess};
use convscope::tensor::Tensor;
use convscope::train::{load_fashion_mnist, FASHION_MNIST_DIR};
use convscope::zoo;
use pollster::block_on;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Top9Args {
    #[arg(long)]
    model: String,
    #[arg(long)]
    weights: Option<PathBuf>,
    /// A node name as `convscope summary` prints it.
    #[arg(long)]
    node: String,
    /// Channels, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    channels: Vec<usize>,
    /// fashion-test (the default) or a folder of images.
    #[arg(long)]
    dataset: Option<String>,
    /// Use the first N inputs only.
    #[arg(long)]
    limit: Option<usize>,
    /// The folder to write the PNGs and index.json to.
    #[arg(long)]
    out: PathBuf,
}

/// The inputs of a dataset, made on demand.
pub(super) enum Inputs {
    Fashion(convscope::train::Dataset, GreyscaleFrame),
    Folder(Vec<Tensor>),
}

impl Inputs {
    pub(super) fn len(&self) -> usize {
        match self {
            Inputs::Fashion(d, _) => d.len(),
            Inputs::Folder(v) => v.len(),
        }
    }
    pub(super) fn get(&self, i: usize) -> Tensor {
        match self {
            Inputs::Fashion(d, frame) => frame.image(d.image(i), d.rows, d.cols),
            Inputs::Folder(v) => v[i].clone(),
        }
    }
}

/// `fashion-test` (the 10,000 Fashion-MNIST test images, for the 28x28 networks) or a folder
/// of photos, prepared by `preprocess`.
pub(super) fn load_inputs(
    dataset: &str,
    preprocess: Preprocess,
    net: &convscope::model::Network,
) -> Result<Inputs, CliError> {
    if dataset == "fashion-test" {
        if !matches!(preprocess, Preprocess::Grayscale { .. }) {
            return Err(CliError::BadArgument(
                "fashion-test is for the 28x28 networks; give a folder of photos for this model"
                    .into(),
            ));
        }
        let (_, test) = load_fashion_mnist(FASHION_MNIST_DIR)
            .map_err(|e| CliError::Io(FASHION_MNIST_DIR.into(), e.to_string()))?;
        return Ok(Inputs::Fashion(test, GreyscaleFrame::for_network(net)));
    }
    let dir = Path::new(dataset);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::Io(dataset.into(), e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str())
        })
        .collect();
    files.sort();
    let mut inputs = Vec::with_capacity(files.len());
    for f in &files {
        inputs.push(preprocess.apply(&read_image(f)?));
    }
    Ok(Inputs::Folder(inputs))
}

pub fn top9(args: Top9Args) -> Result<(), CliError> {
    let entry =
        zoo::entry(&args.model).ok_or_else(|| CliError::UnknownModel(args.model.clone()))?;
    let net = (entry.build)();
    let node = net.find(&args.node).ok_or_else(|| {
        CliError::from(ExplainError::UnknownNode {
            model: args.model.clone(),
            node: args.node.clone(),
        })
    })?;
    let (bytes, path) = weight_bytes(&args.model, args.weights.as_deref())?;
    let loaded =
        block_on(model_weights(entry, &net, bytes.as_deref(), &mut Quiet)).map_err(|e| {
            match (e, &path) {
                (convscope::engine::EngineError::Weights { source, .. }, Some(p)) => {
                    CliError::Weights(p.display().to_string(), *source)
                }
                (e, _) => e.into(),
            }
        })?;
    let weights = loaded.weights;
    let dataset = args.dataset.as_deref().unwrap_or("fashion-test");
    let inputs = load_inputs(dataset, entry.preprocess, &net)?;
    let count = args.limit.unwrap_or(usize::MAX).min(inputs.len());
    let mut search = Top9::new(
        &net,
        &weights,
        node,
        &args.channels,
        entry.preprocess.output_size(),
    )?;
    for i in 0..count {
        search.add(&inputs.get(i))?;
    }
    let all = search.entries(&net, &weights, |i| inputs.get(i))?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::Io(args.out.display().to_string(), e.to_string()))?;
    let mut channels = Vec::new();
    for (k, list) in all.iter().enumerate() {
        let channel = search.channels()[k];
        let mut entries = Vec::new();
        for (rank, e) in list.iter().enumerate() {
            let patch = format!("c{channel}_{rank}_patch.png");
            let projection = format!("c{channel}_{rank}_projection.png");
            save_tensor(&args.out.join(&patch), &e.patch, false)?;
            save_tensor(&args.out.join(&projection), &e.projection, true)?;
            let mut value = serde_json::to_value(e).expect("plain data serialises");
            value["patch_png"] = json!(patch);
            value["projection_png"] = json!(projection);
            entries.push(value);
        }
        channels.push(json!({ "channel": channel, "entries": entries }));
    }
    let index = json!({
        "model": args.model,
        "node": args.node,
        "dataset": dataset,
        "inputs": count,
        "weights": loaded.note,
        "patch": "the input under the unit's receptive field, zero outside the image; min..max to black..white",
        "projection": "the unit's deconvnet projection cut to the same box; 0 is mid-grey, max |v| the extremes",
        "channels": channels,
    });
    let index_path = args.out.join("index.json");
    let text = serde_json::to_string_pretty(&index).expect("plain data serialises");
    std::fs::write(&index_path, text)
        .map_err(|e| CliError::Io(index_path.display().to_string(), e.to_string()))?;
    println!("{}", loaded.note);
    println!(
        "top-9 of {} channel(s) of `{}` over {count} inputs of {dataset}: wrote {}",
        search.channels().len(),
        args.node,
        index_path.display()
    );
    Ok(())
}
