//! The GPU engine's errors, in one enum every GPU module returns.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),
    #[error("the GPU adapter refused a device: {0}")]
    NoDevice(String),
    #[error("{tensor} needs {bytes} bytes in one binding, but this adapter allows {limit} (max storage binding / buffer size)")]
    TooLarge {
        tensor: String,
        bytes: u64,
        limit: u64,
    },
    #[error("node `{node}`: {reason}")]
    Unsupported { node: String, reason: String },
    #[error("the gradient at node `{node}` must have {expected} values, got {found}")]
    GradientLength {
        node: String,
        expected: usize,
        found: usize,
    },
    #[error("input must be {expected}, got {found}")]
    InputShape { expected: String, found: String },
    #[error("GPU validation error: {0}")]
    Validation(String),
    #[error("reading back from the GPU failed: {0}")]
    Readback(String),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}
