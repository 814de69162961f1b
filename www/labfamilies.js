// The lab's "Five families on one dataset" panel: the small AlexNet, VGG, NiN, GoogLeNet and
// ResNet (and the ResNet's plain twin) trained on Fashion-MNIST by convscope's trainer, with
// accuracy, parameters, MACs and training time from the engine and the run records, the time
// per image measured now on this device (fast CPU engine; WebGPU when the browser has it),
// and the training curves, the plain and residual pair on one chart.
import { PATHS } from './config.js';
import { el } from './dom.js';
import { lineChart } from './chart.js';

const exact = (n) => Number(n).toLocaleString('en-US');
const percent = (f) => (f == null ? '–' : `${(100 * f).toFixed(2)}%`);
const ms = (t) => (t ? `${t.ms.toFixed(3)} ms` : 'unavailable');
const COLOURS = ['#c43a3a', '#2f7de1', '#3aa35b', '#b23ac4', '#e1892f', '#1d2430'];

/** The text at `url`, or null when the server does not have it. */
async function fetchText(url) {
  try {
    const response = await fetch(url);
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

/** Table columns: heading, test id suffix, cell text of a row. */
const COLUMNS = [
  ['test accuracy', 'accuracy', (r) => percent(r.test_accuracy)],
  ['parameters', 'params', (r) => exact(r.params)],
  ['MACs / image', 'macs', (r) => exact(r.macs)],
  ['training time', 'train', (r) => (r.train_seconds == null ? 'not trained' : `${Math.round(r.train_seconds)} s`)],
  ['CPU / image', 'cpu', (r) => ms(r.cpu)],
  ['GPU / image', 'gpu', (r) => ms(r.gpu)],
];

export class FamiliesPanel {
  /** `session()` returns the current Session; `serial(task)` runs engine work one at a time. */
  constructor(root, { session, serial, status }) {
    this.session = session;
    this.serial = serial ?? ((task) => task());
    this.status = status;
    this.note = el('p', { class: 'caption', 'data-testid': 'families-gpu-note' }, 'measuring the time per image on this device…');
    this.error = el('p', { class: 'lab-error', role: 'alert', 'data-testid': 'families-error' });
    this.body = el('tbody');
    this.charts = el('div', { class: 'lab-pair' });
    this.panel = el('section', { class: 'panel lab-families', 'data-testid': 'lab-families' },
      el('h2', {}, 'Five families on one dataset'),
      el('p', { class: 'caption' }, 'Small versions of AlexNet, VGG, NiN, GoogLeNet and ResNet that keep each design, and a plain twin of the ResNet with the same 20 layers and no shortcuts, all trained by convscope\'s trainer on Fashion-MNIST (28×28) with the same settings and seed. Accuracy is on the 10,000 test images; parameters and MACs count every node, GoogLeNet\'s auxiliary classifiers included; the times per image are measured now, on this device, with random weights.'),
      el('table', { class: 'lab-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'family'), el('th', {}, 'model'), ...COLUMNS.map(([h]) => el('th', {}, h)))),
        this.body),
      this.note, this.error, this.charts);
    root.append(this.panel);
  }

  async load() {
    const catalog = this.session().lab_families_catalog();
    const listed = new Set(((await fetchText(PATHS.recordsManifest)) ?? '').split('\n').map((l) => l.trim()));
    const records = await Promise.all(catalog.families.map((f) => {
      const file = `${f.model}.run.json`;
      return listed.has(file) ? fetchText(`${PATHS.weights}${file}`) : null;
    }));
    try {
      this.status?.busy('timing the five families on this device…');
      const report = await this.serial(() => this.session().lab_families(records, 5));
      this.show(report, catalog);
      this.status?.info('The lab is ready.');
    } catch (e) {
      this.error.textContent = `Could not compare the families: ${e.message}`;
    }
    this.panel.dataset.ready = 'true';
  }

  show(report, catalog) {
    this.body.replaceChildren(...report.families.map((r) => el('tr', { title: r.keeps },
      el('th', {}, r.family),
      el('td', { 'data-testid': `family-${r.model}-model` }, r.model),
      ...COLUMNS.map(([, id, text]) => el('td', { class: 'num', 'data-testid': `family-${r.model}-${id}` }, text(r))))));
    const gpu = report.families.every((r) => r.gpu);
    this.note.textContent = gpu
      ? `CPU: the fast CPU engine (WebAssembly); GPU: WebGPU, ${report.gpu_adapter}. Each the median of ${report.families[0].cpu.runs} samples.`
      : `CPU: the fast CPU engine (WebAssembly), median of ${report.families[0]?.cpu?.runs ?? 0} samples. GPU time unavailable: this browser offers no WebGPU adapter.`;
    this.note.title = report.gpu_adapter;
    const rows = new Map(report.families.map((r) => [r.model, r]));
    const errors = (r, key) => r.curve.map((p) => p[key]);
    const [plain, residual] = catalog.pair.map((m) => rows.get(m));
    const pairSeries = [plain, residual].filter((r) => r && r.curve.length).flatMap((r, i) => [
      { label: `${r.family}: train error`, color: COLOURS[i], values: errors(r, 'train_error') },
      { label: `${r.family}: test error`, color: i ? '#9cc3f5' : '#f0a0a0', values: errors(r, 'test_error') },
    ]);
    const format = (v) => `${(100 * v).toFixed(1)}%`;
    const figures = [];
    if (pairSeries.length) {
      const pair = lineChart(pairSeries, { title: 'Plain against residual, same 20 layers: train and test error per epoch (He et al. 2015, Fig. 1)', format });
      pair.dataset.testid = 'families-pair-chart';
      figures.push(pair);
    }
    const trained = report.families.filter((r) => r.curve.length);
    if (trained.length) {
      const all = lineChart(trained.map((r, i) => ({ label: r.family, color: COLOURS[i % COLOURS.length], values: errors(r, 'test_error') })),
        { title: 'Test error per epoch, every family', format });
      all.dataset.testid = 'families-curves';
      figures.push(all);
    }
    this.charts.replaceChildren(...figures);
  }
}
