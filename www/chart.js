// A small line chart on a canvas: training curves in the lab (one line per run, epochs on
// the x axis) and the family views' per-block and per-channel numbers, with a legend.
import { el } from './dom.js';

/**
 * Draw `series` (`[{label, color, values}]`, one value per epoch) on a new canvas and return
 * a figure with the chart and its legend. `format` labels the y axis ticks.
 */
export function lineChart(series, { title, width = 360, height = 180, format = (v) => v.toFixed(2) } = {}) {
  const canvas = el('canvas', { class: 'chart', width, height, role: 'img', 'aria-label': title });
  const context = canvas.getContext('2d');
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const pad = { left: 44, right: 8, top: 8, bottom: 22 };
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const margin = (hi - lo) * 0.08;
  lo -= margin;
  hi += margin;
  const x = (i) => pad.left + (epochs === 1 ? 0 : (i / (epochs - 1)) * (width - pad.left - pad.right));
  const y = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * (height - pad.top - pad.bottom);

  context.font = '11px system-ui, sans-serif';
  context.strokeStyle = '#d9dee5';
  context.fillStyle = '#5d6775';
  context.lineWidth = 1;
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    context.beginPath();
    context.moveTo(pad.left, y(v));
    context.lineTo(width - pad.right, y(v));
    context.stroke();
    context.fillText(format(v), 2, y(v) + 4);
  }
  // At most about ten labels along x, so long series (a channel each) stay readable.
  const every = Math.ceil(epochs / 10);
  for (let i = 0; i < epochs; i += every) context.fillText(String(i + 1), x(i) - 3, height - 6);

  context.lineWidth = 2;
  for (const s of series) {
    context.strokeStyle = s.color;
    context.beginPath();
    s.values.forEach((v, i) => (i ? context.lineTo(x(i), y(v)) : context.moveTo(x(i), y(v))));
    context.stroke();
  }
  const legend = el('div', { class: 'chart-legend' },
    ...series.map((s) => el('span', {}, el('i', { style: { background: s.color } }), s.label)));
  return el('figure', { class: 'chart-figure' }, el('figcaption', {}, title), canvas, legend);
}
