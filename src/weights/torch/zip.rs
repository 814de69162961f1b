//! PyTorch's zip checkpoints, `torch.save`'s default since torch 1.6 and the format of
//! torchvision's downloads: an uncompressed zip archive whose records sit in one folder
//! (`archive/` or the file's stem): `data.pkl` (the pickled object; each tensor names its
//! storage by key), `data/<key>` (each storage's raw little-endian elements), `version`, and
//! from torch 2.1 `byteorder`. Stored records are sliced straight out of the file, not copied.

use super::pickle::Unpickler;
use super::state::{StorageData, TorchCheckpoint};
use super::symbols::StorageRef;
use super::{TorchError as E, TorchFormat};
use ::zip::{result::ZipError, CompressionMethod, ZipArchive};
use std::borrow::Cow;
use std::io::{Cursor, Read};

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;
/// A record's bytes, and its CRC-32 when it is still to be checked.
type Record<'a> = (Cow<'a, [u8]>, Option<u32>);

fn zip_error(e: ZipError) -> E {
    E::Zip {
        reason: e.to_string(),
    }
}

/// The zip checkpoint in `bytes`, its tensors not decoded yet.
pub(super) fn read(bytes: &[u8]) -> Result<TorchCheckpoint<'_>, E> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let pickles: Vec<String> = archive
        .file_names()
        .filter(|n| *n == "data.pkl" || n.strip_suffix("data.pkl").is_some_and(is_folder))
        .map(str::to_string)
        .collect();
    let pickle = match pickles.as_slice() {
        [] => return Err(E::NoDataPkl),
        [one] => one.clone(),
        _ => {
            return Err(E::SeveralDataPkl {
                count: pickles.len(),
            })
        }
    };
    let prefix = &pickle[..pickle.len() - "data.pkl".len()];
    if let Some(order) = record(&mut archive, bytes, &format!("{prefix}byteorder"), None)? {
        if order.0.trim_ascii() != b"little" {
            return Err(E::BigEndian);
        }
    }
    let (data, _) = record(&mut archive, bytes, &pickle, None)?.ok_or(E::NoDataPkl)?;
    let mut p = Unpickler::new(&data);
    let root = p.load()?;
    TorchCheckpoint::from_pickle(TorchFormat::Zip, &root, |s: &StorageRef| {
        let name = format!("{prefix}data/{}", s.key);
        let needed = s.len as u128 * s.dtype.element_size() as u128;
        let (bytes, crc) =
            record(&mut archive, bytes, &name, Some(needed))?.ok_or_else(|| E::MissingStorage {
                key: s.key.to_string(),
            })?;
        Ok(StorageData {
            dtype: s.dtype,
            len: s.len,
            bytes,
            crc32: crc.map(|c| (name, c)),
        })
    })
}

/// `archive/` and the empty prefix are folders of records; `a/b/` is not torch's layout.
fn is_folder(prefix: &str) -> bool {
    prefix.is_empty() || (prefix.ends_with('/') && prefix.matches('/').count() == 1)
}

/// Record `name`'s bytes, or `None` if the archive has no such record; `expected`, when
/// given, is the size it must have. A stored record is a slice of `bytes` with its CRC-32
/// left to check when it is first read; a deflated one is inflated (and checked) here.
fn record<'a>(
    archive: &mut Archive<'a>,
    bytes: &'a [u8],
    name: &str,
    expected: Option<u128>,
) -> Result<Option<Record<'a>>, E> {
    let Some(index) = archive.index_for_name(name) else {
        return Ok(None);
    };
    let file = archive.by_index_raw(index).map_err(zip_error)?;
    let (method, start, size, packed, crc) = (
        file.compression(),
        file.data_start(),
        file.size(),
        file.compressed_size(),
        file.crc32(),
    );
    drop(file);
    if let Some(expected) = expected.filter(|&e| e != u128::from(size)) {
        return Err(E::RecordLength {
            record: name.into(),
            expected,
            found: size,
        });
    }
    match method {
        CompressionMethod::Stored => {
            let cut = || E::Zip {
                reason: format!("record `{name}` reaches past the end of the file"),
            };
            let end = start.checked_add(size).ok_or_else(cut)?;
            if packed != size {
                return Err(cut());
            }
            let range = usize::try_from(start).ok().zip(usize::try_from(end).ok());
            let data = range.and_then(|(s, e)| bytes.get(s..e)).ok_or_else(cut)?;
            Ok(Some((Cow::Borrowed(data), Some(crc))))
        }
        CompressionMethod::Deflated => {
            let file = archive.by_index(index).map_err(zip_error)?;
            // The crate checks the CRC once the record is read to its end; deflate expands
            // at most ~1032x, so a hostile size cannot allocate more than that.
            let mut out = Vec::new();
            file.take(size.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| E::Zip {
                    reason: format!("record `{name}`: {e}"),
                })?;
            if out.len() as u64 != size {
                return Err(E::Zip {
                    reason: format!(
                        "record `{name}` inflates to {} bytes, not {size}",
                        out.len()
                    ),
                });
            }
            Ok(Some((Cow::Owned(out), None)))
        }
        other => Err(E::Compression {
            record: name.into(),
            method: format!("{other:?}"),
        }),
    }
}
