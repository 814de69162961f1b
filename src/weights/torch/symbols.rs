//! What the allowed pickle globals mean, kept symbolic: the value tree, the allow-list of
//! globals, torch storage types and persistent ids, and REDUCE of `OrderedDict()`,
//! `_rebuild_tensor_v2(...)` and `_rebuild_parameter(...)`. Nothing is imported or called.

use super::TorchError as E;
use std::collections::HashMap;
use std::rc::Rc;

/// Nesting deeper than this is refused; a state dict is about five levels deep.
const MAX_DEPTH: usize = 64;

/// Element type of a torch storage class (`torch.FloatStorage`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageDtype {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageDtype {
    const ALL: [(StorageDtype, &'static str, usize); 10] = [
        (StorageDtype::F32, "FloatStorage", 4),
        (StorageDtype::F64, "DoubleStorage", 8),
        (StorageDtype::F16, "HalfStorage", 2),
        (StorageDtype::BF16, "BFloat16Storage", 2),
        (StorageDtype::I64, "LongStorage", 8),
        (StorageDtype::I32, "IntStorage", 4),
        (StorageDtype::I16, "ShortStorage", 2),
        (StorageDtype::I8, "CharStorage", 1),
        (StorageDtype::U8, "ByteStorage", 1),
        (StorageDtype::Bool, "BoolStorage", 1),
    ];
    fn from_class(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|e| e.1 == name).map(|e| e.0)
    }
    /// The torch class name, e.g. `FloatStorage`.
    pub fn class_name(self) -> &'static str {
        Self::ALL.iter().find(|e| e.0 == self).map_or("?", |e| e.1)
    }
    /// Bytes per element in the raw storage data.
    pub fn element_size(self) -> usize {
        Self::ALL.iter().find(|e| e.0 == self).map_or(1, |e| e.2)
    }
}

/// The only globals a legacy state dict may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TorchGlobal {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(StorageDtype),
}

impl std::fmt::Display for TorchGlobal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TorchGlobal::OrderedDict => write!(f, "collections.OrderedDict"),
            TorchGlobal::RebuildTensorV2 => write!(f, "torch._utils._rebuild_tensor_v2"),
            TorchGlobal::RebuildParameter => write!(f, "torch._utils._rebuild_parameter"),
            TorchGlobal::Storage(d) => write!(f, "torch.{}", d.class_name()),
        }
    }
}

/// A storage named by a persistent id `('storage', type, key, location, size[, None])`.
#[derive(Debug, PartialEq, Eq)]
pub struct StorageRef {
    pub key: Rc<str>,
    pub dtype: StorageDtype,
    /// Element count the persistent id declares; checked against the raw data later.
    pub len: usize,
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`, kept symbolic.
#[derive(Debug)]
pub struct TensorRef {
    pub storage: Rc<StorageRef>,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

/// One pickled value.
#[derive(Clone, Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    /// A float; its value is never needed, so it is not kept.
    Float,
    Str(Rc<str>),
    Global(TorchGlobal),
    Tuple(Rc<Seq>),
    List(Rc<Seq>),
    Dict(Rc<Map>),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRef>),
}

/// Items of a tuple or list, with the nesting depth of the whole.
#[derive(Clone, Debug, Default)]
pub struct Seq {
    pub items: Vec<Value>,
    depth: usize,
}

/// Entries of a dict in insertion order (duplicates kept; the caller rejects them).
#[derive(Clone, Debug, Default)]
pub struct Map {
    pub items: Vec<(Value, Value)>,
    depth: usize,
}

/// One more than the deepest of `items`: the depth of a container holding them.
fn depth_of<'v>(items: impl Iterator<Item = &'v Value>, at: usize) -> Result<usize, E> {
    let depth = 1 + items.map(Value::depth).max().unwrap_or(0);
    if depth > MAX_DEPTH {
        return Err(E::TooDeep {
            offset: at,
            limit: MAX_DEPTH,
        });
    }
    Ok(depth)
}

impl Seq {
    pub fn new(items: Vec<Value>, at: usize) -> Result<Rc<Self>, E> {
        let depth = depth_of(items.iter(), at)?;
        Ok(Rc::new(Seq { items, depth }))
    }
    pub fn extend(&mut self, items: Vec<Value>, at: usize) -> Result<(), E> {
        self.depth = self.depth.max(depth_of(items.iter(), at)?);
        self.items.extend(items);
        Ok(())
    }
}

impl Map {
    /// Adds `[k0, v0, k1, v1, ...]`; the caller checked the count is even.
    pub fn extend(&mut self, flat: Vec<Value>, at: usize) -> Result<(), E> {
        self.depth = self.depth.max(depth_of(flat.iter(), at)?);
        let mut it = flat.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            self.items.push((k, v));
        }
        Ok(())
    }
}

impl Value {
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(s) | Value::List(s) => s.depth,
            Value::Dict(m) => m.depth,
            Value::Storage(_) | Value::Tensor(_) => 1,
            _ => 0,
        }
    }
    /// A short type name for error messages (never the value: it may be huge).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float => "float",
            Value::Str(_) => "str",
            Value::Global(_) => "global",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }
    fn as_usize(&self) -> Option<usize> {
        match *self {
            Value::Int(i) => usize::try_from(i).ok(),
            _ => None,
        }
    }
}

/// Every storage the persistent ids of a file name, in first-seen order.
#[derive(Default)]
pub struct Storages {
    pub list: Vec<Rc<StorageRef>>,
    index: HashMap<Rc<str>, usize>,
}

impl Storages {
    /// Resolves `('storage', storage_type, key, location, size[, view_metadata])`.
    pub fn resolve(&mut self, pid: Value, at: usize) -> Result<Rc<StorageRef>, E> {
        let bad = |reason| E::BadPersistentId { offset: at, reason };
        let Value::Tuple(t) = pid else {
            return Err(bad("not a tuple"));
        };
        let (key, dtype, len) = match t.items.as_slice() {
            [Value::Str(tag), Value::Global(TorchGlobal::Storage(dtype)), Value::Str(key), Value::Str(_location), size, rest @ ..]
                if &**tag == "storage" =>
            {
                if !matches!(rest, [] | [Value::None]) {
                    return Err(bad("storage views (view_metadata) are not supported"));
                }
                (
                    key.clone(),
                    *dtype,
                    size.as_usize()
                        .ok_or(bad("storage size is not a non-negative int"))?,
                )
            }
            _ => {
                return Err(bad(
                    "expected ('storage', <torch.*Storage>, key, location, size)",
                ))
            }
        };
        if let Some(&i) = self.index.get(&key) {
            let known = &self.list[i];
            if known.dtype != dtype || known.len != len {
                return Err(E::StorageConflict {
                    key: key.to_string(),
                });
            }
            return Ok(known.clone());
        }
        let s = Rc::new(StorageRef {
            key: key.clone(),
            dtype,
            len,
        });
        self.index.insert(key, self.list.len());
        self.list.push(s.clone());
        Ok(s)
    }
}

/// The allowed global `module.name`, or an error naming it.
pub fn global(module: &str, name: &str) -> Result<TorchGlobal, E> {
    let g = match (module, name) {
        ("collections", "OrderedDict") => Some(TorchGlobal::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Some(TorchGlobal::RebuildTensorV2),
        ("torch._utils", "_rebuild_parameter") => Some(TorchGlobal::RebuildParameter),
        ("torch", class) => StorageDtype::from_class(class).map(TorchGlobal::Storage),
        _ => None,
    };
    g.ok_or_else(|| E::ForbiddenGlobal {
        module: module.into(),
        name: name.into(),
    })
}

/// Interprets `func(*args)` for the allowed globals, without calling anything.
pub fn reduce(func: Value, args: Value, at: usize) -> Result<Value, E> {
    let Value::Global(g) = func else {
        return Err(E::BadOperand {
            opcode: b'R',
            offset: at,
            reason: "REDUCE of something that is not an allowed global",
        });
    };
    let bad = |reason| E::BadCall {
        global: g,
        offset: at,
        reason,
    };
    let Value::Tuple(args) = args else {
        return Err(bad("arguments are not a tuple"));
    };
    match (g, args.items.as_slice()) {
        (TorchGlobal::OrderedDict, []) => Ok(Value::Dict(Rc::default())),
        (
            TorchGlobal::RebuildTensorV2,
            [Value::Storage(s), offset, Value::Tuple(size), Value::Tuple(stride), _grad, _hooks, ..],
        ) if args.items.len() <= 7 => {
            let ints = |t: &Seq| {
                t.items
                    .iter()
                    .map(Value::as_usize)
                    .collect::<Option<Vec<_>>>()
            };
            let offset = offset
                .as_usize()
                .ok_or(bad("storage offset is not a non-negative int"))?;
            let size = ints(size).ok_or(bad("size is not a tuple of non-negative ints"))?;
            let stride = ints(stride).ok_or(bad("stride is not a tuple of non-negative ints"))?;
            if size.len() != stride.len() {
                return Err(bad("size and stride have different lengths"));
            }
            Ok(Value::Tensor(Rc::new(TensorRef {
                storage: s.clone(),
                offset,
                size,
                stride,
            })))
        }
        (TorchGlobal::RebuildParameter, [t @ Value::Tensor(_), _grad, _hooks]) => Ok(t.clone()),
        _ => Err(bad("unexpected arguments")),
    }
}
