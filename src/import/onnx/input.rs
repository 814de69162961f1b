//! The file's bytes to a protobuf model (refusing empty, oversized and zip files first), and
//! the graph's one image input: its channels and size, 224 assumed where the file leaves the
//! height or width open.

use super::proto::{GraphProto, ModelProto, ValueInfoProto};
use super::tensor::Const;
use crate::import::{ImportError, DEFAULT_SIDE, MAX_IMPORT_BYTES};
use prost::Message;
use std::collections::HashMap;

pub(super) fn parse(bytes: Vec<u8>) -> Result<ModelProto, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge {
            size: bytes.len(),
            limit: MAX_IMPORT_BYTES,
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(ImportError::Zip);
    }
    // From `Bytes`, each initializer's raw data is a slice of this one buffer, not a copy.
    let model = ModelProto::decode(prost::bytes::Bytes::from(bytes)).map_err(|e| {
        ImportError::Malformed {
            reason: e.to_string(),
        }
    })?;
    if model.graph.is_none() && model.opset_import.is_empty() {
        return Err(ImportError::Malformed {
            reason: "it has neither a graph nor an opset".into(),
        });
    }
    Ok(model)
}

/// The largest input channel count, height or width taken (as the tool's `--input`).
const MAX_SIDE: usize = 1 << 16;

/// The one real input of a graph.
pub(super) struct GraphInput {
    pub name: String,
    pub channels: usize,
    /// `(height, width)`.
    pub size: (usize, usize),
    /// Said when the size was assumed.
    pub note: Option<String>,
}

/// The one real input of `graph` (not an initializer).
pub(super) fn graph_input(
    graph: &GraphProto,
    consts: &HashMap<String, Const>,
) -> Result<GraphInput, ImportError> {
    let inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !consts.contains_key(&i.name))
        .collect();
    let [input] = inputs[..] else {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(ImportError::Graph {
            reason: format!(
                "has {} inputs ({names:?}); convscope runs models with one image input",
                inputs.len()
            ),
        });
    };
    let shape_error = |what: &str| ImportError::Graph {
        reason: format!(
            "input `{}` {what}; convscope needs N x C x H x W",
            input.name
        ),
    };
    let tensor_type = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| shape_error("is not a tensor"))?;
    if tensor_type.elem_type != 1 {
        return Err(shape_error(&format!(
            "has element type {}, not float",
            tensor_type.elem_type
        )));
    }
    let dims: Vec<Option<usize>> = tensor_type
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| {
                    d.dim_value()
                        .and_then(|v| usize::try_from(v).ok())
                        .filter(|&v| v > 0)
                })
                .collect()
        })
        .unwrap_or_default();
    let [_, channels, h, w] = dims[..] else {
        return Err(shape_error(&format!("has rank {}", dims.len())));
    };
    let channels = channels.ok_or_else(|| shape_error("has no fixed channel count"))?;
    if [Some(channels), h, w]
        .iter()
        .flatten()
        .any(|&d| d > MAX_SIDE)
    {
        return Err(shape_error(&format!(
            "is larger than {MAX_SIDE} in some dimension"
        )));
    }
    let note = (h.is_none() || w.is_none()).then(|| {
        format!("the input's height or width is not fixed in the file: {DEFAULT_SIDE} assumed")
    });
    let size = (h.unwrap_or(DEFAULT_SIDE), w.unwrap_or(DEFAULT_SIDE));
    Ok(GraphInput {
        name: input.name.clone(),
        channels,
        size,
        note,
    })
}
