// AlexNet's two lessons on the loaded model: an LRN node's input and output map side by
// side (one channel, on one colour scale, so the damping shows) with what each channel kept,
// and an overlapping pool's first windows drawn on its input's pixel grid.
import { lineChart } from './chart.js';
import { el, labelledSelect as picker } from './dom.js';
import { paint } from './featuremaps.js';

const WINDOW_COLORS = ['#2f7de1', '#e1892f', '#27ad81', '#a4161a', '#7b4fd6', '#d6b84f', '#4fb6d6', '#d64f9b', '#5d6775'];
const MAP_PX = 168;

function map(values, h, w, lo, hi, label, testid) {
  const canvas = el('canvas', { class: 'tile lrn-map', role: 'img', 'aria-label': label, 'data-testid': testid });
  paint(canvas, values, 0, h, w, lo, hi);
  canvas.style.width = `${MAP_PX}px`;
  canvas.style.height = `${Math.round((MAP_PX * h) / w)}px`;
  return el('figure', { class: 'chart-figure' }, el('figcaption', {}, label), canvas);
}

/**
 * `nodes`: the LRN nodes; `read(node, channel)` resolves to the engine's `{node, input,
 * channel, shape, before, after, kept}` (channel undefined: the busiest input channel).
 */
export async function lrnPanel(body, nodes, read, serial, report) {
  const state = body.lrn ?? (body.lrn = { node: nodes[0], channel: undefined });
  const data = await read(state.node, state.channel);
  const [c, h, w] = data.shape;
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of [...data.before, ...data.after]) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const again = () => serial(() => lrnPanel(body, nodes, read, serial, report)).catch(report);
  const channel = el('input', { type: 'number', min: 0, max: c - 1, value: data.channel, 'data-testid': 'lrn-channel',
    onchange: (e) => { state.channel = Math.max(0, Math.min(c - 1, Number(e.target.value) || 0)); again(); } });
  const kept = data.kept.map((k) => (k == null ? NaN : k));
  const live = kept.filter(Number.isFinite);
  const average = live.reduce((a, b) => a + b, 0) / Math.max(1, live.length);
  body.replaceChildren(
    el('div', { class: 'controls' },
      nodes.length > 1 ? picker('LRN node', nodes, state.node, (n) => { state.node = n; state.channel = undefined; again(); }, 'lrn-select') : null,
      el('label', {}, 'channel ', channel)),
    el('p', { class: 'caption' }, `Local response normalisation divides each unit by (k + α Σ a²)^β over its neighbouring channels at the same `
      + `place (Krizhevsky et al. 2012, §3.3): a strongly active channel damps its neighbours, a form of lateral inhibition. Both maps share one `
      + `colour scale (${lo.toPrecision(3)} to ${hi.toPrecision(3)}).`),
    el('div', { class: 'lab-charts' },
      map(data.before, h, w, lo, hi, `before: ${data.input}, channel ${data.channel}`, 'lrn-before'),
      map(data.after, h, w, lo, hi, `after: ${data.node}, channel ${data.channel}`, 'lrn-after')),
    el('p', { class: 'caption', 'data-testid': 'lrn-kept', 'data-average': average },
      `On average a channel keeps ${(100 * average).toFixed(1)}% of its norm through ${data.node}.`),
    lineChart([{ label: '‖after‖ / ‖before‖', color: '#2f7de1', values: kept }], { title: 'what each channel kept (channel on x)', format: (v) => v.toFixed(4) }),
  );
}

/** The pool's windows on a grid of its input pixels, each window its own colour. */
function windowGrid(p) {
  const cell = 26;
  const ys = p.windows.flatMap((b) => [b[0], b[2]]);
  const xs = p.windows.flatMap((b) => [b[1], b[3]]);
  const [y0, x0] = [Math.min(...ys), Math.min(...xs)];
  const [rows, cols] = [Math.max(...ys) - y0 + 1, Math.max(...xs) - x0 + 1];
  const canvas = el('canvas', { width: cols * cell + 1, height: rows * cell + 1, class: 'rf-grid', role: 'img', 'data-testid': 'pool-grid', 'data-windows': JSON.stringify(p.windows),
    'aria-label': `${p.windows.length} pooling windows of ${p.kernel[0]}×${p.kernel[1]} pixels, stride ${p.stride[0]}, on the input grid` });
  const g = canvas.getContext('2d');
  g.strokeStyle = '#d9dee5';
  for (let r = 0; r <= rows; r++) { g.beginPath(); g.moveTo(0, r * cell + 0.5); g.lineTo(cols * cell, r * cell + 0.5); g.stroke(); }
  for (let q = 0; q <= cols; q++) { g.beginPath(); g.moveTo(q * cell + 0.5, 0); g.lineTo(q * cell + 0.5, rows * cell); g.stroke(); }
  g.font = '11px system-ui, sans-serif';
  p.windows.forEach(([wy0, wx0, wy1, wx1], i) => {
    const color = WINDOW_COLORS[i % WINDOW_COLORS.length];
    const [x, y, w, h] = [(wx0 - x0) * cell, (wy0 - y0) * cell, (wx1 - wx0 + 1) * cell, (wy1 - wy0 + 1) * cell];
    g.globalAlpha = 0.18;
    g.fillStyle = color;
    g.fillRect(x, y, w, h);
    g.globalAlpha = 1;
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.strokeRect(x + 2 + (i % 3), y + 2 + (i % 3), w - 4 - 2 * (i % 3), h - 4 - 2 * (i % 3));
    g.fillStyle = color;
    g.fillText(String(i + 1), x + 5 + 2 * (i % 3), y + 14 + 2 * (i % 3));
  });
  return canvas;
}

/** `nodes`: the overlapping pools; `windows(node)`: the engine's `{kernel, stride, pads, input, output, windows}`. */
export function poolPanel(body, nodes, windows) {
  const state = body.pool ?? (body.pool = { node: nodes[0] });
  const p = windows(state.node);
  const shared = p.kernel[0] - p.stride[0];
  body.replaceChildren(...[
    nodes.length > 1 ? picker('pooling node', nodes, state.node, (n) => { state.node = n; poolPanel(body, nodes, windows); }, 'pool-select') : null,
    el('p', { class: 'caption', 'data-testid': 'pool-caption' }, `${p.node}: ${p.kernel[0]}×${p.kernel[1]} windows with stride ${p.stride[0]} on a `
      + `${p.input[0]}×${p.input[1]} input give ${p.output[0]}×${p.output[1]}. Neighbouring windows share ${shared} row${shared === 1 ? '' : 's'} and `
      + `column${shared === 1 ? '' : 's'} of pixels (shaded twice below). Krizhevsky et al. 2012 (§3.4) found overlapping 3×3/2 pooling 0.4% better `
      + `in top-1 error than 2×2/2, which gives the same output size, and harder to overfit.`),
    windowGrid(p),
    el('p', { class: 'caption' }, `The first ${p.windows.length} windows, numbered row by row, on the input's pixels.`),
  ].filter(Boolean));
}
