//! safetensors files: writing a model's tensors, and loading them with every name, dtype and
//! shape checked against the network. The `safetensors` crate parses and bounds-checks the
//! file; its errors become [`WeightsError`] variants that name the tensor at fault.

use super::validate::{check_tensors, expected_tensors, length_problem, FoundTensor};
use super::{TensorProblem, TorchFormat, Weights, WeightsError};
use crate::model::Network;
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

/// safetensors bytes holding `tensors` as F32 (little-endian), e.g. `save_safetensors(&w.tensors)`.
///
/// Fails on a name given twice or a tensor whose data does not fill its shape.
pub fn save_safetensors<'a, S: AsRef<str>>(
    tensors: impl IntoIterator<Item = (S, &'a Tensor)>,
) -> Result<Vec<u8>, WeightsError> {
    let mut seen = HashSet::new();
    let mut views = Vec::new();
    for (name, t) in tensors {
        let name = name.as_ref().to_string();
        if !seen.insert(name.clone()) {
            return Err(TensorProblem::Duplicate { tensor: name }.into());
        }
        if let Some(problem) = length_problem(&name, t) {
            return Err(problem.into());
        }
        views.push((name, t.shape.clone(), le_bytes(&t.data)));
    }
    let views = views
        .iter()
        .map(|(name, shape, data)| Ok((name, TensorView::new(Dtype::F32, shape.clone(), data)?)))
        .collect::<Result<Vec<_>, SafeTensorError>>();
    let views = views.map_err(|e| WeightsError::InvalidHeader {
        reason: e.to_string(),
    })?;
    safetensors::serialize(views, None).map_err(|e| WeightsError::InvalidHeader {
        reason: e.to_string(),
    })
}

/// The weights of `net` from safetensors `bytes`, after checking that the file has exactly
/// the tensors `net`'s layers own (`{node}.{tensor}`), each F32 and of the right shape.
/// `*.num_batches_tracked` tensors (saved by torchvision) are ignored. Every mismatch is
/// reported at once in [`WeightsError::Mismatch`].
pub fn load_safetensors(bytes: &[u8], net: &Network) -> Result<Weights, WeightsError> {
    let tensors = check_safetensors(bytes, net)?
        .into_iter()
        .map(|t| {
            let data = decode_f32(&bytes[t.bytes]);
            (t.name, Tensor::new(t.shape, data))
        })
        .collect();
    Ok(Weights { tensors })
}

/// Where one of the network's tensors lies in a checked safetensors file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorLayout {
    pub name: String,
    pub shape: Vec<usize>,
    /// Byte range of its little-endian F32 data in the file.
    pub bytes: Range<usize>,
}

/// The checks of [`load_safetensors`] without decoding any data: where each tensor `net`
/// owns lies in `bytes`, sorted by name. Decoding each range with [`decode_f32`] gives
/// the weights, so a caller can do that part a piece at a time.
pub fn check_safetensors(bytes: &[u8], net: &Network) -> Result<Vec<TensorLayout>, WeightsError> {
    if let Some(format) = TorchFormat::sniff(bytes) {
        return Err(WeightsError::NotSafetensors { format });
    }
    let file = SafeTensors::deserialize(bytes).map_err(|e| map_error(e, bytes))?;
    let mut views = file.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let dtypes: Vec<String> = views.iter().map(|(_, v)| v.dtype().to_string()).collect();
    let found = views
        .iter()
        .zip(&dtypes)
        .map(|((name, v), dtype)| FoundTensor {
            name,
            dtype,
            shape: v.shape(),
        });
    let problems = check_tensors(net, found);
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch {
            model: net.name.clone(),
            problems,
        });
    }
    let expected: HashSet<String> = expected_tensors(net).into_iter().map(|(n, _)| n).collect();
    let base = bytes.as_ptr() as usize;
    Ok(views
        .into_iter()
        .filter(|(name, _)| expected.contains(name))
        .map(|(name, v)| {
            // The crate checked the data is shape x 4 bytes inside `bytes`; the shape was
            // checked above.
            let start = v.data().as_ptr() as usize - base;
            TensorLayout {
                name,
                shape: v.shape().to_vec(),
                bytes: start..start + v.data().len(),
            }
        })
        .collect())
}

/// Little-endian F32 bytes as values (a trailing partial value is ignored).
pub fn decode_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

fn le_bytes(data: &[f32]) -> Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        Cow::Borrowed(bytemuck::cast_slice(data))
    } else {
        Cow::Owned(data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
}

/// A tensor's entry in a header, re-read only to name the culprit of a crate error.
struct Entry {
    name: String,
    start: u128,
    end: u128,
    /// Bytes its dtype and shape need (saturating).
    needed: u128,
}

/// The data section's start and the header's entries sorted by offsets, if the header parses.
fn header_entries(bytes: &[u8]) -> Option<(u128, Vec<Entry>)> {
    let n = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let header = bytes.get(8..n.checked_add(8)?)?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(header).ok()?;
    let mut entries = Vec::new();
    for (name, info) in map {
        if name == "__metadata__" {
            continue;
        }
        let field = |k: &str| info.get(k).cloned().unwrap_or_default();
        let dtype: Dtype = serde_json::from_value(field("dtype")).ok()?;
        let shape: Vec<u64> = serde_json::from_value(field("shape")).ok()?;
        let (start, end): (u64, u64) = serde_json::from_value(field("data_offsets")).ok()?;
        let bits = shape
            .iter()
            .fold(dtype.bitsize() as u128, |a, &d| a.saturating_mul(d.into()));
        let needed = bits / 8;
        let (start, end) = (start.into(), end.into());
        entries.push(Entry {
            name,
            start,
            end,
            needed,
        });
    }
    entries.sort_by_key(|e| (e.start, e.end));
    Some((8 + n as u128, entries))
}

/// The crate's error as ours, naming the tensor when the header lets us find it.
fn map_error(e: SafeTensorError, bytes: &[u8]) -> WeightsError {
    let found = bytes.len();
    let declared = bytes
        .get(..8)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    let invalid = |e: SafeTensorError| WeightsError::InvalidHeader {
        reason: e.to_string(),
    };
    match e {
        SafeTensorError::HeaderTooSmall => WeightsError::Truncated {
            needed: 8,
            found,
            tensor: None,
        },
        SafeTensorError::InvalidHeaderLength => WeightsError::Truncated {
            needed: 8 + u128::from(declared),
            found,
            tensor: None,
        },
        SafeTensorError::HeaderTooLarge => WeightsError::HeaderTooLarge { declared },
        SafeTensorError::InvalidOffset(tensor) => WeightsError::BadOffsets { tensor },
        SafeTensorError::TensorInvalidInfo
        | SafeTensorError::ValidationOverflow
        | SafeTensorError::MisalignedSlice => {
            let entries = header_entries(bytes).map(|h| h.1).unwrap_or_default();
            match entries
                .into_iter()
                .find(|t| t.end.checked_sub(t.start) != Some(t.needed))
            {
                Some(t) => WeightsError::SizeMismatch {
                    tensor: t.name,
                    range_bytes: t.end.saturating_sub(t.start),
                    needed_bytes: t.needed,
                },
                None => invalid(e),
            }
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            let Some((data_start, entries)) = header_entries(bytes) else {
                return invalid(e);
            };
            let end = data_start + entries.iter().map(|t| t.end).max().unwrap_or(0);
            if end > found as u128 {
                let cut = entries
                    .into_iter()
                    .find(|t| data_start + t.end > found as u128);
                WeightsError::Truncated {
                    needed: end,
                    found,
                    tensor: cut.map(|t| t.name),
                }
            } else {
                WeightsError::TrailingBytes {
                    expected: end,
                    found,
                }
            }
        }
        other => invalid(other),
    }
}
