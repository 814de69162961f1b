// The teaching lab: live comparisons (one large kernel against a 3x3 stack, Inception's 1x1
// reduction, ResNet's bottleneck, a dense head against global average pooling), each side's
// cost from the engine's analysis, the kernel pair timed on this device, a step-through of
// the growing receptive field, then the trained twins and the tricks panel (labtwins.js).
import { el } from './dom.js';
import { EvolutionView } from './evolution.js';
import { TwinsView } from './labtwins.js';
import { FamiliesPanel } from './labfamilies.js';

const exact = (n) => Number(n).toLocaleString('en-US');

/** Labels of the settings each comparison takes. */
const FIELDS = {
  in_c: 'input channels',
  out_c: 'output channels',
  reduce: '1×1 reduces to',
  c: 'channels',
  mid: 'bottleneck width',
  h: 'H',
  w: 'W',
  hidden: 'hidden units',
  classes: 'classes',
  k: 'large kernel',
};

/** What each comparison's two sides are called and what it teaches. */
const LESSONS = {
  kernels: {
    title: 'One large kernel or a stack of 3×3?',
    text: 'VGG replaced large kernels with stacks of 3×3 convolutions: the same receptive field, fewer weights, more non-linearities (Simonyan & Zisserman 2014, §2.3).',
  },
  inception: {
    title: 'Inception: a 1×1 reduction before the 5×5',
    text: 'GoogLeNet puts a 1×1 convolution in front of its expensive 5×5 branch to cut the channels it reads (Szegedy et al. 2014, §4; the defaults are inception (3a)).',
  },
  bottleneck: {
    title: 'ResNet: basic block against bottleneck',
    text: 'Deeper ResNets use 1×1-3×3-1×1 bottlenecks so the 3×3 runs on fewer channels (He et al. 2015, Fig. 5).',
  },
  heads: {
    title: 'Dense head against global average pooling',
    text: 'VGG ends in three dense layers; NiN and GoogLeNet average each map and keep one small dense layer (Lin et al. 2013; Szegedy et al. 2014).',
  },
};

/** Rows of a comparison table: label, value of one side. */
const ROWS = [
  ['layers', 'weighted layers', (s) => exact(s.layers)],
  ['params', 'parameters', (s) => exact(s.params)],
  ['macs', 'MACs', (s) => exact(s.macs)],
  ['flops', 'FLOPs (2 × MACs)', (s) => exact(s.flops)],
  ['nonlinearities', 'non-linearities', (s) => exact(s.nonlinearities)],
  ['rf', 'receptive field (px)', (s) => `${s.rf_size}×${s.rf_size}`],
  ['shape', 'output shape', (s) => `${s.output_shape.c}×${s.output_shape.h}×${s.output_shape.w}`],
];

/** One comparison: its settings as number inputs, both sides' costs in a table. */
class Lesson {
  constructor(root, kind, defaults, compare, onResult) {
    this.kind = kind;
    this.settings = { ...defaults };
    delete this.settings.kind;
    this.compare = compare;
    this.onResult = onResult;
    this.error = el('p', { class: 'lab-error', 'data-testid': `${kind}-error`, role: 'alert' });
    this.caption = el('p', { class: 'caption', 'data-testid': `${kind}-ratio` });
    const inputs = Object.entries(this.settings).map(([key, value]) => {
      const input = kind === 'kernels' && key === 'k'
        ? el('select', {}, ...[3, 5, 7, 9, 11].map((k) => el('option', { value: k, selected: k === value }, `${k}×${k}`)))
        : el('input', { type: 'number', min: 1, max: 100000, step: 1, value });
      input.dataset.testid = `${kind}-${key}`;
      input.addEventListener('input', () => {
        this.settings[key] = Number(input.value);
        this.update();
      });
      return el('label', {}, FIELDS[key], input);
    });
    this.head = el('tr', {}, el('th', {}, ''), el('th', { 'data-testid': `${kind}-a-label` }), el('th', { 'data-testid': `${kind}-b-label` }));
    this.body = el('tbody');
    const info = LESSONS[kind];
    root.append(el('section', { class: 'panel lab-lesson', 'data-testid': `lesson-${kind}` },
      el('h2', {}, info.title), el('p', { class: 'caption' }, info.text),
      el('div', { class: 'lab-inputs' }, ...inputs),
      this.error,
      el('table', { class: 'lab-table' }, el('thead', {}, this.head), this.body),
      this.caption,
      (this.extra = el('div'))));
    this.update();
  }

  update() {
    let result;
    try {
      result = this.compare({ kind: this.kind, ...this.settings });
    } catch (e) {
      this.error.textContent = e.message;
      return;
    }
    this.error.textContent = '';
    const [a, b] = [result.a, result.b];
    this.head.children[1].textContent = a.label;
    this.head.children[2].textContent = b.label;
    this.body.replaceChildren(...ROWS.map(([key, label, value]) => el('tr', {},
      el('th', {}, label),
      el('td', { class: 'num', 'data-testid': `${this.kind}-a-${key}` }, value(a)),
      el('td', { class: 'num', 'data-testid': `${this.kind}-b-${key}` }, value(b)))));
    this.caption.textContent = `${a.label} needs ${result.params_ratio.toFixed(2)}× the parameters and ${result.macs_ratio.toFixed(2)}× the MACs of ${b.label}.`;
    this.onResult?.(result, this);
  }
}

/** The receptive field growing layer by layer on a pixel grid, beside the single kernel's. */
class FieldSteps {
  constructor(root) {
    this.canvas = el('canvas', { class: 'rf-grid', 'data-testid': 'rf-steps' });
    this.text = el('p', { 'data-testid': 'rf-step-text' });
    this.prev = el('button', { type: 'button', 'data-testid': 'rf-step-prev', onclick: () => this.go(-1) }, '◀ previous layer');
    this.next = el('button', { type: 'button', 'data-testid': 'rf-step-next', onclick: () => this.go(1) }, 'next layer ▶');
    root.append(el('h3', {}, 'Step through the stack'), el('div', { class: 'controls' }, this.prev, this.next), this.text, this.canvas);
    this.step = 0;
  }

  /** `stack`: the 3x3 side's per-node analysis; `k`: the single kernel's size. */
  show(stack, k) {
    this.fields = stack.nodes.filter((n) => n.kind === 'conv').map((n) => n.receptive_field.h.size);
    this.k = k;
    this.step = Math.min(this.step, this.fields.length - 1);
    this.draw();
  }

  go(delta) {
    this.step = Math.max(0, Math.min(this.fields.length - 1, this.step + delta));
    this.draw();
  }

  draw() {
    const size = this.fields[this.step];
    const n = this.k + 4;
    const cell = 14;
    const gap = 3 * cell;
    this.canvas.width = 2 * n * cell + gap;
    this.canvas.height = n * cell + 18;
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const grid = (x0, field, colour, label) => {
      const start = (n - field) / 2;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          const inside = x >= start && x < start + field && y >= start && y < start + field;
          const centre = x === (n - 1) / 2 && y === (n - 1) / 2;
          g.fillStyle = centre ? '#1d2430' : inside ? colour : '#f3f5f8';
          g.fillRect(x0 + x * cell + 1, y * cell + 1, cell - 2, cell - 2);
        }
      }
      g.fillStyle = '#1d2430';
      g.font = '12px system-ui, sans-serif';
      g.fillText(label, x0, n * cell + 14);
    };
    grid(0, size, '#9cc3f5', `after 3×3 layer ${this.step + 1}: ${size}×${size}`);
    grid(n * cell + gap, this.k, '#f5c99c', `one ${this.k}×${this.k}: ${this.k}×${this.k}`);
    this.text.textContent = `After ${this.step + 1} of ${this.fields.length} stacked 3×3 layers, one output unit sees ${size}×${size} input pixels; the single ${this.k}×${this.k} sees ${this.k}×${this.k} in one layer.`;
    this.prev.disabled = this.step === 0;
    this.next.disabled = this.step === this.fields.length - 1;
  }
}

export class LabView {
  /** `session()` returns the current Session; `serial(task)` runs engine work one at a time. */
  constructor(root, { session, serial, status }) {
    this.root = root;
    this.session = session;
    this.serial = serial;
    this.status = status;
    this.opened = false;
  }

  /** Build the lab on first opening (the catalogue comes from the engine). */
  async open() {
    if (this.opened) return;
    this.opened = true;
    const catalog = this.session().lab_catalog();
    const compare = (lesson) => this.session().lab_compare(lesson);
    const lessons = el('div', { class: 'lab-lessons' });
    this.root.append(lessons);
    for (const defaults of catalog.lessons) {
      const kernels = defaults.kind === 'kernels';
      const lesson = new Lesson(lessons, defaults.kind, defaults, compare, kernels ? (r, l) => this.kernelResult(r, l) : null);
      if (kernels) this.addTiming(lesson);
    }
    const twins = new TwinsView(this.root, { session: this.session, status: this.status, catalog });
    await twins.load();
    new FamiliesPanel(this.root, { session: this.session, serial: this.serial, status: this.status }).load();
    await new EvolutionView(this.root, { session: this.session, serial: this.serial }).load();
    this.root.dataset.ready = 'true';
  }

  kernelResult(result, lesson) {
    if (!this.steps) {
      this.steps = new FieldSteps(lesson.extra);
    }
    this.steps.show(result.b, lesson.settings.k);
    this.timeCaption?.replaceChildren('Not measured for these settings yet.');
    for (const side of ['a', 'b']) {
      const cell = this.root.querySelector(`[data-testid="kernels-${side}-ms"]`);
      if (cell) cell.textContent = '–';
    }
  }

  addTiming(lesson) {
    const row = el('tr', {}, el('th', {}, 'measured time (this device)'),
      el('td', { class: 'num', 'data-testid': 'kernels-a-ms' }, '–'),
      el('td', { class: 'num', 'data-testid': 'kernels-b-ms' }, '–'));
    lesson.body.parentElement.append(el('tfoot', {}, row));
    this.timeCaption = el('span', { class: 'caption', 'data-testid': 'kernels-time-caption' }, 'Not measured for these settings yet.');
    const button = el('button', { type: 'button', 'data-testid': 'kernels-measure' }, 'Measure on this device');
    button.addEventListener('click', () => {
      const settings = { kind: 'kernels', ...lesson.settings };
      button.disabled = true;
      this.timeCaption.textContent = 'measuring…';
      this.serial(async () => {
        const t = await this.session().lab_time(settings, 5);
        row.children[1].textContent = `${t.large.ms.toFixed(2)} ms`;
        row.children[2].textContent = `${t.stacked.ms.toFixed(2)} ms`;
        const clock = t.large.clock === 'timestamps' ? 'GPU timestamps' : 'wall clock';
        this.timeCaption.textContent = `Median of ${t.large.runs} passes on ${t.backend === 'webgpu' ? 'WebGPU' : 'the CPU reference (no WebGPU)'}, ${clock}, random weights.`;
      }).catch((e) => {
        this.timeCaption.textContent = `Could not measure: ${e.message}`;
      }).finally(() => {
        button.disabled = false;
      });
    });
    lesson.extra.before(el('div', { class: 'controls' }, button, this.timeCaption));
  }
}
