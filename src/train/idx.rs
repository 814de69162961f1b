//! IDX files (the MNIST container format), plain or gzip-compressed, and the Fashion-MNIST
//! data set read from them. Every malformed file becomes an [`IdxError`]; nothing panics.
//!
//! Format (LeCun's MNIST page): two zero bytes, a type code (0x08 = unsigned byte), the number
//! of dimensions, then one big-endian u32 per dimension, then the values in row-major order.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where Debian's `dataset-fashion-mnist` package installs the data.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST's ten classes, by label: the names live in [`crate::labels`].
pub const FASHION_MNIST_CLASSES: [&str; 10] = crate::labels::FASHION_MNIST;

/// The IDX type code for unsigned bytes, the only one Fashion-MNIST uses.
const TYPE_U8: u8 = 0x08;
/// Decompressed files larger than this are refused (Fashion-MNIST's largest is 47 MB).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Why an IDX file or a data set cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdxError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: gzip data is corrupt: {message}")]
    Gzip { path: PathBuf, message: String },
    #[error("not an IDX file: the magic number is {found:02x?}, expected [00, 00, type, dims]")]
    BadMagic { found: Vec<u8> },
    #[error("IDX type code {code:#04x} is not supported (only 0x08, unsigned byte)")]
    UnsupportedType { code: u8 },
    #[error("IDX file is truncated: it has {found} bytes, its header needs {needed}")]
    Truncated { needed: u64, found: usize },
    #[error("IDX file has {found} bytes but its header describes only {expected}")]
    TrailingBytes { expected: u64, found: usize },
    #[error("IDX dimensions {dims:?} describe more data than can be addressed")]
    TooLarge { dims: Vec<u64> },
    #[error("expected an IDX array of {expected} dimensions ({what}), found {found:?}")]
    WrongRank {
        what: &'static str,
        expected: usize,
        found: Vec<usize>,
    },
    #[error("{images} images but {labels} labels")]
    CountMismatch { images: usize, labels: usize },
    #[error("label {label} of item {index} is not below the {classes} classes")]
    LabelOutOfRange {
        index: usize,
        label: u8,
        classes: usize,
    },
}

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses IDX `bytes` (already decompressed). The data must fill the dimensions exactly.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray, IdxError> {
    let Some(magic) = bytes.get(..4) else {
        return Err(IdxError::BadMagic {
            found: bytes.to_vec(),
        });
    };
    if magic[0] != 0 || magic[1] != 0 || magic[3] == 0 {
        return Err(IdxError::BadMagic {
            found: magic.to_vec(),
        });
    }
    if magic[2] != TYPE_U8 {
        return Err(IdxError::UnsupportedType { code: magic[2] });
    }
    let rank = magic[3] as usize;
    let header = 4 + 4 * rank as u64;
    let Some(dim_bytes) = bytes.get(4..header as usize) else {
        return Err(IdxError::Truncated {
            needed: header,
            found: bytes.len(),
        });
    };
    let dims: Vec<u64> = dim_bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64)
        .collect();
    let count = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let Some(needed) = count.and_then(|c| c.checked_add(header)) else {
        return Err(IdxError::TooLarge { dims });
    };
    let found = bytes.len();
    if (found as u64) < needed {
        return Err(IdxError::Truncated { needed, found });
    }
    if found as u64 > needed {
        return Err(IdxError::TrailingBytes {
            expected: needed,
            found,
        });
    }
    Ok(IdxArray {
        dims: dims.iter().map(|&d| d as usize).collect(),
        data: bytes[header as usize..].to_vec(),
    })
}

/// Reads and parses an IDX file, decompressing it first if it starts with the gzip magic.
pub fn read_idx_file(path: &Path) -> Result<IdxArray, IdxError> {
    let raw = std::fs::read(path).map_err(|e| IdxError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return parse_idx(&raw);
    }
    let mut bytes = Vec::new();
    GzDecoder::new(&raw[..])
        .take(MAX_DECOMPRESSED)
        .read_to_end(&mut bytes)
        .map_err(|e| IdxError::Gzip {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    parse_idx(&bytes)
}

/// Labelled greyscale images, stored as the file's bytes (0 = background) to keep 60,000
/// images in 47 MB; [`GreyscaleFrame`](crate::preprocess::GreyscaleFrame) turns one into network input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// `len() * rows * cols` pixels, image after image, row-major.
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
}

impl Dataset {
    /// Pairs an `[n, rows, cols]` image array with an `[n]` label array, checking that the
    /// counts agree and that every label is below `classes`.
    pub fn from_idx(images: IdxArray, labels: IdxArray, classes: usize) -> Result<Self, IdxError> {
        let [n, rows, cols] = images.dims[..] else {
            return Err(IdxError::WrongRank {
                what: "images",
                expected: 3,
                found: images.dims,
            });
        };
        let [n_labels] = labels.dims[..] else {
            return Err(IdxError::WrongRank {
                what: "labels",
                expected: 1,
                found: labels.dims,
            });
        };
        if n != n_labels {
            return Err(IdxError::CountMismatch {
                images: n,
                labels: n_labels,
            });
        }
        if let Some(index) = labels.data.iter().position(|&l| l as usize >= classes) {
            let label = labels.data[index];
            return Err(IdxError::LabelOutOfRange {
                index,
                label,
                classes,
            });
        }
        Ok(Dataset {
            images: images.data,
            labels: labels.data,
            rows,
            cols,
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.images[i * n..(i + 1) * n]
    }

    /// The images `range` as a data set of their own (e.g. a quick run on a few hundred).
    pub fn subset(&self, range: std::ops::Range<usize>) -> Dataset {
        let range = range.start.min(self.len())..range.end.min(self.len());
        let n = self.rows * self.cols;
        Dataset {
            images: self.images[range.start * n..range.end * n].to_vec(),
            labels: self.labels[range.clone()].to_vec(),
            ..*self
        }
    }
}

/// Fashion-MNIST's `(train, test)` sets (60,000 and 10,000 images of 28x28) from the four
/// `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` files in `dir` (see [`FASHION_MNIST_DIR`]).
pub fn load_fashion_mnist(dir: impl AsRef<Path>) -> Result<(Dataset, Dataset), IdxError> {
    let dir = dir.as_ref();
    let split = |prefix: &str| -> Result<Dataset, IdxError> {
        let images = read_idx_file(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")))?;
        let labels = read_idx_file(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")))?;
        Dataset::from_idx(images, labels, FASHION_MNIST_CLASSES.len())
    };
    Ok((split("train")?, split("t10k")?))
}
