//! Why the engine cannot do what it was asked: one error type for every engine call, each
//! variant saying what to do about it.

use crate::cpu::CpuError;
use crate::fastcpu::FastError;
use crate::gpu::GpuError;
use crate::model::ModelError;
use crate::weights::WeightsError;
use thiserror::Error;

/// Why the engine cannot do what it was asked; each says what to do about it.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{file}: {source}")]
    // Boxed as the weights' errors are.
    Import {
        file: String,
        source: Box<crate::import::ImportError>,
    },
    #[error("{file}: its input is {found}; convscope prepares square RGB (3 channels) or greyscale (1 channel) images")]
    ImportedInput { file: String, found: String },
    #[error(
        "the labels file has {found} names for the model's {outputs} outputs: give one name a line"
    )]
    LabelCount { outputs: usize, found: usize },
    #[error("no model called `{name}` in the zoo")]
    UnknownModel { name: String },
    #[error("the run record of {model} lists no checkpoints: train it with `convscope train {model} --checkpoints 1,2,3,6`")]
    NoCheckpoints { model: String },
    #[error("no model is loaded yet: pick one first")]
    NoModel,
    #[error("model `{model}` has no node called `{node}`")]
    UnknownNode { model: String, node: String },
    #[error("nothing has run yet: classify an image first")]
    NothingRun,
    #[error("these weights do not fit {model}: {source}")]
    // Boxed: the largest of the errors, and every call returns this type.
    Weights {
        model: String,
        source: Box<WeightsError>,
    },
    #[error("the CPU reference failed: {0}")]
    Cpu(#[from] CpuError),
    #[error("{0}")]
    Explain(#[from] crate::explain::ExplainError),
    #[error("the CPU engine failed: {0}")]
    Fast(Box<FastError>),
    #[error("the analysis failed: {0}")]
    Analysis(#[from] ModelError),
    #[error("the GPU failed: {0}")]
    Gpu(#[from] GpuError),
    #[error("the GPU device was lost{}: reload the page (or add backend=cpu to the URL's hash to use the CPU reference)", .during.as_ref().map(|d| format!(" {d}")).unwrap_or_default())]
    DeviceLost { during: Option<String> },
    #[error("the image is empty (0 pixels)")]
    EmptyImage,
    #[error("expected {width}x{height}x4 bytes of RGBA, found {found}")]
    RgbaLength {
        width: u32,
        height: u32,
        found: usize,
    },
    #[error(
        "the ImageNet label file has {found} lines, not 1000: run ./scripts/setup.sh to make it"
    )]
    Labels { found: usize },
    #[error("timing the engines failed: {problem}")]
    Timing { problem: String },
    #[error("the tile order must list channels of `{node}` (0..{channels})")]
    TileOrder { node: String, channels: usize },
    #[error("unit ({y}, {x}) is outside `{node}`'s {h}x{w} map")]
    OutsideMap {
        node: String,
        y: usize,
        x: usize,
        h: usize,
        w: usize,
    },
    #[error("`{node}` is a {kind} node; pick a {wanted} node")]
    WrongKind {
        node: String,
        kind: &'static str,
        wanted: &'static str,
    },
    #[error("channel {channel} is outside `{node}`'s {channels} channels")]
    OutsideChannels {
        node: String,
        channel: usize,
        channels: usize,
    },
}

impl From<FastError> for EngineError {
    fn from(e: FastError) -> Self {
        EngineError::Fast(Box::new(e))
    }
}
