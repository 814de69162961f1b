// What a unit responds to, in pixels: a heat map over the input (gradient, guided backprop,
// Grad-CAM, guided Grad-CAM), the deconvnet projection of a clicked unit beside the input under
// its receptive field, occlusion's three maps and the top-9 gallery. The engine computes the
// maps, their normalisation and colours; this module paints the bytes it returns and says on
// which backend each view ran and how long it took.
import { EXPLAIN } from './config.js';
import { el } from './dom.js';
import { backendWords, paintRgba, rangeText, runTimed } from './explainkit.js';
import { OcclusionView } from './occlusion.js';
import { GalleryView } from './top9.js';

const METHODS = [
  ['gradient', 'gradient'], ['guided', 'guided backprop'], ['gradcam', 'Grad-CAM'], ['guided-gradcam', 'guided Grad-CAM'],
];

export class ExplainViews {
  /** `context`: `{session(), serial, status, node(), summary()}` from the page's controller. */
  constructor(root, context) {
    this.context = context;
    this.method = el('select', { 'data-testid': 'heatmap-method', 'aria-label': 'heat map' },
      ...METHODS.map(([value, label]) => el('option', { value }, label)));
    this.classInput = el('input', { type: 'number', min: 0, placeholder: 'top-1', 'data-testid': 'heatmap-class', 'aria-label': 'class' });
    this.camNode = el('select', { 'data-testid': 'heatmap-node', 'aria-label': 'Grad-CAM node' });
    this.heatCanvas = el('canvas', { class: 'explain-map', 'data-testid': 'heatmap' });
    this.heatCaption = el('p', { class: 'caption', 'data-testid': 'heatmap-caption' }, 'Classify an image, then show a heat map of a class (default the top-1) over it.');
    this.patchCanvas = el('canvas', { class: 'explain-map', 'data-testid': 'unit-patch' });
    this.projectionCanvas = el('canvas', { class: 'explain-map', 'data-testid': 'unit-projection' });
    this.unitCaption = el('p', { class: 'caption', 'data-testid': 'unit-caption' },
      'Click a unit of an enlarged feature map to see its deconvnet projection beside the input under its receptive field.');
    this.unitPair = el('div', { class: 'explain-pair', hidden: true },
      el('figure', {}, this.patchCanvas, el('figcaption', {}, 'input under the receptive field')),
      el('figure', {}, this.projectionCanvas, el('figcaption', {}, 'deconvnet projection')));
    root.append(
      el('h3', {}, 'Heat map over the input'),
      el('div', { class: 'controls' }, this.method, el('label', {}, 'class ', this.classInput), el('label', {}, 'Grad-CAM at ', this.camNode),
        el('button', { type: 'button', 'data-testid': 'heatmap-run', onclick: () => this.showHeatmap() }, 'Show')),
      this.heatCanvas, this.heatCaption,
      el('h3', {}, 'A unit, projected back to the pixels'),
      this.unitPair, this.unitCaption,
    );
    this.heatCanvas.hidden = true;
    this.occlusion = new OcclusionView(root, context);
    this.gallery = new GalleryView(root, context);
    // A click on a unit of the enlarged feature map (featuremaps.js names its node and channel).
    document.addEventListener('click', (e) => {
      const map = e.target.closest?.('[data-testid="enlarged-map"]');
      if (!map?.dataset.node) return;
      const [h, w] = [Number(map.dataset.h), Number(map.dataset.w)];
      const y = Math.min(h - 1, Math.max(0, Math.floor((e.offsetY * h) / map.clientHeight)));
      const x = Math.min(w - 1, Math.max(0, Math.floor((e.offsetX * w) / map.clientWidth)));
      this.projectUnit(map.dataset.node, Number(map.dataset.channel), y, x);
    });
    // After each classification (the controller counts them on the body).
    new MutationObserver(() => this.classified()).observe(document.body, { attributes: true, attributeFilter: ['data-classifications'] });
  }

  /** A new image was classified: views of the last one say so; the gallery may refresh. */
  classified() {
    this.fillNodes();
    for (const caption of [this.heatCaption, this.unitCaption]) {
      if (caption.dataset.done && !caption.dataset.stale) {
        caption.dataset.stale = 'true';
        caption.append(el('span', { class: 'stale' }, ' (of an earlier image: show it again for this one)'));
      }
    }
    this.occlusion.classified();
    this.gallery.classified();
  }

  /** Grad-CAM's node choices: the nodes with spatial extent, the last one first chosen. */
  fillNodes() {
    const summary = this.context.summary();
    if (!summary || this.camNode.dataset.model === summary.model) return;
    this.camNode.dataset.model = summary.model;
    const spatial = summary.nodes.filter((n) => n.shape[1] * n.shape[2] > 1 && n.kind !== 'input');
    this.camNode.replaceChildren(el('option', { value: '' }, 'last with extent'),
      ...spatial.map((n) => el('option', { value: n.name }, n.name)));
  }

  async showHeatmap() {
    const method = this.method.value;
    const node = this.camNode.value || undefined;
    const view = {
      busy: (on) => { this.heatCaption.dataset.busy = String(on); },
      progress: (stage) => { this.heatCaption.textContent = `${stage}…`; },
      fail: (message) => { this.heatCaption.textContent = `The heat map failed: ${message}`; },
    };
    this.heatCaption.textContent = `computing the ${method} map…`;
    const cls = this.classInput.value === '' ? undefined : Number(this.classInput.value);
    const done = await runTimed(this.context, view, (onProgress) => this.context.session().explain_heatmap(method, cls, node, onProgress));
    if (!done) return;
    const { result: m, ms } = done;
    paintRgba(this.heatCanvas, m.rgba, m.width, m.height, EXPLAIN.heatPx);
    this.heatCanvas.hidden = false;
    const c = this.heatCaption;
    delete c.dataset.stale;
    const where = method === 'gradcam' ? ` at ${m.node} (${m.shape.join('×')}, upsampled bilinearly)`
      : method === 'guided-gradcam' ? ` (${m.shape.join('×')}: guided backprop × Grad-CAM at ${m.node} upsampled bilinearly)` : ` (${m.shape.join('×')})`;
    c.textContent = `${METHODS.find(([v]) => v === method)[1]} of class ${m.class} (${m.class_name})${where} · ${rangeText(c, m.range)}`
      + ` · colormap ${m.colormap}; normalised ${m.normalisation}; ${m.picture}`
      + ` · ran on ${backendWords(m.backend)} in ${ms.toFixed(0)} ms`;
    Object.assign(c.dataset, { done: 'true', method, backend: m.backend, ms: ms.toFixed(1), class: String(m.class) });
  }

  async projectUnit(node, channel, y, x) {
    const c = this.unitCaption;
    const view = {
      busy: (on) => { c.dataset.busy = String(on); },
      progress: (stage) => { c.textContent = `${node} channel ${channel} at (${y}, ${x}): ${stage}…`; },
      fail: (message) => { c.textContent = `The projection failed: ${message}`; },
    };
    c.textContent = `projecting ${node} channel ${channel} at (${y}, ${x})…`;
    const done = await runTimed(this.context, view, (onProgress) => this.context.session().project_unit(node, channel, y, x, onProgress));
    if (!done) return;
    const { result: p, ms } = done;
    paintRgba(this.patchCanvas, p.patch_rgba, p.width, p.height, EXPLAIN.unitPx);
    paintRgba(this.projectionCanvas, p.projection_rgba, p.width, p.height, EXPLAIN.unitPx);
    this.unitPair.hidden = false;
    delete c.dataset.stale;
    c.textContent = `${p.node} channel ${p.channel}, unit (${p.y}, ${p.x}): receptive field ${p.height}×${p.width} px at (${p.top}, ${p.left})`
      + ` · projection ${rangeText(c, p.range)}; ${p.normalisation}`
      + ` · ran on ${backendWords(p.backend)} in ${ms.toFixed(0)} ms`;
    Object.assign(c.dataset, { done: 'true', node: p.node, channel: String(p.channel), y: String(p.y), x: String(p.x), backend: p.backend, ms: ms.toFixed(1) });
  }
}
