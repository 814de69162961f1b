// Reading a chosen or dropped file (weights, checkpoints) into one Uint8Array, a chunk at a
// time with progress, refusing files over a size limit before any memory is taken.
import { InputError } from './inputs.js';
import { megabytes } from './dom.js';

/** Bytes read between progress reports and turns of the page. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of `file` (a File or Blob with a `name`) in one buffer, read `CHUNK_BYTES` at a
 * time; `onProgress(fraction)` after each chunk. A file over `maxBytes`, or one the browser
 * cannot find memory for, is an InputError saying so, and nothing is kept.
 */
export async function readFileInChunks(file, { onProgress = () => {}, maxBytes = Infinity } = {}) {
  if (file.size > maxBytes) {
    throw new InputError(`${file.name} is ${megabytes(file.size)}, over the ${megabytes(maxBytes)} this page can hold (weights are kept twice in WebAssembly memory while they load): use the command-line tool for it`);
  }
  let bytes;
  try {
    bytes = new Uint8Array(file.size);
  } catch (e) {
    throw new InputError(`${file.name} (${megabytes(file.size)}) does not fit in this tab's memory (${e.message}): close other tabs or use the command-line tool`);
  }
  let offset = 0;
  while (offset < file.size) {
    const end = Math.min(file.size, offset + CHUNK_BYTES);
    const chunk = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    if (chunk.length !== end - offset) throw new InputError(`${file.name} changed while it was being read`);
    bytes.set(chunk, offset);
    offset = end;
    onProgress(offset / file.size);
  }
  return bytes;
}
