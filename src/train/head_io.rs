//! A transfer head as a safetensors file: `head.weight` `[K, D]` and `head.bias` `[K]` (F32),
//! and one metadata entry, `convscope_transfer_head`, a JSON object naming the classes and
//! the features the head reads. Loading checks every part and says what is wrong.

use super::head::{head_network, Head, HEAD_NODE, MAX_HEAD_CLASSES};
use crate::weights::{load_safetensors, TorchFormat, WeightsError};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

/// The metadata key that marks a safetensors file as a transfer head.
pub const HEAD_METADATA_KEY: &str = "convscope_transfer_head";

/// What the metadata entry holds.
#[derive(Serialize, Deserialize)]
struct HeadMeta {
    /// The class names, in output order.
    classes: Vec<String>,
    /// `model/node` of the features.
    features: String,
}

/// Why a file is not a head this page or tool can use.
#[derive(Debug, Error, PartialEq)]
pub enum HeadError {
    #[error("this is {}, not a transfer head (a .safetensors file saved by \"Save head\" or `convscope transfer --out`)", .0.describe())]
    Torch(TorchFormat),
    #[error("not a transfer head: the file is not safetensors ({0})")]
    NotSafetensors(String),
    #[error("this safetensors file is not a transfer head: it has no `{HEAD_METADATA_KEY}` metadata (model weights go in the model picker instead)")]
    NoMetadata,
    #[error("the transfer head's metadata is invalid: {0}")]
    BadMetadata(String),
    #[error("the transfer head names {named} classes, but a head needs 2 to {MAX_HEAD_CLASSES}")]
    ClassCount { named: usize },
    #[error("the transfer head names {named} classes but its `head.weight` has {rows} rows: the file is inconsistent")]
    ClassMismatch { named: usize, rows: usize },
    #[error("the transfer head reads {found} features ({source_name}), but {expected_source} gives {expected}: it was trained on another network's features")]
    Features {
        found: usize,
        source_name: String,
        expected: usize,
        expected_source: String,
    },
    #[error("the transfer head's tensors are wrong: {0}")]
    Tensors(WeightsError),
    #[error("cannot write the transfer head: {0}")]
    Serialize(String),
}

impl Head {
    /// The head as safetensors bytes; equal heads give equal bytes.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, HeadError> {
        let meta = HeadMeta {
            classes: self.classes.clone(),
            features: self.source.clone(),
        };
        let json = serde_json::to_string(&meta).map_err(|e| HeadError::Serialize(e.to_string()))?;
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .weights
            .tensors
            .iter()
            .map(|(name, t)| {
                let data = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name.clone(), t.shape.clone(), data)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, data)| {
                Ok((name, TensorView::new(Dtype::F32, shape.clone(), data)?))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| HeadError::Serialize(e.to_string()))?;
        // One metadata entry: the crate takes a HashMap, whose order would vary between runs.
        let metadata = HashMap::from([(HEAD_METADATA_KEY.to_string(), json)]);
        safetensors::serialize(views, Some(metadata))
            .map_err(|e| HeadError::Serialize(e.to_string()))
    }

    /// A head from safetensors `bytes`, which must read `expected` features from
    /// `expected_source` (`model/node`).
    pub fn from_safetensors(
        bytes: &[u8],
        expected: usize,
        expected_source: &str,
    ) -> Result<Head, HeadError> {
        if let Some(format) = TorchFormat::sniff(bytes) {
            return Err(HeadError::Torch(format));
        }
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| HeadError::NotSafetensors(e.to_string()))?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(HEAD_METADATA_KEY))
            .ok_or(HeadError::NoMetadata)?;
        let meta: HeadMeta =
            serde_json::from_str(json).map_err(|e| HeadError::BadMetadata(e.to_string()))?;
        let named = meta.classes.len();
        if !(2..=MAX_HEAD_CLASSES).contains(&named) {
            return Err(HeadError::ClassCount { named });
        }
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| HeadError::NotSafetensors(e.to_string()))?;
        let weight_name = format!("{HEAD_NODE}.weight");
        if let Ok(w) = file.tensor(&weight_name) {
            if let [rows, found] = *w.shape() {
                if rows != named {
                    return Err(HeadError::ClassMismatch { named, rows });
                }
                if found != expected {
                    return Err(HeadError::Features {
                        found,
                        source_name: meta.features,
                        expected,
                        expected_source: expected_source.into(),
                    });
                }
            }
        }
        let net = head_network(expected, named);
        let weights = load_safetensors(bytes, &net).map_err(HeadError::Tensors)?;
        Ok(Head {
            classes: meta.classes,
            features: expected,
            source: meta.features,
            weights,
        })
    }
}
