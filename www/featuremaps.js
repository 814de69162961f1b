// Feature maps: every channel of the picked node as a colormapped tile, normalised per
// channel or per layer (the legend says which); click a tile to enlarge it, hover a unit
// of the enlarged map to see its receptive field on the input.
import { COLORMAP, ENLARGED_PX, MANY_CHANNELS, SMALL_TILE_PX, TILE_PX } from './config.js';
import { el, shapeText } from './dom.js';

/** 256 RGB entries interpolated between the colormap's stops. */
const LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (COLORMAP.length - 1);
    const k = Math.min(Math.floor(x), COLORMAP.length - 2);
    const f = x - k;
    for (let c = 0; c < 3; c++) lut[3 * i + c] = Math.round(COLORMAP[k][c] * (1 - f) + COLORMAP[k + 1][c] * f);
  }
  return lut;
})();

/** Paint `values[offset .. offset + h*w]` on `canvas`, mapping [lo, hi] onto the colormap. */
export function paint(canvas, values, offset, h, w, lo, hi) {
  canvas.width = w;
  canvas.height = h;
  const context = canvas.getContext('2d');
  const image = context.createImageData(w, h);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < h * w; i++) {
    const v = values[offset + i];
    const k = Number.isFinite(v) ? 3 * Math.max(0, Math.min(255, Math.round((v - lo) * scale))) : 0;
    const d = image.data;
    d[4 * i] = LUT[k];
    d[4 * i + 1] = LUT[k + 1];
    d[4 * i + 2] = LUT[k + 2];
    d[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

function range(values, start, end) {
  let lo = Infinity;
  let hi = -Infinity;
  let sum = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v;
  }
  return { lo, hi, mean: sum / Math.max(1, end - start) };
}

const fmt = (v) => (Math.abs(v) >= 1e3 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(2) : v.toFixed(3));

export class FeatureMapView {
  /** `onHover(node, y, x)` when a unit is hovered, `onLeave()` when the pointer leaves. */
  constructor(root, { select, onPickNode, onHover, onLeave }) {
    this.select = select;
    this.onHover = onHover;
    this.onLeave = onLeave;
    select.addEventListener('change', () => onPickNode(select.value));
    const radio = (value, label, checked) => el('label', {},
      el('input', { type: 'radio', name: 'norm', value, checked, 'data-testid': `norm-${value}`, onchange: () => this.setNorm(value) }), label);
    this.sortBox = el('input', { type: 'checkbox', 'data-testid': 'sort-channels', onchange: () => this.render() });
    this.legend = el('p', { class: 'legend', 'data-testid': 'norm-legend' });
    this.grid = el('div', { class: 'tiles', 'data-testid': 'tiles' });
    this.bigCanvas = el('canvas', { class: 'enlarged', 'data-testid': 'enlarged-map' });
    this.bigCaption = el('p', { class: 'caption' });
    this.big = el('div', { class: 'enlarged-panel', hidden: true }, this.bigCaption, this.bigCanvas);
    root.append(
      el('div', { class: 'controls' }, radio('channel', 'per channel', true), radio('layer', 'per layer', false),
        el('label', {}, this.sortBox, 'sort by mean activation')),
      this.legend, this.big, this.grid,
    );
    this.norm = 'channel';
    this.data = null;
    this.enlarged = null;
    this.bigCanvas.addEventListener('mousemove', (e) => this.hover(e));
    this.bigCanvas.addEventListener('mouseleave', () => onLeave());
  }

  /** Fill the node picker from the summary's nodes. */
  setNodes(nodes) {
    this.select.replaceChildren(
      ...nodes.map((n) => el('option', { value: n.name }, `${n.name} · ${n.kind} · ${shapeText(n.shape)}`)),
    );
  }

  setNorm(norm) {
    this.norm = norm;
    this.render();
  }

  clear(message = '') {
    this.data = null;
    this.enlarged = null;
    this.big.hidden = true;
    this.grid.replaceChildren();
    this.legend.textContent = message;
  }

  /** Show `values` (`[c, h, w]` channel-major) of `node`. */
  show(node, shape, values) {
    if (this.data?.node !== node) this.enlarged = null;
    this.select.value = node;
    const [c, h, w] = shape;
    const stats = Array.from({ length: c }, (_, ch) => range(values, ch * h * w, (ch + 1) * h * w));
    const layer = { lo: Math.min(...stats.map((s) => s.lo)), hi: Math.max(...stats.map((s) => s.hi)) };
    this.data = { node, shape, values, stats, layer };
    this.render();
  }

  bounds(ch) {
    return this.norm === 'layer' ? this.data.layer : this.data.stats[ch];
  }

  render() {
    if (!this.data) return;
    const { node, shape: [c, h, w], values, stats, layer } = this.data;
    if (h * w === 1) return this.renderVector();
    this.legend.textContent = this.norm === 'layer'
      ? `Per layer: every tile maps the layer's range [${fmt(layer.lo)}, ${fmt(layer.hi)}] onto the colormap (dark = low, yellow = high).`
      : 'Per channel: each tile maps its own min..max onto the colormap (dark = low, yellow = high); hover a tile for its range.';
    const order = [...Array(c).keys()];
    if (this.sortBox.checked) order.sort((a, b) => stats[b].mean - stats[a].mean);
    const side = c > MANY_CHANNELS ? SMALL_TILE_PX : TILE_PX;
    const scale = side / Math.max(h, w);
    this.grid.replaceChildren(...order.map((ch) => {
      const { lo, hi } = this.bounds(ch);
      const canvas = el('canvas', {
        class: 'tile', 'data-testid': 'feature-map', 'data-channel': ch,
        title: `${node} channel ${ch}: min ${fmt(stats[ch].lo)}, max ${fmt(stats[ch].hi)}, mean ${fmt(stats[ch].mean)}`,
        style: { width: `${w * scale}px`, height: `${h * scale}px` },
        onclick: () => this.enlarge(ch),
      });
      paint(canvas, values, ch * h * w, h, w, lo, hi);
      return canvas;
    }));
    if (this.enlarged !== null) this.enlarge(this.enlarged);
  }

  /** Flat nodes (dense, pooled vectors): one canvas, one cell per value, per-layer range. */
  renderVector() {
    const { node, shape: [c], values, layer } = this.data;
    const cols = Math.ceil(Math.sqrt(c));
    const rows = Math.ceil(c / cols);
    const padded = new Float32Array(rows * cols).fill(layer.lo);
    padded.set(values.subarray(0, c));
    const canvas = el('canvas', { class: 'vector', 'data-testid': 'feature-vector', title: `${node}: ${c} values, row by row` });
    const scale = Math.max(1, Math.floor(ENLARGED_PX / cols));
    canvas.style.width = `${cols * scale}px`;
    canvas.style.height = `${rows * scale}px`;
    paint(canvas, padded, 0, rows, cols, layer.lo, layer.hi);
    this.legend.textContent = `${node} is a vector of ${c} values (no spatial map), drawn row by row in one grid; range [${fmt(layer.lo)}, ${fmt(layer.hi)}].`;
    this.big.hidden = true;
    this.grid.replaceChildren(canvas);
  }

  enlarge(ch) {
    const { node, shape: [, h, w], values, stats } = this.data;
    this.enlarged = ch;
    const { lo, hi } = this.bounds(ch);
    const scale = ENLARGED_PX / Math.max(h, w);
    this.bigScale = scale;
    this.bigCanvas.style.width = `${w * scale}px`;
    this.bigCanvas.style.height = `${h * scale}px`;
    paint(this.bigCanvas, values, ch * h * w, h, w, lo, hi);
    this.bigCaption.textContent = `${node}, channel ${ch} (${h}×${w}; min ${fmt(stats[ch].lo)}, max ${fmt(stats[ch].hi)}): hover a unit to outline its receptive field on the input.`;
    this.big.hidden = false;
    for (const t of this.grid.querySelectorAll('.tile.selected')) t.classList.remove('selected');
    this.grid.querySelector(`.tile[data-channel="${ch}"]`)?.classList.add('selected');
  }

  hover(e) {
    if (!this.data) return;
    const [, h, w] = this.data.shape;
    const y = Math.min(h - 1, Math.max(0, Math.floor(e.offsetY / this.bigScale)));
    const x = Math.min(w - 1, Math.max(0, Math.floor(e.offsetX / this.bigScale)));
    this.onHover(this.data.node, y, x);
  }
}
