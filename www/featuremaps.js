// Feature maps: every channel of the picked node as a colormapped tile, normalised per
// channel or per layer (the legend says which); click a tile to enlarge it, hover a unit
// of the enlarged map to see its receptive field on the input. The engine draws the tiles
// into one canvas (`showGpu`): from the node's GPU buffer after a WebGPU pass, painted in
// Rust after a CPU pass. For flat nodes, or where a WebGPU canvas cannot be drawn, this
// module paints values it was given (`show`).
import { COLORMAP, ENLARGED_PX, MANY_CHANNELS, SMALL_TILE_PX, TILE_PX } from './config.js';
import { el, shapeText } from './dom.js';

/** 256 RGB entries interpolated between the colormap's stops (the engine draws with it too). */
export const LUT = (() => {
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
    this.sortBox = el('input', { type: 'checkbox', 'data-testid': 'sort-channels', onchange: () => this.redraw() });
    this.legend = el('p', { class: 'legend', 'data-testid': 'norm-legend' });
    // Keyboard: the tiles take the focus as one; arrow keys enlarge the next or previous channel.
    this.grid = el('div', { class: 'tiles', 'data-testid': 'tiles', tabindex: 0, role: 'group',
      'aria-label': 'feature map tiles: arrow keys enlarge the next or previous channel', onkeydown: (e) => this.step(e) });
    this.bigCaption = el('p', { class: 'caption' });
    this.big = el('div', { class: 'enlarged-panel', hidden: true }, this.bigCaption);
    this.bigCanvas = null;
    root.append(
      el('div', { class: 'controls' }, radio('channel', 'per channel', true), radio('layer', 'per layer', false),
        el('label', {}, this.sortBox, 'sort by mean activation')),
      this.legend, this.big, this.grid,
    );
    this.norm = 'channel';
    // The grid's width, kept by an observer: reading it while drawing would force a layout every frame.
    this.gridWidth = 960;
    new ResizeObserver(([entry]) => {
      this.gridWidth = Math.floor(entry.contentRect.width) || 960;
    }).observe(this.grid);
    this.data = null;
    this.enlarged = null;
  }

  /**
   * A new enlarged-map canvas in the panel (a canvas that has had a 2D context cannot take
   * a WebGPU one, and the other way round).
   */
  newBigCanvas() {
    const canvas = el('canvas', { class: 'enlarged', 'data-testid': 'enlarged-map' });
    canvas.addEventListener('mousemove', (e) => this.hover(e));
    canvas.addEventListener('mouseleave', () => this.onLeave());
    this.bigCanvas?.remove();
    this.bigCanvas = canvas;
    this.big.append(canvas);
    return canvas;
  }

  /** Fill the node picker from the summary's nodes. */
  setNodes(nodes) {
    this.select.replaceChildren(
      ...nodes.map((n) => el('option', { value: n.name }, `${n.name} · ${n.kind} · ${shapeText(n.shape)}`)),
    );
  }

  setNorm(norm) {
    this.norm = norm;
    this.redraw();
  }

  /** `render` after a control changed: a failed GPU draw is reported in the legend. */
  redraw() {
    try {
      this.render();
    } catch (e) {
      this.legend.textContent = `The feature maps could not be drawn: ${e.message ?? e}. Classify the image again.`;
    }
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
    const [c, h, w] = shape;
    const stats = Array.from({ length: c }, (_, ch) => range(values, ch * h * w, (ch + 1) * h * w));
    this.setData({ node, shape, values, stats, draw: null });
    this.render();
  }

  /**
   * Show `node` drawn by the engine (from its GPU buffer, or painted on the CPU): `ranges` holds each channel's
   * `[min, max, mean]`; `draw(canvas, norm, order, tilePx, maxWidth, colormap)` draws tiles
   * on a canvas and returns their layout. Returns false (showing nothing) if drawing failed,
   * so the caller can read the values back instead.
   */
  showGpu(node, shape, ranges, draw) {
    const stats = Array.from({ length: shape[0] }, (_, ch) => ({ lo: ranges[3 * ch], hi: ranges[3 * ch + 1], mean: ranges[3 * ch + 2] }));
    this.setData({ node, shape, values: null, stats, draw });
    try {
      this.render();
      return true;
    } catch (e) {
      console.warn(`drawing ${node} on the GPU failed, reading it back instead: ${e.message ?? e}`);
      this.clear();
      return false;
    }
  }

  setData(data) {
    if (this.data?.node !== data.node) this.enlarged = null;
    this.select.value = data.node;
    const layer = { lo: Math.min(...data.stats.map((s) => s.lo)), hi: Math.max(...data.stats.map((s) => s.hi)) };
    this.data = { ...data, layer };
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
    this.tileOrder = order;
    if (this.data.draw) {
      this.renderGpu(order, side);
      if (this.enlarged !== null) this.enlarge(this.enlarged);
      return;
    }
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

  /** All tiles in one canvas drawn by the engine; the pointer is mapped to a tile with the layout it returns. */
  renderGpu(order, side) {
    const { node, stats, draw } = this.data;
    const canvas = el('canvas', { class: 'tile-grid', 'data-testid': 'feature-grid' });
    const maxWidth = Math.max(side, this.gridWidth - 4);
    const layout = draw(canvas, this.norm, Uint32Array.from(order), side, maxWidth, LUT);
    Object.assign(canvas.dataset, {
      channels: layout.tiles, cols: layout.cols, tileW: layout.tile_w, tileH: layout.tile_h, gap: layout.gap,
    });
    canvas.style.width = `${layout.width}px`;
    canvas.style.height = `${layout.height}px`;
    this.layout = layout;
    this.order = order;
    canvas.addEventListener('mousemove', (e) => {
      const at = this.tileAt(e);
      canvas.style.cursor = at ? 'zoom-in' : 'default';
      const { lo, hi, mean } = at ? stats[at.ch] : {};
      canvas.title = at ? `${node} channel ${at.ch}: min ${fmt(lo)}, max ${fmt(hi)}, mean ${fmt(mean)}` : '';
    });
    canvas.addEventListener('click', (e) => {
      const at = this.tileAt(e);
      if (at) this.enlarge(at.ch);
    });
    this.selectedBox = el('div', { class: 'tile-selected', hidden: true });
    this.grid.replaceChildren(el('div', { class: 'tile-grid-wrap' }, canvas, this.selectedBox));
  }

  /** The tile slot, channel and unit under the pointer on the GPU-drawn grid, or null in a gap. */
  tileAt(e) {
    const l = this.layout;
    const [px, py] = [Math.floor(e.offsetX), Math.floor(e.offsetY)];
    const [col, row] = [Math.floor(px / (l.tile_w + l.gap)), Math.floor(py / (l.tile_h + l.gap))];
    const [ix, iy] = [px - col * (l.tile_w + l.gap), py - row * (l.tile_h + l.gap)];
    const slot = row * l.cols + col;
    if (col >= l.cols || ix >= l.tile_w || iy >= l.tile_h || slot >= l.tiles) return null;
    return { slot, ch: this.order[slot], y: Math.floor((iy * l.h) / l.tile_h), x: Math.floor((ix * l.w) / l.tile_w) };
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

  /** Arrow keys on the tiles: enlarge the channel after (or before) the enlarged one, in tile order. */
  step(e) {
    const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    const order = this.tileOrder;
    if (!delta || !order || !this.data || this.data.shape[1] * this.data.shape[2] === 1) return;
    e.preventDefault();
    const at = order.indexOf(this.enlarged);
    const next = at < 0 ? (delta > 0 ? 0 : order.length - 1) : (at + delta + order.length) % order.length;
    this.enlarge(order[next]);
  }

  enlarge(ch) {
    const { node, shape: [, h, w], values, stats, draw } = this.data;
    this.enlarged = ch;
    const canvas = this.newBigCanvas();
    if (draw) {
      const l = draw(canvas, this.norm, Uint32Array.of(ch), ENLARGED_PX, ENLARGED_PX, LUT);
      this.bigSize = { h, w, tileH: l.tile_h, tileW: l.tile_w };
    } else {
      const { lo, hi } = this.bounds(ch);
      paint(canvas, values, ch * h * w, h, w, lo, hi);
      const scale = ENLARGED_PX / Math.max(h, w);
      this.bigSize = { h, w, tileH: h * scale, tileW: w * scale };
    }
    // Named for the explanation views: a click on a unit projects it (explain.js).
    Object.assign(canvas.dataset, { node, channel: ch, h, w });
    canvas.style.width = `${this.bigSize.tileW}px`;
    canvas.style.height = `${this.bigSize.tileH}px`;
    this.bigCaption.textContent = `${node}, channel ${ch} (${h}×${w}; min ${fmt(stats[ch].lo)}, max ${fmt(stats[ch].hi)}): hover a unit to outline its receptive field on the input, click it to project it back.`;
    this.big.hidden = false;
    for (const t of this.grid.querySelectorAll('.tile.selected')) t.classList.remove('selected');
    this.grid.querySelector(`.tile[data-channel="${ch}"]`)?.classList.add('selected');
    if (draw && this.selectedBox) {
      const l = this.layout;
      const slot = this.order.indexOf(ch);
      Object.assign(this.selectedBox.style, {
        left: `${(slot % l.cols) * (l.tile_w + l.gap)}px`, top: `${Math.floor(slot / l.cols) * (l.tile_h + l.gap)}px`,
        width: `${l.tile_w}px`, height: `${l.tile_h}px`,
      });
      this.selectedBox.hidden = false;
    }
  }

  hover(e) {
    if (!this.data) return;
    const { h, w, tileH, tileW } = this.bigSize;
    const y = Math.min(h - 1, Math.max(0, Math.floor((e.offsetY * h) / tileH)));
    const x = Math.min(w - 1, Math.max(0, Math.floor((e.offsetX * w) / tileW)));
    this.onHover(this.data.node, y, x);
  }
}
