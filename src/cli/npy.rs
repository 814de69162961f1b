//! NumPy `.npy` files (format version 1.0): a little-endian float32 array in C order. The
//! format is a magic string, a Python dict literal padded to a multiple of 64 bytes, then
//! the raw values (numpy's `numpy/lib/format.py` describes it).

use super::CliError;
use std::path::Path;

/// The bytes of an `.npy` file holding `values` shaped `shape`.
pub fn npy_bytes(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // A one-element tuple needs its trailing comma in Python.
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * values.len());
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// Write `values` shaped `shape` to `path` as `.npy`.
pub fn write_npy(path: &Path, shape: &[usize], values: &[f32]) -> Result<(), CliError> {
    std::fs::write(path, npy_bytes(shape, values))
        .map_err(|e| CliError::Io(path.display().to_string(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::npy_bytes;

    #[test]
    fn header_is_a_padded_dict_and_one_dimension_keeps_its_comma() {
        let b = npy_bytes(&[3], &[1.0, 2.0, 3.0]);
        let len = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + len) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"));
        assert_eq!(b.len(), 10 + len + 12);
        assert_eq!(&b[10 + len..10 + len + 4], &1.0f32.to_le_bytes());
    }
}
