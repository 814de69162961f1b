// "What each family added", on the running network: one folding panel per lesson that the
// loaded model can show (GoogLeNet's auxiliary heads, ResNet's residual norms, BatchNorm's
// channel moments, dead activation units and the activation curves, AlexNet's LRN and
// overlapping pooling). The engine computes every number from the last pass; this module
// asks for the open panels only and draws them. Which panels are open is kept in the URL.
import { lineChart } from './chart.js';
import { el, labelledSelect } from './dom.js';
import { Top5View } from './top5.js';
import { activationPanel, curvesPanel } from './activations.js';
import { lrnPanel, poolPanel } from './alexnetviews.js';

const fixed = (v, digits = 3) => (v == null ? '–' : v.toFixed(digits));

/** The panels, in page order: `show(nodes)` says whether the loaded model has one to show. */
const PANELS = [
  { key: 'heads', title: 'GoogLeNet: the auxiliary classifiers', show: (n) => n.heads.length > 1 },
  { key: 'residual', title: 'ResNet: residual branch against shortcut, block by block', show: (n) => n.residual.length > 0 },
  { key: 'batchnorm', title: 'BatchNorm: each channel before and after', show: (n) => n.batchnorm.length > 0 },
  { key: 'activations', title: 'Activations: dead and saturated units', show: (n) => n.activations.length > 0 },
  { key: 'curves', title: 'Activation functions and their derivatives', show: () => true },
  { key: 'lrn', title: 'AlexNet: local response normalisation', show: (n) => n.lrn.length > 0 },
  { key: 'pooling', title: 'AlexNet: overlapping pooling', show: (n) => n.overlapping_pools.length > 0 },
];

function headsView(body, data) {
  const columns = data.heads.map((h) => {
    const list = el('ol', { class: 'top5' });
    const caption = el('p', { class: 'caption' });
    new Top5View(list, caption).show(h.top5, h.main ? 'the main classifier: the one used at inference' : 'auxiliary: training only');
    return el('div', { class: 'head', 'data-testid': 'head', 'data-node': h.node },
      el('h4', {}, h.main ? `main (${h.node})` : h.node), list, caption);
  });
  body.replaceChildren(
    el('p', { class: 'caption' }, `GoogLeNet grows two small classifiers out of inception 4a and 4d. In training their losses are added `
      + `to the main loss with weight ${+data.aux_loss_weight.toFixed(2)} each, to push gradient into the middle of the deep network; at inference they `
      + `are dropped (Szegedy et al. 2014, §5). Here all three read the current input.`),
    el('div', { class: 'heads' }, ...columns),
  );
}

function residualView(body, blocks) {
  const chart = lineChart([
    { label: '‖F(x)‖ / ‖shortcut‖', color: '#2f7de1', values: blocks.map((b) => b.ratio) },
  ], { title: 'branch-to-shortcut norm ratio per residual block, input side first', format: (v) => v.toFixed(2) });
  const rows = blocks.map((b, i) => el('tr', { 'data-testid': 'residual-block', 'data-node': b.add, 'data-ratio': b.ratio },
    el('td', { class: 'num' }, String(i + 1)), el('td', {}, b.add),
    el('td', {}, b.identity ? 'identity' : `projection (${b.shortcut})`),
    el('td', { class: 'num' }, fixed(b.branch_norm, 1)), el('td', { class: 'num' }, fixed(b.shortcut_norm, 1)),
    el('td', { class: 'num' }, fixed(b.ratio))));
  body.replaceChildren(
    el('p', { class: 'caption' }, 'Each block adds a learned branch F(x) to its input x (He et al. 2015). Where the ratio is small the block '
      + 'nudges x rather than replacing it, and the gradient reaches early layers through the shortcut unchanged.'),
    chart,
    el('div', { class: 'table-scroll short' }, el('table', { class: 'lab-table' },
      el('thead', {}, el('tr', {}, ...['#', 'block', 'shortcut', '‖F(x)‖', '‖shortcut‖', 'ratio'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows))),
  );
}

function batchnormView(body, stats, picker) {
  const average = (v) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const chart = lineChart([
    { label: 'mean before', color: '#e1892f', values: stats.before_mean },
    { label: 'std before', color: '#a4161a', values: stats.before_std },
    { label: 'mean after', color: '#2f7de1', values: stats.after_mean },
    { label: 'std after', color: '#27ad81', values: stats.after_std },
  ], { title: `${stats.node}: each channel's mean and standard deviation over the map (channel on x)`, width: 420 });
  const rows = stats.before_mean.slice(0, 16).map((_, c) => el('tr', { 'data-testid': 'bn-channel', 'data-channel': c,
    'data-before-mean': stats.before_mean[c], 'data-before-std': stats.before_std[c], 'data-after-mean': stats.after_mean[c], 'data-after-std': stats.after_std[c] },
  el('td', { class: 'num' }, String(c)), ...[stats.before_mean, stats.before_std, stats.after_mean, stats.after_std].map((v) => el('td', { class: 'num' }, fixed(v[c])))));
  body.replaceChildren(
    picker,
    el('p', { class: 'caption' }, `At inference BatchNorm maps each channel through a fixed affine function learned in training `
      + `(Ioffe & Szegedy 2015). For this input: mean of the channel means ${fixed(average(stats.before_mean))} → ${fixed(average(stats.after_mean))}, `
      + `mean standard deviation ${fixed(average(stats.before_std))} → ${fixed(average(stats.after_std))} (input ${stats.input}).`),
    chart,
    el('table', { class: 'lab-table' },
      el('thead', {}, el('tr', {}, ...['channel', 'mean before', 'std before', 'mean after', 'std after'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)),
    el('p', { class: 'caption' }, stats.before_mean.length > 16 ? `first 16 of ${stats.before_mean.length} channels; the chart shows all` : ''),
  );
}

export class FamilyViews {
  /**
   * `parent`: where the section goes; `session()`: the current Session; `serial(task)`: runs
   * an engine call in turn; `report(error)`; `ran()`: whether a pass has run; `onChange()`:
   * the open panels changed (the page saves its hash).
   */
  constructor(parent, { session, serial, report, ran, onChange }) {
    Object.assign(this, { session, serial, report, ran, onChange });
    this.open = new Set();
    this.nodes = null;
    this.bn = null;
    this.details = new Map();
    this.list = el('div', { class: 'family-panels' });
    this.section = el('section', { class: 'panel families', 'aria-labelledby': 'families-title', 'data-testid': 'families' },
      el('h2', { id: 'families-title' }, 'What each family added'), this.list);
    parent.append(this.section);
  }

  /** The open panels, for the URL (`heads,residual`), or null. */
  panels() {
    return this.open.size ? [...this.open].join(',') : null;
  }

  /** Open the panels named in `text` (from the URL). */
  restore(text) {
    for (const key of (text ?? '').split(',')) if (PANELS.some((p) => p.key === key)) this.open.add(key);
  }

  /** A model was loaded: the panels it can show, closed or open as before. */
  setModel() {
    this.nodes = this.session().family_nodes();
    this.bn = this.nodes.batchnorm[0] ?? null;
    this.details.clear();
    const shown = PANELS.filter((p) => p.show(this.nodes));
    this.list.replaceChildren(...shown.map((p) => {
      const body = el('div', { class: 'family-body', 'data-testid': `family-${p.key}` },
        el('p', { class: 'caption' }, 'Classify an image to see this.'));
      const details = el('details', { 'data-panel': p.key, open: this.open.has(p.key) },
        el('summary', {}, p.title), body);
      details.addEventListener('toggle', () => {
        if (details.open === this.open.has(p.key)) return;
        if (details.open) this.open.add(p.key);
        else this.open.delete(p.key);
        this.onChange();
        if (details.open) this.serial(() => this.fill(p.key)).catch(this.report);
      });
      this.details.set(p.key, { details, body });
      return details;
    }));
  }

  /** After a pass or a node pick (inside a serial task): refill the open panels. */
  async refresh(node) {
    if (!this.nodes) return;
    if (node && this.nodes.batchnorm.includes(node)) this.bn = node;
    for (const key of this.open) {
      if (!this.details.has(key)) continue;
      // A panel that fails says why in place; the pass and the other panels stand.
      await this.fill(key).catch((e) => this.details.get(key).body.replaceChildren(
        el('p', { class: 'lab-error', role: 'alert' }, `This view failed: ${e instanceof Error ? e.message : e}`)));
    }
  }

  async fill(key) {
    const { body } = this.details.get(key);
    const s = this.session();
    if (key === 'curves') {
      curvesPanel(body, s.activation_curves(-6, 8, 281));
      return;
    }
    if (key === 'pooling') {
      poolPanel(body, this.nodes.overlapping_pools, (node) => s.pool_windows(node, 3, 3));
      return;
    }
    if (!this.ran()) return;
    body.dataset.state = 'loading';
    if (key === 'heads') headsView(body, await s.output_heads());
    if (key === 'residual') residualView(body, await s.residual_blocks());
    if (key === 'activations') activationPanel(body, await s.activation_shares());
    if (key === 'batchnorm') {
      const picker = labelledSelect('BatchNorm node', this.nodes.batchnorm, this.bn, (node) => {
        this.bn = node;
        this.serial(() => this.fill('batchnorm')).catch(this.report);
      }, 'bn-select');
      batchnormView(body, await s.batchnorm_stats(this.bn), picker);
    }
    if (key === 'lrn') {
      await lrnPanel(body, this.nodes.lrn, (node, channel) => s.lrn_maps(node, channel), this.serial, this.report);
    }
    body.dataset.state = 'ready';
    document.body.dataset.gpuReads = s.gpu_reads().join('|');
  }
}
