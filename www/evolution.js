// The lab's "How features grow during training" panel (Zeiler & Fergus 2013, Fig. 4): for a
// trained model whose run record lists checkpoints, one column per checkpoint (epoch, test
// accuracy): the first-layer filters, then for each chosen channel of a layer the test image
// that excites it most (of the page's 100) with the unit's deconvnet projection. The engine
// computes every picture (`Session.evolution_column`); this module fetches the files and paints.
import { PATHS } from './config.js';
import { el } from './dom.js';
import { backendWords, num, paintRgba, runTimed } from './explainkit.js';
import { loadFashionSamples } from './fashion.js';

/** Shown size (px, longer side) of the filter mosaic and of each patch and projection. */
const FILTERS_PX = 150;
const PATCH_PX = 64;
const percent = (fraction) => `${(100 * fraction).toFixed(2)}%`;

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.text();
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

export class EvolutionView {
  constructor(root, { session, serial }) {
    this.session = session;
    this.serial = serial;
    this.plans = new Map();
    this.model = el('select', { 'data-testid': 'evolution-model', onchange: () => this.pickModel() });
    this.node = el('select', { 'data-testid': 'evolution-node' });
    this.channels = el('input', { type: 'text', value: '0,1,2', size: 8, 'data-testid': 'evolution-channels', 'aria-label': 'channels' });
    this.button = el('button', { type: 'button', 'data-testid': 'evolution-run', onclick: () => this.run() }, 'Show how the features grow');
    this.bar = el('progress', { max: 1, value: 0, hidden: true });
    this.caption = el('p', { class: 'caption', 'data-testid': 'evolution-caption' });
    this.grid = el('table', { class: 'evolution-grid', 'data-testid': 'evolution-grid' });
    this.panel = el('section', { class: 'panel lab-evolution', 'data-testid': 'evolution' },
      el('h2', {}, 'How features grow during training'),
      el('p', { class: 'caption' }, 'Zeiler & Fergus (2013, Fig. 4) followed units through training: the weights saved after chosen epochs, each column one of them. First the first layer\'s filters, then for each chosen channel of a layer the test image (of the 100 here) that excites it most, beside the deconvnet projection of that unit (what in the image made it fire).'),
      el('div', { class: 'controls' },
        el('label', {}, 'model ', this.model), el('label', {}, 'layer ', this.node),
        el('label', {}, 'channels ', this.channels), this.button),
      this.bar, this.caption, this.grid);
    root.append(this.panel);
  }

  /** Find every model whose run record lists checkpoints (the engine reads the records). */
  async load() {
    let names = [];
    try {
      names = (await fetchText(PATHS.recordsManifest)).split('\n').map((l) => l.trim()).filter(Boolean);
    } catch {
      names = [];
    }
    for (const file of names) {
      try {
        const plan = this.session().evolution_plan(await fetchText(`${PATHS.weights}${file}`));
        this.plans.set(plan.model, plan);
      } catch {
        // A record without checkpoints (or one this build cannot read) offers nothing here.
      }
    }
    this.model.replaceChildren(...[...this.plans.keys()].map((name) => el('option', { value: name }, name)));
    this.panel.dataset.models = String(this.plans.size);
    if (this.plans.size === 0) {
      this.caption.textContent = 'No trained model here has checkpoints: `convscope train MODEL --checkpoints 1,2,3,6` makes them.';
      this.button.disabled = true;
      return;
    }
    this.pickModel();
  }

  pickModel() {
    const plan = this.plans.get(this.model.value);
    this.node.replaceChildren(...plan.layers.map((l) => el('option', { value: l.node, selected: l.node === plan.default_node },
      `${l.node} (${l.kind}, ${l.channels}×${l.height}×${l.width})`)));
    this.caption.textContent = `${plan.model}: ${plan.checkpoints.length} checkpoints (epochs ${plan.checkpoints.map((c) => c.epoch).join(', ')}).`;
  }

  /** Which channels the box names, or an error a person can act on. */
  chosenChannels() {
    const text = this.channels.value.trim();
    if (text === '') return [];
    const parts = text.split(',').map((s) => s.trim());
    if (!parts.every((s) => /^\d+$/.test(s))) throw new Error(`channels "${text}": give whole numbers separated by commas, e.g. 0,1,2`);
    return parts.map(Number);
  }

  async run() {
    const plan = this.plans.get(this.model.value);
    const node = this.node.value;
    delete this.panel.dataset.state;
    let channels;
    try {
      channels = this.chosenChannels();
    } catch (e) {
      this.fail(e.message);
      return;
    }
    this.grid.replaceChildren();
    const view = {
      busy: (on) => { this.bar.hidden = !on; this.button.disabled = on; },
      progress: (stage, fraction) => { this.bar.value = fraction; this.caption.textContent = `${plan.model} ${node}: ${stage}…`; },
      fail: (message) => this.fail(message),
    };
    const done = await runTimed({ serial: this.serial }, view, async (onProgress) => {
      const samples = await loadFashionSamples();
      const columns = [];
      for (const c of plan.checkpoints) {
        const weights = await fetchBytes(`${PATHS.weights}${c.file}`);
        columns.push(await this.session().evolution_column(plan.model, node, channels, c.epoch, c.test_accuracy, weights, samples.pixels, samples.count, onProgress));
        this.draw(columns);
      }
      return columns;
    });
    if (!done) return;
    const { result: columns, ms } = done;
    const c = columns[0];
    const projected = [...new Set(columns.map((col) => col.projection_backend))].map(backendWords).join(' and ');
    this.caption.textContent = `${columns.length} checkpoints of ${plan.model}, ${node}: ranked the ${c.inputs} test images on ${backendWords(c.ranking_backend)}, projected on ${projected}, in ${(ms / 1000).toFixed(2)} s. ${c.normalisation}.`;
    Object.assign(this.panel.dataset, { state: 'done', backend: columns[columns.length - 1].projection_backend, ms: String(ms) });
  }

  fail(message) {
    this.caption.textContent = `The feature evolution failed: ${message}`;
    this.panel.dataset.state = 'failed';
  }

  /** The columns so far: epochs across, filters then each unit down. */
  draw(columns) {
    const head = el('tr', {}, el('th', {}, ''), ...columns.map((c) => el('th', {
      'data-testid': 'evolution-epoch', 'data-epoch': String(c.epoch), 'data-accuracy': String(c.test_accuracy),
    }, `epoch ${c.epoch}`, el('br'), `test ${percent(c.test_accuracy)}`)));
    const first = columns[0];
    const filters = el('tr', {}, el('th', {}, `first-layer filters${first.filters ? ` (${first.filters.node}, ${first.filters.count} of ${first.filters.kernel.join('×')})` : ''}`),
      ...columns.map((c) => {
        const canvas = el('canvas', { 'data-testid': 'evolution-filters' });
        if (c.filters) paintRgba(canvas, c.filters_rgba, c.filters.width, c.filters.height, FILTERS_PX);
        return el('td', {}, canvas);
      }));
    const size = 4 * first.patch_height * first.patch_width;
    const units = first.units.map((u, k) => el('tr', {}, el('th', {}, `${first.node} channel ${u.channel}: strongest input, projection`),
      ...columns.map((c) => {
        const v = c.units[k];
        const patch = el('canvas', { 'data-testid': 'evolution-patch' });
        const projection = el('canvas', { 'data-testid': 'evolution-projection' });
        paintRgba(patch, c.patches.subarray(k * size, (k + 1) * size), c.patch_width, c.patch_height, PATCH_PX);
        paintRgba(projection, c.projections.subarray(k * size, (k + 1) * size), c.patch_width, c.patch_height, PATCH_PX);
        return el('td', {
          'data-testid': 'evolution-unit', 'data-epoch': String(c.epoch), 'data-channel': String(v.channel), 'data-image': String(v.image), 'data-value': String(v.value),
        }, el('div', { class: 'evolution-pair' }, patch, projection), el('div', { class: 'caption' }, `image ${v.image}, ${num(v.value)}`));
      })));
    this.grid.replaceChildren(el('thead', {}, head), el('tbody', {}, filters, ...units));
  }
}
