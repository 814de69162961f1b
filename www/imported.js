// Models from files: a dropped or chosen .onnx joins the model list and loads with the
// preprocessing picked in a menu (ONNX files do not say theirs; torchvision by default), and
// a dropped labels .txt (one class name a line) names its outputs.
import { Session } from './pkg/convscope.js';
import { el, megabytes } from './dom.js';
import { InputError } from './inputs.js';

export class ImportedModels {
  /**
   * `picker()` and `session()` give the page's current ones, `model()` the loaded model's
   * name; `load(name, file)` loads a model from its file the way the page loads any model.
   */
  constructor({ picker, session, model, status, load }) {
    Object.assign(this, { picker, session, model, status, load });
    this.labels = null;
    this.menu = null;
  }

  /** Takes `file` if it is a model (.onnx) or a labels file (.txt); returns whether it did. */
  async claim(file) {
    const lower = file.name.toLowerCase();
    if (lower.endsWith('.onnx')) {
      this.add(file);
      await this.load(file.name, file);
      return true;
    }
    if (!lower.endsWith('.txt')) return false;
    this.labels = await file.text();
    const count = this.labels.split('\n').filter((l) => l.trim()).length;
    this.status.notice('labels-file', `${file.name}: ${count} class names for the next model file loaded.`, 'info');
    const current = this.picker().files.get(this.model());
    if (current) await this.load(this.model(), current);
    return true;
  }

  /** Adds model file `file` to the picker, refusing one the page cannot hold. */
  add(file) {
    const max = Session.max_model_bytes();
    if (file.size > max) {
      throw new InputError(`"${file.name}" is ${megabytes(file.size)}, over the ${megabytes(max)} this page can hold: use the convscope tool (convscope summary ${file.name}) for it`);
    }
    if (file.size === 0) throw new InputError(`"${file.name}" is empty (0 bytes): choose an .onnx model file`);
    this.showMenu();
    const info = {
      name: file.name,
      description: `your file ${file.name} (${megabytes(file.size)})`,
      input: [3, 0, 0],
      labels: 'from the file',
      has_trained_weights: false,
      load: (name, bytes, onProgress) => this.loadBytes(info, name, bytes, onProgress),
    };
    this.picker().add(info, file);
  }

  async loadBytes(info, name, bytes, onProgress) {
    let report;
    try {
      report = await this.session().load_onnx(name, bytes, this.menu.value, this.labels, onProgress);
    } catch (e) {
      if (this.labels && /labels file/.test(e.message)) this.labels = null;
      throw e;
    }
    info.input = report.input;
    this.status.notice('import', `${name}: ${report.weights}; ${report.notes.join('; ')}.`, 'info');
    return report;
  }

  /** The preprocessing menu, shown once a model file has been added. */
  showMenu() {
    if (this.menu) return;
    const recipes = Session.preprocess_recipes();
    this.menu = el('select', { 'data-testid': 'preprocess-select', 'aria-label': 'preprocessing of a model file' },
      ...recipes.map((r, i) => el('option', { value: r }, i === 0 ? `${r} (default)` : r)));
    this.menu.addEventListener('change', () => {
      const file = this.picker().files.get(this.model());
      if (file) this.load(this.model(), file);
    });
    this.picker().select.closest('label').after(el('label', {}, 'Preprocessing ', this.menu));
  }
}
