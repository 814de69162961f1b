//! The state dict inside a torch pickle, whichever container held it: found (at the top, or
//! nested under `state_dict` or `model`), its `module.` prefix removed, every tensor's view
//! checked against its storage, and each tensor decoded to f32 only when asked for, so a
//! caller can decode a large file a tensor at a time.

use super::symbols::{StorageDtype, StorageRef, TensorRef, Value};
use super::{TorchError as E, TorchFormat, MAX_SHARING};
use crate::tensor::Tensor;
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Where checkpoints saved by training scripts keep the model's state dict, in the order
/// they are tried (torchvision's reference scripts save `{"model": ..., "optimizer": ...}`).
const NESTED_KEYS: [&str; 2] = ["state_dict", "model"];
/// The prefix `torch.nn.DataParallel` / `DistributedDataParallel` put before every name.
const PARALLEL_PREFIX: &str = "module.";

/// One storage's raw little-endian elements, as its container holds them.
#[derive(Clone)]
pub(super) struct StorageData<'a> {
    pub dtype: StorageDtype,
    /// Element count.
    pub len: usize,
    pub bytes: Cow<'a, [u8]>,
    /// The zip record's CRC-32, checked when a tensor first reads the storage.
    pub crc32: Option<(String, u32)>,
}

/// One tensor of a checkpoint's state dict, not decoded yet.
#[derive(Debug)]
pub struct TorchTensor {
    pub name: String,
    /// Element type as safetensors names it; float16, bfloat16 and float64 say `F32`, as
    /// decoding converts them.
    pub dtype: &'static str,
    pub shape: Vec<usize>,
    /// Bytes its values take in the file (for progress).
    pub file_bytes: usize,
    source: Rc<TensorRef>,
}

/// A torch checkpoint's state dict: every tensor's name, type and shape, checked against
/// its storage; values decoded by [`TorchCheckpoint::decode`].
pub struct TorchCheckpoint<'a> {
    pub format: TorchFormat,
    /// In file order.
    pub tensors: Vec<TorchTensor>,
    /// What was done to find the state dict (nesting, a removed prefix), said plainly.
    pub notes: Vec<String>,
    storages: HashMap<Rc<str>, (StorageData<'a>, Cell<bool>)>,
}

impl<'a> TorchCheckpoint<'a> {
    /// The checkpoint in `bytes`, zip or legacy (told by the first bytes).
    pub fn read(bytes: &'a [u8]) -> Result<Self, E> {
        match TorchFormat::sniff(bytes) {
            Some(TorchFormat::Zip) => super::zip::read(bytes),
            _ => super::legacy::read(bytes),
        }
    }

    /// Finds the state dict in the unpickled `root` and checks each tensor against the
    /// storage `fetch` gives for it (called once per storage).
    pub(super) fn from_pickle(
        format: TorchFormat,
        root: &Value,
        mut fetch: impl FnMut(&StorageRef) -> Result<StorageData<'a>, E>,
    ) -> Result<Self, E> {
        let (entries, notes) = find_state_dict(root)?;
        let mut storages: HashMap<Rc<str>, (StorageData<'a>, Cell<bool>)> = HashMap::new();
        let mut tensors = Vec::with_capacity(entries.len());
        let mut used = 0usize;
        for (name, t) in entries {
            if !storages.contains_key(&t.storage.key) {
                let data = fetch(&t.storage)?;
                storages.insert(t.storage.key.clone(), (data, Cell::new(false)));
            }
            let shape = check_view(&name, &t)?;
            let numel = shape.iter().product::<usize>();
            used = used.saturating_add(numel);
            let dtype = match t.storage.dtype {
                StorageDtype::F32 | StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::F64 => {
                    "F32"
                }
                other => safetensors_name(other),
            };
            let file_bytes = numel.saturating_mul(t.storage.dtype.element_size());
            tensors.push(TorchTensor {
                name,
                dtype,
                shape,
                file_bytes,
                source: t,
            });
        }
        let carried = storages.values().map(|s| s.0.len).sum::<usize>();
        if used > MAX_SHARING.saturating_mul(carried) {
            return Err(E::TooMuchSharing);
        }
        Ok(TorchCheckpoint {
            format,
            tensors,
            notes,
            storages,
        })
    }

    /// Tensor `index` as f32 values in row-major order (strided views copied, float16,
    /// bfloat16 and float64 converted).
    pub fn decode(&self, index: usize) -> Result<Tensor, E> {
        let t = &self.tensors[index];
        let (storage, checked) = &self.storages[&t.source.storage.key];
        if let Some((record, crc)) = &storage.crc32 {
            if !checked.get() {
                if crc32fast::hash(&storage.bytes) != *crc {
                    return Err(E::Checksum {
                        record: record.clone(),
                    });
                }
                checked.set(true);
            }
        }
        if !is_float(storage.dtype) {
            return Err(E::UnsupportedDtype {
                tensor: t.name.clone(),
                storage: storage.dtype.class_name(),
            });
        }
        gather(&t.name, &t.source, storage)
    }

    /// Every tensor decoded, in file order, skipping BatchNorm's integer
    /// `*.num_batches_tracked` counters; any other integer tensor is an error naming it.
    pub fn decode_all(&self) -> Result<Vec<(String, Tensor)>, E> {
        let mut out = Vec::with_capacity(self.tensors.len());
        for (i, t) in self.tensors.iter().enumerate() {
            if t.dtype != "F32" && t.name.ends_with(".num_batches_tracked") {
                continue;
            }
            out.push((t.name.clone(), self.decode(i)?));
        }
        Ok(out)
    }
}

fn is_float(d: StorageDtype) -> bool {
    matches!(
        d,
        StorageDtype::F32 | StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::F64
    )
}

fn safetensors_name(d: StorageDtype) -> &'static str {
    match d {
        StorageDtype::F32 => "F32",
        StorageDtype::F64 => "F64",
        StorageDtype::F16 => "F16",
        StorageDtype::BF16 => "BF16",
        StorageDtype::I64 => "I64",
        StorageDtype::I32 => "I32",
        StorageDtype::I16 => "I16",
        StorageDtype::I8 => "I8",
        StorageDtype::U8 => "U8",
        StorageDtype::Bool => "BOOL",
    }
}

type Entries = Vec<(String, Rc<TensorRef>)>;

/// The state dict's `(name, tensor)` entries and notes on where it was found.
fn find_state_dict(root: &Value) -> Result<(Entries, Vec<String>), E> {
    let Value::Dict(top) = root else {
        return Err(E::NotAStateDict { found: root.kind() });
    };
    let has_tensor =
        |items: &[(Value, Value)]| items.iter().any(|(_, v)| matches!(v, Value::Tensor(_)));
    let mut notes = Vec::new();
    let mut dict = &top.items;
    if !has_tensor(dict) && !dict.is_empty() {
        let nested = NESTED_KEYS.iter().find_map(|&key| {
            dict.iter().find_map(|(k, v)| match (k, v) {
                (Value::Str(k), Value::Dict(inner)) if &**k == key && has_tensor(&inner.items) => {
                    Some((key, inner))
                }
                _ => None,
            })
        });
        let Some((key, inner)) = nested else {
            let keys: Vec<String> = dict
                .iter()
                .take(8)
                .map(|(k, v)| match k {
                    Value::Str(s) => format!("`{s}`: {}", v.kind()),
                    other => format!("a {} key", other.kind()),
                })
                .collect();
            return Err(E::NoStateDict {
                keys: keys.join(", "),
            });
        };
        notes.push(format!("the state dict under `{key}`"));
        dict = &inner.items;
    }
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(dict.len());
    for (index, (key, value)) in dict.iter().enumerate() {
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
        entries.push((name, t.clone()));
    }
    if !entries.is_empty() && entries.iter().all(|(n, _)| n.starts_with(PARALLEL_PREFIX)) {
        for (name, _) in &mut entries {
            name.drain(..PARALLEL_PREFIX.len());
        }
        notes.push(format!(
            "the `{PARALLEL_PREFIX}` prefix (DataParallel) removed from its {} tensor names",
            entries.len()
        ));
    }
    Ok((entries, notes))
}

/// The tensor's shape, after checking that its view lies inside its storage.
fn check_view(name: &str, t: &TensorRef) -> Result<Vec<usize>, E> {
    let numel = t
        .size
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| E::SizeOverflow {
            tensor: name.into(),
            size: t.size.clone(),
        })?;
    if numel == 0 {
        return Ok(t.size.clone());
    }
    let last = t
        .size
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |acc, (&n, &s)| {
            (n - 1).checked_mul(s).and_then(|d| acc.checked_add(d))
        });
    if last.is_none_or(|l| l >= t.storage.len) {
        return Err(E::OutOfBounds {
            tensor: name.into(),
            offset: t.offset,
            size: t.size.clone(),
            stride: t.stride.clone(),
            storage_len: t.storage.len,
        });
    }
    if numel > t.storage.len {
        return Err(E::BroadcastView {
            tensor: name.into(),
        });
    }
    Ok(t.size.clone())
}

/// Element `i` of a float storage as f32.
fn element(dtype: StorageDtype, bytes: &[u8], i: usize) -> f32 {
    match dtype {
        StorageDtype::F64 => {
            let b = &bytes[8 * i..8 * i + 8];
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        }
        StorageDtype::F16 => f16_to_f32(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])),
        StorageDtype::BF16 => {
            f32::from_bits(u32::from(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])) << 16)
        }
        _ => {
            let b = &bytes[4 * i..4 * i + 4];
            f32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }
    }
}

/// IEEE 754 binary16 to binary32 (exact: every half value is a float).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    match exp {
        0 => sign * frac as f32 * (-24f32).exp2(),
        0x1f if frac == 0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => f32::from_bits((u32::from(h & 0x8000) << 16) | ((exp + 112) << 23) | (frac << 13)),
    }
}

/// Copies a (possibly strided) view of `storage` into a row-major tensor; the view was
/// checked to lie inside the storage.
fn gather(name: &str, t: &TensorRef, storage: &StorageData) -> Result<Tensor, E> {
    let numel = t.size.iter().product::<usize>();
    let mut data = Vec::new();
    data.try_reserve_exact(numel).map_err(|_| E::OutOfMemory {
        tensor: name.into(),
        bytes: numel.saturating_mul(4),
    })?;
    if numel == 0 {
        return Ok(Tensor::new(t.size.clone(), data));
    }
    let bytes = &storage.bytes[..];
    // Row-major strides; dimensions of size 1 may carry any stride.
    let mut contiguous = true;
    let mut expect = 1usize;
    for (&n, &s) in t.size.iter().zip(&t.stride).rev() {
        contiguous &= n == 1 || s == expect;
        expect *= n;
    }
    if contiguous {
        let at = t.offset;
        if storage.dtype == StorageDtype::F32 {
            let words = bytes[4 * at..4 * (at + numel)].chunks_exact(4);
            data.extend(words.map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]])));
        } else {
            data.extend((at..at + numel).map(|i| element(storage.dtype, bytes, i)));
        }
        return Ok(Tensor::new(t.size.clone(), data));
    }
    let mut index = vec![0usize; t.size.len()];
    let mut at = t.offset;
    for _ in 0..numel {
        data.push(element(storage.dtype, bytes, at));
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
    Ok(Tensor::new(t.size.clone(), data))
}
