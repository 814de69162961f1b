// The activation views: every activation node's share of units that pass no gradient back
// for the current input (at 0: dead ReLUs; ReLU6 also at its ceiling; sigmoid and tanh
// saturated), and sigmoid, tanh, ReLU, ReLU6 and leaky ReLU with their derivatives, sampled by
// the engine.
import { el } from './dom.js';

const percent = (v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`);
const COLORS = { sigmoid: '#a4161a', tanh: '#e1892f', relu: '#2f7de1', relu6: '#27ad81', leaky_relu: '#7b4fd0' };

function shareBar(v) {
  return el('span', { class: 'share params' }, el('span', { class: 'fill', style: { width: `${100 * (v ?? 0)}%` } }));
}

/** `shares`: `[{node, kind, units, zero, ceiling, saturated}]` in graph order. */
export function activationPanel(body, shares) {
  const zero = shares.filter((s) => s.zero != null);
  const mean = zero.reduce((a, s) => a + s.zero, 0) / Math.max(1, zero.length);
  const rows = shares.map((s) => el('tr', { 'data-testid': 'activation-row', 'data-node': s.node, 'data-zero': s.zero ?? '',
    'data-ceiling': s.ceiling ?? '', 'data-saturated': s.saturated ?? '' },
  el('td', {}, s.node), el('td', {}, s.kind), el('td', { class: 'num' }, String(s.units)),
  el('td', { class: 'num' }, percent(s.zero), shareBar(s.zero)),
  el('td', { class: 'num' }, percent(s.ceiling)), el('td', { class: 'num' }, percent(s.saturated))));
  body.replaceChildren(
    el('p', { class: 'caption' }, `A ReLU unit at 0 passes no gradient back for this input; one that is 0 for every input never learns `
      + `again ("dead"). ReLU6 also stops at its ceiling of 6; sigmoid and tanh units count as saturated where their slope is under a `
      + `tenth of its largest. ${zero.length ? `Here ${percent(mean)} of the units of an average ReLU layer are 0.` : ''}`),
    el('div', { class: 'table-scroll short' }, el('table', { class: 'lab-table' },
      el('thead', {}, el('tr', {}, ...['node', 'kind', 'units', 'at 0', 'at 6 (ReLU6)', 'saturated'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows))),
  );
}

/** One plot of `key` ('value' or 'derivative') of every curve, x from the samples. */
function plot(curves, key, title) {
  const [width, height] = [300, 170];
  const pad = { left: 30, right: 6, top: 6, bottom: 18 };
  const canvas = el('canvas', { class: 'chart', width, height, role: 'img', 'aria-label': title, 'data-testid': `curves-${key}` });
  const g = canvas.getContext('2d');
  const xs = curves.x;
  const ys = curves.curves.flatMap((c) => c[key]);
  const [x0, x1] = [xs[0], xs[xs.length - 1]];
  const [y0, y1] = [Math.min(0, ...ys) - 0.05, Math.max(...ys) * 1.05];
  const px = (x) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const py = (y) => pad.top + (1 - (y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  g.font = '10px system-ui, sans-serif';
  g.strokeStyle = '#d9dee5';
  g.fillStyle = '#5d6775';
  for (let x = Math.ceil(x0 / 2) * 2; x <= x1; x += 2) {
    g.beginPath();
    g.moveTo(px(x), pad.top);
    g.lineTo(px(x), height - pad.bottom);
    g.stroke();
    g.fillText(String(x), px(x) - 4, height - 5);
  }
  const step = y1 > 2 ? 1 : 0.25;
  for (let y = Math.ceil(y0 / step) * step; y <= y1; y += step) {
    g.beginPath();
    g.moveTo(pad.left, py(y));
    g.lineTo(width - pad.right, py(y));
    g.stroke();
    g.fillText(String(+y.toFixed(2)), 2, py(y) + 3);
  }
  g.lineWidth = 2;
  for (const c of curves.curves) {
    g.strokeStyle = COLORS[c.name] ?? '#1d2430';
    g.beginPath();
    c[key].forEach((y, i) => (i ? g.lineTo(px(xs[i]), py(y)) : g.moveTo(px(xs[i]), py(y))));
    g.stroke();
  }
  return el('figure', { class: 'chart-figure' }, el('figcaption', {}, title), canvas);
}

/** `curves`: `{x, curves: [{name, value, derivative}]}` from the engine. */
export function curvesPanel(body, curves) {
  const sigmoid = curves.curves.find((c) => c.name === 'sigmoid');
  const peak = Math.max(...sigmoid.derivative);
  const legend = el('div', { class: 'chart-legend' },
    ...curves.curves.map((c) => el('span', {}, el('i', { style: { background: COLORS[c.name] } }), c.name)));
  body.replaceChildren(
    el('div', { class: 'lab-charts' }, plot(curves, 'value', 'f(x)'), plot(curves, 'derivative', "f′(x)")),
    legend,
    el('p', { class: 'caption', 'data-testid': 'sigmoid-peak', 'data-peak': peak }, `Sigmoid's slope is at most ${peak.toFixed(2)} and all but vanishes once it saturates `
      + `(|x| beyond about 5): backpropagation multiplies one such factor per layer, so the gradient reaching the first layers of a deep `
      + `sigmoid network fades away. ReLU passes a slope of 1 for every positive input; ReLU6 caps the value at 6 (and the slope there is 0); `
      + `leaky ReLU (drawn with alpha 0.1) keeps a slope of alpha for negative inputs, so its units never die.`),
  );
}
