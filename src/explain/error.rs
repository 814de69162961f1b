//! Why an explanation cannot be computed, with a message a person can act on.

use crate::cpu::CpuError;
use crate::fastcpu::FastError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExplainError {
    #[error(transparent)]
    Cpu(#[from] CpuError),
    #[error(transparent)]
    Fast(#[from] Box<FastError>),
    #[error("model `{model}` has no node `{node}`; `convscope summary {model}` lists them")]
    UnknownNode { model: String, node: String },
    #[error("node `{node}` has {channels} channels; channel {channel} does not exist")]
    ChannelOutOfRange {
        node: String,
        channel: usize,
        channels: usize,
    },
    #[error("position ({y},{x}) is outside node `{node}`'s {h}x{w} output")]
    PositionOutOfRange {
        node: String,
        y: usize,
        x: usize,
        h: usize,
        w: usize,
    },
    #[error("class {class} does not exist: the model has {classes} classes")]
    ClassOutOfRange { class: usize, classes: usize },
    #[error("node `{node}` is {h}x{w}: Grad-CAM needs a node with spatial extent (H x W above 1x1), e.g. the last convolution")]
    NoSpatialExtent { node: String, h: usize, w: usize },
    #[error("node `{node}` comes after the class scores; pick a node before `{scores}`")]
    AfterScores { node: String, scores: String },
    #[error("occlusion patch {patch} with stride {stride} does not fit the {h}x{w} input (both must be at least 1 and the patch at most the input)")]
    BadOcclusion {
        patch: usize,
        stride: usize,
        h: usize,
        w: usize,
    },
    #[error("{method} needs a node: pass --node NAME (`convscope summary MODEL` lists them)")]
    NodeNeeded { method: &'static str },
    #[error("deconvnet needs a channel: pass --channel C")]
    ChannelNeeded,
    #[error("the dataset has no images")]
    EmptyDataset,
}

impl From<FastError> for ExplainError {
    fn from(e: FastError) -> Self {
        ExplainError::Fast(Box::new(e))
    }
}
