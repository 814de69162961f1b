//! A file the page reads (a model or weights file), held in WebAssembly memory once: the page
//! fills it a slice of the file at a time, straight from the browser's chunks, so no copy of
//! the whole file is kept in JavaScript; the engine then takes its bytes by value.

use wasm_bindgen::prelude::*;

/// A file's bytes in WebAssembly memory, filled in order by [`FileBytes::push`].
#[wasm_bindgen]
pub struct FileBytes {
    bytes: Vec<u8>,
    /// The file's size: room for it is taken at once, so a file that cannot fit is refused
    /// before any of it is read.
    size: usize,
}

#[wasm_bindgen]
impl FileBytes {
    /// Room for the `size` bytes of file `name`, or a message if WebAssembly memory cannot
    /// grow that far (instead of an abort that would end the session).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, size: f64) -> Result<FileBytes, JsError> {
        let no_room = || {
            JsError::new(&format!(
                "{name} ({:.1} MB) does not fit in this page's WebAssembly memory: close other tabs, or use the command-line tool",
                size / 1e6
            ))
        };
        if !(0.0..=u32::MAX as f64).contains(&size) {
            return Err(no_room());
        }
        let size = size as usize;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size).map_err(|_| no_room())?;
        Ok(FileBytes { bytes, size })
    }

    /// Append the next `chunk` of the file, copied straight into WebAssembly memory.
    pub fn push(&mut self, chunk: &js_sys::Uint8Array) -> Result<(), JsError> {
        let (start, n) = (self.bytes.len(), chunk.length() as usize);
        if start + n > self.size {
            return Err(JsError::new(&format!(
                "the file has more than the {} bytes it said it had",
                self.size
            )));
        }
        self.bytes.resize(start + n, 0);
        chunk.copy_to(&mut self.bytes[start..]);
        Ok(())
    }

    /// How many bytes have been pushed.
    pub fn filled(&self) -> f64 {
        self.bytes.len() as f64
    }

    /// The file's size, as given when it was made.
    pub fn size(&self) -> f64 {
        self.size as f64
    }
}

impl FileBytes {
    /// The bytes, once every chunk is in; an error if some are missing.
    pub(super) fn into_bytes(self) -> Result<Vec<u8>, JsError> {
        if self.bytes.len() != self.size {
            return Err(JsError::new(&format!(
                "the file was read up to byte {} of {}",
                self.bytes.len(),
                self.size
            )));
        }
        Ok(self.bytes)
    }
}
