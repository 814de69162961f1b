//! Trained models from other frameworks' files: an ONNX file becomes a network description
//! (`model::Network`) and its weights (`weights::Weights`), so shapes, costs, receptive fields,
//! the CPU reference, the fast CPU engine and the GPU plan all work on it unchanged. Knows
//! nothing of the GPU or the web.
//!
//! Files: `onnx/` reads the protobuf (prost messages declared in `onnx/proto.rs`) and the
//! graph's input (`onnx/input.rs`), its tensors and attributes (`onnx/tensor.rs`), and maps
//! operators onto layers (`onnx/ops.rs`;
//! windows in `onnx/window.rs`, BatchNormalization and Gemm in `onnx/learned.rs`),
//! folding what has no layer of its own (`onnx/fold.rs`: Pad into the next window, Mul/Add/Sub
//! by constants into the convolution before or into a per-channel scale-and-shift).

mod onnx;

pub use onnx::{import_onnx, OnnxImport};

use crate::model::ModelError;
use crate::weights::TensorProblem;
use thiserror::Error;

/// The largest file the importer takes: 2 GiB, protobuf's own limit on one message.
pub const MAX_IMPORT_BYTES: usize = (1 << 31) - 1;

/// The input size assumed when a model leaves its height or width open.
pub const DEFAULT_SIDE: usize = 224;

/// The first ONNX opset convscope reads, and the last.
pub const OPSETS: (i64, i64) = (7, 18);

/// Why a file cannot be imported; each says what was found and, where there is one, what to do.
#[derive(Debug, Error, PartialEq)]
pub enum ImportError {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("the file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("this is a zip archive (a PyTorch checkpoint?), not an ONNX model")]
    Zip,
    #[error("not a readable ONNX model: {reason} (the file may be truncated or not ONNX)")]
    Malformed { reason: String },
    #[error("the model uses opset {opset} of the ONNX domain; convscope reads opsets {} to {}", OPSETS.0, OPSETS.1)]
    Opset { opset: i64 },
    #[error("operator {op} (node `{node}`, opset {opset}) is not supported: {reason}")]
    Unsupported {
        op: String,
        node: String,
        opset: i64,
        reason: String,
    },
    #[error("tensor `{tensor}` is stored in an external data file (`{location}`): save the model as one file (onnx.save_model(model, path, save_as_external_data=False))")]
    ExternalData { tensor: String, location: String },
    #[error("tensor `{tensor}`: {reason}")]
    Tensor { tensor: String, reason: String },
    #[error("the graph {reason}")]
    Graph { reason: String },
    #[error("node `{node}` ({op}, opset {opset}): {source}")]
    Shape {
        op: String,
        node: String,
        opset: i64,
        // Boxed: the largest variant otherwise, and every step of the import returns this type.
        source: Box<ModelError>,
    },
    #[error("the imported network does not run: {0}")]
    Model(Box<ModelError>),
    #[error("the imported weights do not fit the network: {0}")]
    Weights(#[from] TensorProblem),
}

impl From<ModelError> for ImportError {
    fn from(e: ModelError) -> Self {
        ImportError::Model(Box::new(e))
    }
}
