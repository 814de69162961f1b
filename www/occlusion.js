// Occlusion sensitivity (Zeiler & Fergus Fig. 7): a grey square slides over the input and the
// network runs at each position. Three maps, painted from the engine's pixels: the class's
// probability, the most probable class (a colour per class, with a legend) and the total
// activation of the strongest channel of the node the feature maps show; a progress bar
// follows the positions.
import { EXPLAIN } from './config.js';
import { el } from './dom.js';
import { backendWords, num, paintRgba, rangeText, runTimed } from './explainkit.js';

export class OcclusionView {
  constructor(root, context) {
    this.context = context;
    this.patch = el('input', { type: 'number', min: 1, placeholder: 'auto', 'data-testid': 'occlusion-patch', 'aria-label': 'patch side' });
    this.stride = el('input', { type: 'number', min: 1, placeholder: 'auto', 'data-testid': 'occlusion-stride', 'aria-label': 'stride' });
    this.bar = el('progress', { max: 1, value: 0, hidden: true, 'data-testid': 'occlusion-progress' });
    this.caption = el('p', { class: 'caption', 'data-testid': 'occlusion-caption' },
      'Classify an image, then slide a grey square over it (defaults: 32 px every 16 px at 224×224, scaled to the input).');
    this.maps = ['probability', 'top-class', 'activation'].map((name) => ({
      name,
      canvas: el('canvas', { class: 'explain-map', 'data-testid': `occlusion-${name}` }),
      label: el('figcaption', {}),
    }));
    this.legend = el('ul', { class: 'class-legend', 'data-testid': 'occlusion-legend' });
    this.figures = el('div', { class: 'explain-pair', hidden: true, 'data-testid': 'occlusion-figures' },
      ...this.maps.map((m) => el('figure', {}, m.canvas, m.label)));
    root.append(
      el('h3', {}, 'Occlusion'),
      el('div', { class: 'controls' }, el('label', {}, 'patch ', this.patch), el('label', {}, 'stride ', this.stride),
        el('button', { type: 'button', 'data-testid': 'occlusion-run', onclick: () => this.run() }, 'Occlude')),
      this.bar, this.figures, this.legend, this.caption,
    );
  }

  classified() {
    const c = this.caption;
    if (c.dataset.done && !c.dataset.stale) {
      c.dataset.stale = 'true';
      c.append(el('span', { class: 'stale' }, ' (of an earlier image: occlude again for this one)'));
    }
  }

  async run() {
    const c = this.caption;
    const number = (input) => (input.value ? Number(input.value) : undefined);
    const view = {
      busy: (on) => {
        this.bar.hidden = !on;
        this.bar.value = 0;
        c.dataset.busy = String(on);
      },
      progress: (stage, fraction) => {
        this.bar.value = fraction;
        c.textContent = `${stage}: ${Math.round(100 * fraction)}%`;
      },
      fail: (message) => { c.textContent = `Occlusion failed: ${message}`; },
    };
    c.textContent = 'occluding…';
    const done = await runTimed(this.context, view,
      (onProgress) => this.context.session().occlusion(undefined, this.context.node() ?? undefined, number(this.patch), number(this.stride), onProgress));
    if (!done) return;
    const { result: o, ms } = done;
    const size = 4 * o.rows * o.cols;
    this.maps.forEach((m, k) => paintRgba(m.canvas, o.rgba.subarray(k * size, (k + 1) * size), o.cols, o.rows, EXPLAIN.occlusionPx));
    const [p, top, act] = this.maps;
    p.label.textContent = `p(${o.class_name}): ${rangeText(p.canvas, o.probability_range)} (unoccluded ${num(o.unoccluded_probability)})`;
    top.label.textContent = 'most probable class (colours below)';
    act.label.textContent = `${o.node} channel ${o.channel}, total activation: ${rangeText(act.canvas, o.activation_range)} (unoccluded ${num(o.unoccluded_activation)})`;
    this.legend.replaceChildren(...o.top_classes.slice(0, EXPLAIN.legendClasses).map((s) => el('li', {},
      el('span', { class: 'swatch', style: { background: `rgb(${s.colour.join(',')})` } }),
      `${s.name} (${s.count})`)));
    this.figures.hidden = false;
    delete c.dataset.stale;
    c.textContent = `${o.rows}×${o.cols} positions of a ${o.patch} px square every ${o.stride} px, set to 0 in the normalised input (the mean colour)`
      + ` · colormap ${o.colormap}; normalised ${o.normalisation}`
      + ` · ran on ${backendWords(o.backend)} in ${ms.toFixed(0)} ms`;
    Object.assign(c.dataset, { done: 'true', backend: o.backend, ms: ms.toFixed(1), rows: String(o.rows), cols: String(o.cols), class: String(o.class) });
  }
}
