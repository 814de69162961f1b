//! PyTorch `.pth` files read without Python: the zip checkpoints `torch.save` writes by
//! default (`zip`; torchvision's downloads) and the legacy pre-1.6 format (`legacy`). Both
//! keep their state dict in a pickle, walked symbolically by one allow-listed reader
//! (`pickle`, `symbols`: no code runs), then `state` finds the state dict (also nested under
//! `state_dict` or `model`, `module.` prefixes removed) and decodes its tensors on demand.

mod legacy;
mod pickle;
mod state;
mod symbols;
mod zip;

pub use self::legacy::{convert_legacy_torch, read_legacy_torch, EFFICIENTNET_LITE0_PTH_SHA256};
pub use self::state::{TorchCheckpoint, TorchTensor};
pub use self::symbols::TorchGlobal;
use thiserror::Error;

/// Output tensors may together hold at most this many times the elements the file's storages
/// carry: tied weights share a storage (2x); more means a hostile file multiplying one view.
const MAX_SHARING: usize = 4;

/// The container of a `.pth` file, told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TorchFormat {
    /// A zip archive (`PK\x03\x04`): `torch.save`'s default since torch 1.6.
    Zip,
    /// Pickles and raw storages back to back, starting with torch's magic number pickle.
    Legacy,
}

impl TorchFormat {
    /// The format `bytes` start like, if any.
    pub fn sniff(bytes: &[u8]) -> Option<TorchFormat> {
        // PROTO 2, LONG1 of 10 bytes: the legacy magic number 0x1950a86a20f9469cfc6c
        const LEGACY: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(TorchFormat::Zip)
        } else if bytes.starts_with(&LEGACY) {
            Some(TorchFormat::Legacy)
        } else {
            None
        }
    }

    /// How the format is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            TorchFormat::Zip => "a PyTorch checkpoint, zip format",
            TorchFormat::Legacy => "a PyTorch checkpoint, legacy format",
        }
    }
}

/// Why a torch file cannot be read. Offsets are byte offsets in the pickle (legacy files: in
/// the file).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TorchError {
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
    #[error("the pickle names the global `{module}.{name}`, which is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and torch.*Storage are; save `model.state_dict()` alone)")]
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
    #[error("the saved dict ({keys}) is not a state dict and has none under `state_dict` or `model` (save `model.state_dict()`)")]
    NoStateDict { keys: String },
    #[error("state dict entry {index} has a {found} key, not a string")]
    BadKey { index: usize, found: &'static str },
    #[error("state dict entry `{tensor}` is a {found}, not a tensor")]
    NotATensor { tensor: String, found: &'static str },
    #[error("state dict has `{tensor}` twice")]
    DuplicateTensor { tensor: String },
    #[error("tensor `{tensor}` is stored as torch.{storage}; only floating-point tensors (float32, float16, bfloat16, float64) can be weights")]
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
    #[error("the file starts like a zip archive but cannot be read as one ({reason}); is it complete? (a truncated download looks like this)")]
    Zip { reason: String },
    #[error("the zip archive has no `data.pkl`: it is not a PyTorch checkpoint")]
    NoDataPkl,
    #[error("the zip archive holds {count} `data.pkl` records: one checkpoint a file, please")]
    SeveralDataPkl { count: usize },
    #[error("record `{record}` is compressed with {method}; torch stores records uncompressed (or deflated)")]
    Compression { record: String, method: String },
    #[error("record `{record}` is {found} bytes; its tensors' storage needs {expected}")]
    RecordLength {
        record: String,
        expected: u128,
        found: u64,
    },
    #[error(
        "record `{record}` is corrupt: its data does not match the checksum the archive gives"
    )]
    Checksum { record: String },
    #[error("there is not enough memory for tensor `{tensor}` ({bytes} bytes)")]
    OutOfMemory { tensor: String, bytes: usize },
}

/// The legacy reader's errors are the same type.
pub type LegacyTorchError = TorchError;
