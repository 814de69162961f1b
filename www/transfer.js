// "Teach it your own classes": transfer learning's third way, live. The visitor names two to
// five classes, puts camera frames or photos into each, and the engine trains a new head on
// EfficientNet-Lite0's pooled features; the panel's camera then shows the head's guess. The
// head can be saved (a .safetensors download) and loaded back. Rust computes; this renders.
import { el } from './dom.js';
import { Camera, InputError, decodeFile } from './inputs.js';

/** The network whose features the head reads (Rust: engine::transfer::TRANSFER_MODEL). */
const MODEL = 'efficientnet_lite0';
/** Rust: engine::transfer::MAX_TAUGHT_CLASSES. */
const MAX_CLASSES = 5;
const FIRST_NAMES = ['one thing', 'another'];
/** How long the camera loop waits between frames while there is no head yet (ms). */
const IDLE_MS = 250;

export class TransferView {
  /**
   * `parent`: where the panel goes; `session()`: the page's Session; `serial(task)`: the
   * page's one-call-at-a-time queue; `model()`: the loaded model's name; `loadModel(name)`:
   * loads a model as the picker does.
   */
  constructor(parent, { session, serial, model, loadModel }) {
    Object.assign(this, { session, serial, model, loadModel, shown: 2, hasHead: false });
    const id = (name) => ({ 'data-testid': `transfer-${name}` });
    this.message = el('p', { class: 'transfer-message', role: 'status', ...id('message') });
    this.result = el('p', { class: 'caption', ...id('result') });
    this.guess = el('div', { class: 'transfer-guess', ...id('prediction') });
    this.rows = Array.from({ length: MAX_CLASSES }, (_, i) => this.classRow(i));
    const video = el('video', { class: 'camera', muted: true, playsinline: true, hidden: true });
    const cameraButton = el('button', { type: 'button', ...id('camera') }, 'Start camera');
    this.camera = new Camera(video, cameraButton, (frame) => this.onFrame(frame), (why) => this.say(why, 'error'));
    this.addButton = el('button', { type: 'button', ...id('add-class'), onclick: () => this.showRows(this.shown + 1) }, 'Add a class');
    this.removeButton = el('button', { type: 'button', ...id('remove-class'), onclick: () => this.showRows(this.shown - 1) }, 'Remove the last class');
    const loadInput = el('input', { type: 'file', accept: '.safetensors', ...id('load') });
    loadInput.addEventListener('change', () => {
      const file = loadInput.files?.[0];
      loadInput.value = '';
      if (file) this.loadHead(file);
    });
    this.section = el('section', { class: 'panel transfer', 'aria-labelledby': 'transfer-title', ...id('panel') },
      el('h2', { id: 'transfer-title' }, 'Teach it your own classes'),
      el('p', { class: 'caption' }, 'Name two to five classes, add camera frames or photos to each, and train a new head (dense 1280 → classes, softmax) on '
        + 'EfficientNet-Lite0\'s pooled features; the rest of the network stays as trained on ImageNet. Then the camera here shows the head\'s guess.'),
      el('div', { class: 'controls' }, cameraButton, this.addButton, this.removeButton),
      video,
      el('div', { class: 'transfer-classes' }, ...this.rows.map((r) => r.row)),
      el('div', { class: 'controls' },
        el('button', { type: 'button', ...id('train'), onclick: () => this.train() }, 'Train the head'),
        el('button', { type: 'button', ...id('save'), onclick: () => this.saveHead() }, 'Save head'),
        el('label', { class: 'file-button' }, 'Load a saved head', loadInput)),
      this.message, this.result, this.guess);
    parent.append(this.section);
    this.showRows(2);
  }

  classRow(i) {
    const id = (name) => ({ 'data-testid': `transfer-${name}-${i}` });
    const name = el('input', { type: 'text', value: FIRST_NAMES[i] ?? '', placeholder: `class ${i + 1}`, 'aria-label': `name of class ${i + 1}`, ...id('name') });
    const count = el('span', { class: 'caption', ...id('count') }, '0 examples');
    const photos = el('input', { type: 'file', accept: 'image/*', multiple: true, ...id('photos') });
    photos.addEventListener('change', () => {
      const files = [...(photos.files ?? [])];
      photos.value = '';
      this.addPhotos(i, files);
    });
    const row = el('div', { class: 'transfer-class', ...id('row') }, name,
      el('button', { type: 'button', ...id('capture'), onclick: () => this.capture(i) }, 'Add camera frame'),
      el('label', { class: 'file-button' }, 'or photos', photos),
      count,
      el('button', { type: 'button', ...id('clear'), onclick: () => this.clear(i) }, 'Clear'));
    // Photos dropped on a class go into it, not to the page's classifier.
    row.addEventListener('dragover', (e) => {
      e.preventDefault();
      e.stopPropagation();
    });
    row.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      this.addPhotos(i, [...(e.dataTransfer?.files ?? [])]);
    });
    return { row, name, count };
  }

  showRows(n) {
    this.shown = Math.min(MAX_CLASSES, Math.max(1, n));
    this.rows.forEach((r, i) => { r.row.hidden = i >= this.shown; });
    this.addButton.disabled = this.shown >= MAX_CLASSES;
    this.removeButton.disabled = this.shown <= 1;
  }

  say(text, kind = 'info') {
    this.message.textContent = text;
    this.message.className = `transfer-message ${kind}`;
    this.message.dataset.kind = kind;
  }

  fail(e) {
    this.say(e instanceof Error ? e.message : String(e), 'error');
  }

  showCounts(counts) {
    this.rows.forEach((r, i) => { r.count.textContent = `${counts[i]} example${counts[i] === 1 ? '' : 's'}`; });
  }

  /** EfficientNet-Lite0 loaded (through the page, so its picker agrees) before any feature is taken. */
  async ensureModel() {
    if (this.model() === MODEL) return;
    this.say(`loading ${MODEL}, whose features the head reads…`);
    await this.loadModel(MODEL);
    if (this.model() !== MODEL) throw new Error(`${MODEL} could not be loaded; the head needs its features`);
  }

  /** Adds `frames` to class `i` through the engine, one at a time. */
  async addFrames(i, frames) {
    await this.ensureModel();
    let added = null;
    for (const frame of frames) {
      added = await this.serial(() => this.session().teach_add_rgba(i, frame.width, frame.height, frame.data));
      this.showCounts(added.counts);
    }
    const name = this.rows[i].name.value.trim() || `class ${i + 1}`;
    this.say(`${frames.length} example${frames.length === 1 ? '' : 's'} added to "${name}" (features on ${added.backend}).`);
  }

  async capture(i) {
    try {
      const video = this.camera.video;
      if (!this.camera.stream || video.readyState < 2 || !video.videoWidth) {
        throw new InputError('start the camera first (or add photos to the class)');
      }
      await this.addFrames(i, [this.camera.frame(video.videoWidth, video.videoHeight)]);
    } catch (e) {
      this.fail(e);
    }
  }

  async addPhotos(i, files) {
    try {
      if (!files.length) return;
      const frames = [];
      for (const file of files) frames.push(await decodeFile(file));
      await this.addFrames(i, frames);
    } catch (e) {
      this.fail(e);
    }
  }

  clear(i) {
    this.session().teach_clear(i);
    this.showCounts(this.session().teach_counts());
  }

  names() {
    return this.rows.slice(0, this.shown).map((r) => r.name.value);
  }

  async train() {
    try {
      const taught = await this.serial(async () => this.session().teach_train(this.names()));
      const counts = taught.per_class.map((n, i) => `${taught.classes[i]} ${n}`).join(', ');
      this.result.textContent = `Head trained on ${this.session().backend()} features in ${taught.ms.toFixed(0)} ms: `
        + `${taught.epochs} epochs over ${taught.examples} examples (${counts}); `
        + `training accuracy ${(100 * taught.train_accuracy).toFixed(0)}%, loss ${taught.final_loss.toFixed(3)}.`;
      this.result.dataset.ms = String(taught.ms);
      this.hasHead = true;
      this.say(this.camera.stream ? 'Trained: the camera shows its guess below.' : 'Trained: start the camera to see its guess, or drop a photo on the page.');
      document.body.dataset.transferTrained = String(Number(document.body.dataset.transferTrained ?? 0) + 1);
    } catch (e) {
      this.fail(e);
    }
  }

  /** The camera loop's frame: the head's guess, once there is a head. */
  async onFrame(frame) {
    if (!this.hasHead) {
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      return true;
    }
    try {
      await this.ensureModel();
      const guess = await this.serial(() => this.session().teach_predict_rgba(frame.width, frame.height, frame.data));
      this.showGuess(guess);
    } catch (e) {
      this.fail(e);
      return false;
    }
    return true;
  }

  showGuess(guess) {
    this.guess.replaceChildren(
      el('p', { class: 'transfer-best', 'data-testid': 'transfer-best' }, guess.name),
      el('ol', { class: 'top5' }, ...guess.classes.map((name, i) => el('li', { 'data-probability': guess.probabilities[i].toFixed(6) },
        el('span', { class: 'label' }, name),
        el('span', { class: 'bar' }, el('span', { class: 'fill', style: { width: `${(100 * guess.probabilities[i]).toFixed(1)}%` } })),
        el('span', { class: 'prob' }, `${(100 * guess.probabilities[i]).toFixed(1)}%`)))));
    document.body.dataset.transferGuesses = String(Number(document.body.dataset.transferGuesses ?? 0) + 1);
  }

  saveHead() {
    try {
      const bytes = this.session().teach_save();
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      const link = el('a', { href: url, download: 'head.safetensors' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.say(`Saved the head (${bytes.length} bytes) as head.safetensors.`);
    } catch (e) {
      this.fail(e);
    }
  }

  async loadHead(file) {
    try {
      if (file.size === 0) throw new InputError(`"${file.name}" is empty (0 bytes): choose a head saved with "Save head"`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const classes = this.session().teach_load(bytes);
      this.showRows(classes.length);
      classes.forEach((name, i) => { this.rows[i].name.value = name; });
      this.hasHead = true;
      document.body.dataset.transferLoaded = String(Number(document.body.dataset.transferLoaded ?? 0) + 1);
      this.say(`Loaded the head in "${file.name}": ${classes.join(', ')}.`);
    } catch (e) {
      this.fail(e);
    }
  }
}
