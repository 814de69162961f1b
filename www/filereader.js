// Reading a chosen or dropped file (weights, checkpoints, models) into WebAssembly memory, a
// chunk at a time with progress: each chunk goes straight into the engine's `FileBytes`, so
// no copy of the whole file is kept in JavaScript; files over a size limit are refused before
// any memory is taken.
import { FileBytes } from './pkg/convscope.js';
import { InputError } from './inputs.js';
import { megabytes } from './dom.js';

/** Bytes read between progress reports and turns of the page. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Room in WebAssembly memory for `size` bytes of `name`, or an InputError saying why not. */
export function fileBytes(name, size) {
  try {
    return new FileBytes(name, size);
  } catch (e) {
    throw new InputError(e.message);
  }
}

/**
 * The bytes of `file` (a File or Blob with a `name`) as a `FileBytes` for the session, read
 * `CHUNK_BYTES` at a time; `onProgress(fraction)` after each chunk. A file over `maxBytes`,
 * or one WebAssembly memory cannot hold, is an InputError saying so, and nothing is kept.
 */
export async function readFileInChunks(file, { onProgress = () => {}, maxBytes = Infinity } = {}) {
  if (file.size > maxBytes) {
    throw new InputError(`${file.name} is ${megabytes(file.size)}, over the ${megabytes(maxBytes)} this page can hold (a file and its decoded weights are in WebAssembly memory at once while it loads): use the command-line tool for it`);
  }
  const bytes = fileBytes(file.name, file.size);
  try {
    let offset = 0;
    while (offset < file.size) {
      const end = Math.min(file.size, offset + CHUNK_BYTES);
      const chunk = new Uint8Array(await file.slice(offset, end).arrayBuffer());
      if (chunk.length !== end - offset) throw new InputError(`${file.name} changed while it was being read`);
      bytes.push(chunk);
      offset = end;
      onProgress(offset / file.size);
    }
  } catch (e) {
    bytes.free();
    throw e;
  }
  return bytes;
}
