//! Command implementations; each prints to stdout and returns a `CliError` a person can act on.

mod bench;
mod bench_cpu;
mod bench_explain;
mod bench_explain_gpu;
mod classify;
mod evolution;
mod explain;
mod heatmap;
mod lab;
mod lab_families;
mod npy;
mod onnx;
mod prepare;
mod summary;
mod top9;
mod train;
mod transfer;
mod transfer_last;

pub use bench::bench;
pub use bench_cpu::bench_cpu;
pub use bench_explain::bench_explain;
pub use classify::classify;
pub use evolution::{evolution, EvolutionArgs};
pub use explain::{explain, ExplainArgs};
pub use lab::lab_command;
pub use lab_families::lab_families_command;
pub use onnx::{model_and_weights, ImportArgs};
pub use prepare::prepare;
pub use summary::{compare_kernels, models, si, summary};
pub use top9::{top9, Top9Args};
pub use train::{eval_command, train_command, TrainOptions};
pub use transfer::{transfer, TransferArgs};

use convscope::analysis::CompareError;
use convscope::model::ModelError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("unknown model `{0}`; `convscope models` lists the zoo")]
    UnknownModel(String),
    #[error("bad size `{0}`: expected HxW with positive integers, e.g. 224x224, or one number")]
    BadSize(String),
    #[error("{0}")]
    Model(#[from] ModelError),
    #[error("{0}")]
    Compare(#[from] CompareError),
    #[error("{0}")]
    Gpu(#[from] convscope::gpu::GpuError),
    #[error("{0}")]
    Cpu(#[from] convscope::cpu::CpuError),
    /// Boxed as the engine's errors are.
    #[error("{0}")]
    Fast(Box<convscope::fastcpu::FastError>),
    /// Boxed: the engine's errors are large, and every command returns this type.
    #[error("{0}")]
    Engine(Box<convscope::engine::EngineError>),
    #[error("{0}: {1}")]
    Io(String, String),
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    Explain(#[from] convscope::explain::ExplainError),
    #[error("training failed: {0}")]
    Train(String),
    #[error("{0} is not an image convscope can read: {1}")]
    Image(String, String),
    #[error("{0}: {1}")]
    Weights(String, convscope::weights::WeightsError),
    #[error("{0}: {1}")]
    Import(String, convscope::import::ImportError),
    #[error("unknown preprocessing `{0}`: choose torchvision, caffe, efficientnet or none")]
    UnknownPreprocess(String),
    #[error("{file}: sha256 {found} does not match the expected {expected}; the download is not the file convscope was built for")]
    Checksum {
        file: String,
        expected: &'static str,
        found: String,
    },
}

impl From<convscope::engine::EngineError> for CliError {
    fn from(e: convscope::engine::EngineError) -> Self {
        CliError::Engine(Box::new(e))
    }
}

/// Where weights and labels live: `$CONVSCOPE_ASSETS`, else `assets/` in the source tree.
pub fn assets_dir() -> std::path::PathBuf {
    std::env::var_os("CONVSCOPE_ASSETS")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// Parse `HxW` or `N` (square) into `(h, w)`.
pub fn parse_size(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || CliError::BadSize(s.to_string());
    let parse = |p: &str| {
        p.trim()
            .parse::<usize>()
            .ok()
            .filter(|&v| v > 0 && v <= 1 << 16)
    };
    match s.split_once(['x', 'X']) {
        Some((h, w)) => Ok((parse(h).ok_or_else(bad)?, parse(w).ok_or_else(bad)?)),
        None => parse(s).map(|n| (n, n)).ok_or_else(bad),
    }
}

/// The zoo model called `name`, or the network of the ONNX file `name` (a path ending in
/// `.onnx`).
pub fn model(name: &str) -> Result<convscope::model::Network, CliError> {
    if onnx::is_onnx(name) {
        return Ok(onnx::import_file(name)?.net);
    }
    convscope::zoo::build(name).ok_or_else(|| CliError::UnknownModel(name.to_string()))
}
