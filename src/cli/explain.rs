//! `explain`: one explanation of one image (gradient, guided backprop, deconvnet, Grad-CAM or
//! occlusion) through the engine core, written as a float32 `.npy` array and a PNG of the map
//! over the input beside it.

use super::classify::{load_model, read_image};
use super::heatmap::{overlay, Normalise};
use super::npy::write_npy;
use super::CliError;
use convscope::engine::explain::{ExplainRequest, Method};
use convscope::engine::{Backend, Engine, Quiet};
use pollster::block_on;
use std::path::PathBuf;

/// The command line's settings of `explain`.
#[derive(clap::Args)]
pub struct ExplainArgs {
    image: PathBuf,
    #[arg(long)]
    model: String,
    /// A safetensors file (default: the shipped weights, else random weights, said so).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Run on the CPU (the f64 reference; occlusion on the fast CPU engine). Default: the GPU
    /// where an adapter is found, the CPU where not.
    #[arg(long)]
    cpu: bool,
    /// gradient, guided, deconvnet, gradcam or occlusion.
    #[arg(long)]
    method: String,
    /// Class to explain (default: the top-1).
    #[arg(long)]
    class: Option<usize>,
    /// A node name as `convscope summary` prints it.
    #[arg(long)]
    node: Option<String>,
    #[arg(long)]
    channel: Option<usize>,
    /// Deconvnet's unit position Y,X (default: the channel's strongest activation).
    #[arg(long)]
    at: Option<String>,
    /// Occlusion patch side (default 32 at 224x224, scaled to the input).
    #[arg(long)]
    patch: Option<usize>,
    /// Occlusion stride (default 16 at 224x224, scaled to the input).
    #[arg(long)]
    stride: Option<usize>,
    /// The .npy to write; the PNG goes beside it.
    #[arg(long)]
    out: PathBuf,
}

/// Parse `Y,X`.
fn parse_at(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || CliError::BadArgument(format!("bad --at `{s}`: expected Y,X, e.g. 3,5"));
    let (y, x) = s.split_once(',').ok_or_else(bad)?;
    Ok((
        y.trim().parse().map_err(|_| bad())?,
        x.trim().parse().map_err(|_| bad())?,
    ))
}

pub fn explain(args: ExplainArgs) -> Result<(), CliError> {
    let method = Method::parse(&args.method).ok_or_else(|| {
        CliError::BadArgument(format!(
            "unknown method `{}`: use gradient, guided, deconvnet, gradcam or occlusion",
            args.method
        ))
    })?;
    let request = ExplainRequest {
        class: args.class,
        node: args.node,
        channel: args.channel,
        at: args.at.as_deref().map(parse_at).transpose()?,
        patch: args.patch,
        stride: args.stride,
    };
    let picture = read_image(&args.image)?;
    // The backward passes run GPU-first (the reference as fallback); --cpu: on the CPU.
    let backend = if args.cpu { Backend::Cpu } else { Backend::Gpu };
    let engine = block_on(Engine::new(backend));
    let (load, _) = load_model(&engine, &args.model, args.weights.as_deref())?;
    let started = std::time::Instant::now();
    let result = block_on(engine.explain(&picture, method, &request, &mut Quiet))?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    write_npy(&args.out, &result.shape, &result.values)?;
    let how = match method {
        Method::Occlusion => Normalise::Range,
        _ => Normalise::Magnitude,
    };
    let png = args.out.with_extension("png");
    overlay(&result.input, &result.shape, &result.values, how)
        .save(&png)
        .map_err(|e| CliError::Io(png.display().to_string(), e.to_string()))?;
    let finite = result.values.iter().copied().filter(|v| v.is_finite());
    let min = finite.clone().fold(f32::INFINITY, f32::min);
    let max = finite.fold(f32::NEG_INFINITY, f32::max);
    println!("{}", load.weights);
    let backend = match result.backend {
        "cpu" => "fast CPU engine",
        "webgpu" => "GPU",
        _ => "CPU reference",
    };
    println!("method: {} (on the {backend}, {ms:.0} ms)", method.name());
    if method != Method::Deconvnet {
        println!("class: {} {}", result.class, result.class_name);
    }
    if let Some(node) = &result.node {
        let role = if method == Method::Occlusion {
            "watched node"
        } else {
            "node"
        };
        println!("{role}: {node}");
    }
    if let Some(u) = result.unit {
        println!("unit: channel {} at ({},{})", u.channel, u.y, u.x);
    }
    println!("shape: {:?}  min {min}  max {max}", result.shape);
    println!("wrote {} and {}", args.out.display(), png.display());
    println!(
        "picture: the input in grey, half blended with the map in the hot colormap (black-red-yellow-white), {}",
        match how {
            Normalise::Range => "scaled (v - min) / (max - min)",
            Normalise::Magnitude => "scaled |v| / max |v| (largest over channels)",
        }
    );
    Ok(())
}
