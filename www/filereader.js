// Reading a chosen or dropped file in chunks into one buffer, with progress, refusing a file
// over a size limit before any of it is read (a model file can be hundreds of MB).
import { megabytes } from './dom.js';

/** Bytes read between progress reports. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of `file`, read `CHUNK_BYTES` at a time into one `Uint8Array` (the only copy
 * held), calling `onProgress(fraction)` after each chunk. Throws a message a person can act on
 * for an empty file, a file over `maxBytes`, or one that changes while it is read.
 */
export async function readFileInChunks(file, { onProgress = () => {}, maxBytes = Infinity } = {}) {
  const name = `"${file.name}"`;
  if (file.size === 0) throw new Error(`${name} is empty (0 bytes)`);
  if (file.size > maxBytes) {
    throw new Error(`${name} is ${megabytes(file.size)}, over the ${megabytes(maxBytes)} this page can hold: use the convscope tool for it`);
  }
  let bytes;
  try {
    bytes = new Uint8Array(file.size);
  } catch {
    throw new Error(`${name} (${megabytes(file.size)}) does not fit in this tab's memory`);
  }
  for (let offset = 0; offset < file.size; offset += CHUNK_BYTES) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    if (offset + chunk.length > bytes.length) throw new Error(`${name} grew while it was being read`);
    bytes.set(chunk, offset);
    onProgress(Math.min(1, (offset + chunk.length) / file.size));
  }
  return bytes;
}
