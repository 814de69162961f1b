//! ONNX tensors and attributes as plain values: an initializer's numbers from `raw_data`
//! (little-endian) or the typed fields, every size checked before anything is allocated, and
//! a node's attributes read by name with their defaults.

use super::super::ImportError;
use super::proto::{AttributeProto, AttributeType, DataLocation, NodeProto, TensorProto};

/// A constant: an initializer or a `Constant` node's value, as f32 (weights) and, for integer
/// tensors, the exact integers too (shapes, pads).
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
    /// The exact values of an integer tensor.
    pub ints: Option<Vec<i64>>,
}

impl Const {
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// The integers of this tensor (exact for integer tensors, truncated floats otherwise).
    pub fn as_ints(&self) -> Vec<i64> {
        match &self.ints {
            Some(v) => v.clone(),
            None => self.data.iter().map(|&f| f as i64).collect(),
        }
    }
    /// The one value of a tensor of one element.
    pub fn scalar(&self) -> Option<f32> {
        (self.data.len() == 1).then(|| self.data[0])
    }
}

// ONNX TensorProto.DataType codes (onnx.proto).
const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;

fn bad(tensor: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Tensor {
        tensor: tensor.into(),
        reason: reason.into(),
    }
}

/// IEEE half precision to f32.
fn half_to_f32(bits: u16) -> f32 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f32::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Number of elements of `dims`, refusing negative dimensions and products that overflow.
pub fn element_count(tensor: &str, dims: &[i64]) -> Result<(Vec<usize>, usize), ImportError> {
    let mut count: usize = 1;
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = usize::try_from(d).map_err(|_| bad(tensor, format!("negative dimension {d}")))?;
        count = count
            .checked_mul(d)
            .ok_or_else(|| bad(tensor, format!("dimensions {dims:?} overflow")))?;
        out.push(d);
    }
    Ok((out, count))
}

/// The values of `t` (taken out of it, so its raw bytes are freed as it is read).
pub fn read_tensor(t: &mut TensorProto) -> Result<Const, ImportError> {
    let name = t.name.clone();
    if t.data_location == DataLocation::External as i32 || !t.external_data.is_empty() {
        let location = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map(|e| e.value.clone())
            .unwrap_or_default();
        return Err(ImportError::ExternalData {
            tensor: name,
            location,
        });
    }
    let (dims, count) = element_count(&name, &t.dims)?;
    let width = match t.data_type {
        FLOAT | INT32 => 4,
        INT64 | DOUBLE => 8,
        FLOAT16 => 2,
        other => {
            return Err(bad(
                &name,
                format!("element type {other} is not supported (float, double, float16, int32 and int64 are)"),
            ))
        }
    };
    let raw = std::mem::take(&mut t.raw_data);
    let found = if raw.is_empty() {
        match t.data_type {
            FLOAT => t.float_data.len(),
            INT32 | FLOAT16 => t.int32_data.len(),
            INT64 => t.int64_data.len(),
            _ => t.double_data.len(),
        }
    } else {
        raw.len() / width
    };
    if found != count || (!raw.is_empty() && !raw.len().is_multiple_of(width)) {
        return Err(bad(
            &name,
            format!("shape {dims:?} needs {count} values, the file holds {found}"),
        ));
    }
    let mut ints = None;
    let data: Vec<f32> = match (t.data_type, raw.is_empty()) {
        (FLOAT, false) => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        (FLOAT, true) => std::mem::take(&mut t.float_data),
        (DOUBLE, false) => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        (DOUBLE, true) => t.double_data.iter().map(|&v| v as f32).collect(),
        (FLOAT16, false) => raw
            .chunks_exact(2)
            .map(|b| half_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        (FLOAT16, true) => t
            .int32_data
            .iter()
            .map(|&v| half_to_f32(v as u16))
            .collect(),
        (kind, _) => {
            let values = read_ints(kind, &raw, t);
            let floats = values.iter().map(|&v| v as f32).collect();
            ints = Some(values);
            floats
        }
    };
    Ok(Const { dims, data, ints })
}

/// The values of an INT64 or INT32 tensor, from `raw` (little-endian) or its typed field.
fn read_ints(kind: i32, raw: &[u8], t: &mut TensorProto) -> Vec<i64> {
    match (kind, raw.is_empty()) {
        (INT64, false) => raw
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        (INT64, true) => std::mem::take(&mut t.int64_data),
        (_, false) => raw
            .chunks_exact(4)
            .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        (_, true) => t.int32_data.iter().map(|&v| i64::from(v)).collect(),
    }
}

/// A node's attributes, read by name.
pub struct Attrs<'a> {
    pub node: &'a NodeProto,
}

impl<'a> Attrs<'a> {
    fn find(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }
    fn kind(a: &AttributeProto) -> Option<AttributeType> {
        AttributeType::try_from(a.r#type).ok()
    }
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }
    pub fn int(&self, name: &str, default: i64) -> i64 {
        match self.find(name) {
            Some(a) if Self::kind(a) != Some(AttributeType::Float) => a.i,
            Some(a) => a.f as i64,
            None => default,
        }
    }
    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.find(name) {
            Some(a) if Self::kind(a) == Some(AttributeType::Int) => a.i as f32,
            Some(a) => a.f,
            None => default,
        }
    }
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.find(name).map(|a| a.ints.clone())
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.find(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
    /// A tensor attribute (`Constant`'s `value`), taken as a copy.
    pub fn tensor(&self, name: &str) -> Option<TensorProto> {
        self.find(name).and_then(|a| a.t.clone())
    }
    /// Every attribute name, for messages about the ones not understood.
    pub fn names(&self) -> Vec<&'a str> {
        self.node
            .attribute
            .iter()
            .map(|a| a.name.as_str())
            .collect()
    }
}
