// The lab's trained networks: each pair of twins side by side (recorded test accuracy and
// curves, costs from the engine's analysis, first-layer filters and their responses to one
// Fashion-MNIST test image, dead and low-contrast filter counts), then the tricks panel.
import { PATHS } from './config.js';
import { el } from './dom.js';
import { lineChart } from './chart.js';
import { paint } from './featuremaps.js';
import { fashionImage, fashionThumbnail, loadFashionSamples, onePerClass } from './fashion.js';

const SERIES_COLOURS = ['#2f7de1', '#e1892f', '#3aa35b', '#b23ac4', '#c43a3a', '#1d2430'];
const percent = (fraction) => `${(100 * fraction).toFixed(2)}%`;
// A threshold set in Rust as an f32 arrives with its binary noise (0.1 as 0.10000000149011612):
// three significant digits say it as written.
const thresholdPercent = (fraction) => `${Number((100 * fraction).toPrecision(3))}%`;
const exact = (n) => Number(n).toLocaleString('en-US');

/** The bytes at `url`, or null when the server does not have it. */
async function fetchOptional(url, as) {
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    return as === 'text' ? await response.text() : new Uint8Array(await response.arrayBuffer());
  } catch {
    return null;
  }
}

/** A tile per channel of `values` (`[c, h, w]`), all on one scale. */
function tiles(values, [c, h, w], { size = 3, testid, symmetric = false } = {}) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (symmetric) {
    hi = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -hi;
  }
  return el('div', { class: 'lab-tiles' }, ...Array.from({ length: c }, (_, i) => {
    const canvas = el('canvas', { class: 'tile', 'data-testid': testid, style: { width: `${w * size}px`, height: `${h * size}px` } });
    paint(canvas, values, i * h * w, h, w, lo, hi);
    return canvas;
  }));
}

export class TwinsView {
  constructor(root, { session, status, catalog }) {
    this.root = root;
    this.session = session;
    this.status = status;
    this.catalog = catalog;
    this.sample = 0;
    this.cards = [];
  }

  async load() {
    const names = [...new Set([...this.catalog.twins.flatMap((t) => [t.a, t.b]), ...this.catalog.tricks.map((t) => t.model)])];
    this.status.busy('loading the lab\'s trained networks…');
    const listed = async (url) => new Set(((await fetchOptional(url, 'text')) ?? '').split('\n').map((l) => l.trim()));
    const [weightFiles, recordFiles] = await Promise.all([listed(PATHS.weightsManifest), listed(PATHS.recordsManifest)]);
    const optional = (file, set, as) => (set.has(file) ? fetchOptional(`${PATHS.weights}${file}`, as) : null);
    const [samples, ...files] = await Promise.all([
      loadFashionSamples(),
      ...names.map(async (name) => ({
        name,
        weights: await optional(`${name}.safetensors`, weightFiles),
        record: await optional(`${name}.run.json`, recordFiles, 'text'),
      })),
    ]);
    this.samples = samples;
    this.files = new Map(files.map((f) => [f.name, f]));
    // One network at a time, letting the page paint in between (the CPU measures each
    // first layer on every sample image).
    this.reports = new Map();
    for (const name of names) {
      const f = this.files.get(name);
      this.status.busy(`measuring the first layer of ${name}…`);
      this.reports.set(name, this.session().lab_side(name, f.weights, f.record, samples.pixels, samples.count));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const twins = el('section', { class: 'panel lab-twins', 'data-testid': 'lab-twins' },
      el('h2', {}, 'Trained twins on Fashion-MNIST'),
      el('p', { class: 'caption' }, `Each pair differs in one design choice and was trained by convscope's own trainer with the same settings and seed; accuracies are on the 10,000 test images. Dead filters never respond to the first ${samples.count} test images; low-contrast filters have a weight spread below ${thresholdPercent(this.catalog.low_contrast)} of the layer's largest.`),
      this.samplePicker());
    this.root.append(twins);
    for (const twin of this.catalog.twins) twins.append(this.twinCard(twin));
    this.root.append(this.tricksPanel());
    this.showSample(0);
    this.status.info('The lab is ready.');
  }

  samplePicker() {
    const classes = this.catalog.fashion_classes;
    const buttons = onePerClass(this.samples).map((i) => el('button', {
      type: 'button', class: 'lab-sample', 'data-testid': 'lab-sample', title: classes[this.samples.labels[i]], onclick: () => this.showSample(i),
    }, fashionThumbnail(this.samples, i)));
    this.sampleCaption = el('span', { class: 'caption', 'data-testid': 'lab-sample-caption' });
    return el('div', { class: 'controls lab-samples' }, 'Input for the feature maps:', ...buttons, this.sampleCaption);
  }

  showSample(i) {
    this.sample = i;
    const label = this.samples.labels[i];
    this.sampleCaption.textContent = `test image ${i}: ${this.catalog.fashion_classes[label] ?? '?'}`;
    const image = fashionImage(this.samples, i);
    for (const { name, maps } of this.cards) {
      const f = this.files.get(name);
      if (!f.weights) continue;
      const m = this.session().lab_first_maps(name, f.weights, image);
      maps.replaceChildren(el('p', { class: 'caption' }, `${m.node}: ${m.shape[0]} maps of ${m.shape[1]}×${m.shape[2]}, one scale for the layer`),
        tiles(m.data, m.shape, { size: Math.max(2, Math.round(56 / m.shape[1])), testid: 'lab-map' }));
    }
  }

  side(name, twin) {
    const r = this.reports.get(name);
    const rec = r.record;
    const rows = [
      ['test accuracy', rec ? percent(rec.test_accuracy) : 'not trained here', 'accuracy'],
      ['parameters', exact(r.params), 'params'],
      ['MACs per image', exact(r.macs), 'macs'],
      ['non-linearities', exact(r.nonlinearities), 'relus'],
    ];
    const first = r.first_layer;
    if (first && twin.count_dead_filters) {
      rows.push(['first layer', `${first.filters.length} filters ${first.kernel}×${first.kernel} / ${first.stride}`, 'first']);
      rows.push(['dead filters', exact(first.dead), 'dead']);
      rows.push(['low-contrast filters', exact(first.low_contrast), 'low-contrast']);
    }
    const maps = el('div', { class: 'lab-maps' });
    this.cards.push({ name, maps });
    const filters = first
      ? [el('p', { class: 'caption' }, `${first.node}: ${first.filters.length} filters of ${first.kernel}×${first.kernel}, stride ${first.stride} (one colour scale, zero in the middle)`),
        tiles(first.filters.flatMap((f) => f.weights), [first.filters.length, first.kernel, first.kernel], { size: Math.max(3, Math.round(36 / first.kernel)), testid: 'lab-filter', symmetric: true })]
      : [el('p', { class: 'caption' }, `No trained weights: run \`convscope train ${name}\`.`)];
    return el('div', { class: 'lab-side', 'data-testid': `twin-${name}` },
      el('h3', {}, name), el('p', { class: 'caption' }, r.description),
      el('table', { class: 'lab-table' }, el('tbody', {}, ...rows.map(([label, value, key]) =>
        el('tr', {}, el('th', {}, label), el('td', { class: 'num', 'data-testid': `${name}-${key}` }, value))))),
      ...filters, maps,
      rec ? el('p', { class: 'caption' }, 'Reproduce: ', el('code', {}, rec.command)) : null);
  }

  twinCard(twin) {
    const [a, b] = [this.reports.get(twin.a), this.reports.get(twin.b)];
    const curves = (key, format) => [a, b].filter((r) => r.record).map((r, i) => ({
      label: r.model, color: SERIES_COLOURS[i], values: r.record.epochs.map((e) => format(e[key])),
    }));
    const charts = a.record || b.record
      ? el('div', { class: 'lab-charts' },
        lineChart(curves('test_accuracy', (v) => 100 * v), { title: 'test accuracy (%) per epoch', format: (v) => v.toFixed(1) }),
        lineChart(curves('train_loss', (v) => v), { title: 'training loss per epoch' }))
      : null;
    return el('article', { class: 'lab-twin', 'data-testid': `twin-${twin.id}` },
      el('h3', {}, twin.title), el('p', {}, twin.lesson), charts,
      el('div', { class: 'lab-pair' }, this.side(twin.a, twin), this.side(twin.b, twin)));
  }

  tricksPanel() {
    const runs = this.catalog.tricks.map((t, i) => ({ ...t, report: this.reports.get(t.model), color: SERIES_COLOURS[i % SERIES_COLOURS.length] }));
    const trained = runs.filter((r) => r.report.record);
    const last = (r) => r.report.record.epochs.at(-1);
    const table = el('table', { class: 'lab-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'run'), el('th', {}, 'network'), el('th', {}, 'test accuracy'), el('th', {}, 'final training loss'), el('th', {}, 'reproduce'))),
      el('tbody', {}, ...runs.map((r) => el('tr', { 'data-testid': `trick-${r.model}` },
        el('th', {}, r.label), el('td', {}, r.model),
        el('td', { class: 'num', 'data-testid': `${r.model}-accuracy` }, r.report.record ? percent(r.report.record.test_accuracy) : 'not trained here'),
        el('td', { class: 'num' }, r.report.record ? last(r).train_loss.toFixed(4) : '–'),
        el('td', {}, el('code', {}, r.report.record?.command ?? `convscope train ${r.model}`))))));
    const series = (key, f) => trained.map((r) => ({ label: r.label, color: r.color, values: r.report.record.epochs.map((e) => f(e[key])) }));
    return el('section', { class: 'panel lab-tricks', 'data-testid': 'lab-tricks' },
      el('h2', {}, 'Training tricks'),
      el('p', { class: 'caption' }, 'One small network trained with each trick alone and with all of them: BatchNorm (Ioffe & Szegedy 2015), dropout (Srivastava et al. 2014), label smoothing (Szegedy et al. 2016), linear warm-up then cosine decay (Goyal et al. 2017; Loshchilov & Hutter 2017). Recorded runs, one seed each: differences below a few tenths of a percent are within run-to-run noise. With label smoothing the loss has a higher floor, so compare its accuracy, not its loss. Dropout and label smoothing regularise: they pay off when a network overfits, and can cost accuracy in runs this short.'),
      table,
      trained.length ? el('div', { class: 'lab-charts' },
        lineChart(series('test_accuracy', (v) => 100 * v), { title: 'test accuracy (%) per epoch', width: 440, format: (v) => v.toFixed(1) }),
        lineChart(series('train_loss', (v) => v), { title: 'training loss per epoch', width: 440 })) : null);
  }
}
