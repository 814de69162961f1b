// The model picker (the zoo and models added from files), and fetching a model's trained
// weights with a progress bar.
import { PATHS } from './config.js';
import { el } from './dom.js';
import { fileBytes, readFileInChunks } from './filereader.js';

/** Names of the models whose trained weights the server has (one file name a line). */
export async function availableWeights() {
  try {
    const response = await fetch(PATHS.weightsManifest);
    if (!response.ok) return [];
    const text = await response.text();
    return text.split('\n').map((l) => l.trim().replace(/\.safetensors$/, '')).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The bytes of `url` as a `FileBytes` for the session (each piece copied into WebAssembly
 * memory as it arrives), calling `onProgress(fraction)` as they do.
 */
export async function fetchWithProgress(url, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: the server answered ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get('Content-Length')) || 0;
  if (!response.body || !total) {
    const whole = new Uint8Array(await response.arrayBuffer());
    const bytes = fileBytes(url, whole.length);
    bytes.push(whole);
    return bytes;
  }
  const bytes = fileBytes(url, total);
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes.filled() + value.length > total) throw new Error(`${url}: more bytes than its Content-Length`);
      bytes.push(value);
      onProgress(bytes.filled() / total);
    }
    if (bytes.filled() !== total) throw new Error(`${url}: the download stopped at ${bytes.filled()} of ${total} bytes`);
  } catch (e) {
    bytes.free();
    throw e;
  }
  return bytes;
}

/** The `<select>` of the whole zoo; models without trained weights say so. */
export class ModelPicker {
  constructor(select, models, onPick) {
    this.select = select;
    this.models = new Map(models.map((m) => [m.name, m]));
    select.replaceChildren(
      ...models.map((m) =>
        el('option', { value: m.name, title: m.description },
          `${m.name}${m.has_trained_weights ? '' : ' (random weights)'}`),
      ),
    );
    /** Models added from files (an imported `.onnx`): their `File`, read again when picked. */
    this.files = new Map();
    select.addEventListener('change', () => onPick(select.value, this.files.get(select.value)));
  }

  /** Add (or replace) a model read from `file`, described by `info`, to the list. */
  add(info, file) {
    if (!this.models.has(info.name)) this.select.append(el('option', { value: info.name, title: info.description }, info.name));
    this.models.set(info.name, info);
    this.files.set(info.name, file);
  }

  has(name) {
    return this.models.has(name) && !this.files.has(name);
  }

  info(name) {
    return this.models.get(name);
  }

  set(name) {
    this.select.value = name;
  }
}
