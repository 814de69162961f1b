// The architecture view: one row per node (shape, params, MACs, receptive field, GPU ms)
// with bars for each layer's share of MACs and parameters, and totals in honest units.
import { el, megabytes, shapeText, si } from './dom.js';

function rfText(n) {
  const [h, w] = n.rf_size;
  const [sh, sw] = n.rf_stride;
  return `${h}×${w} /${sh === sw ? sh : `${sh}×${sw}`}`;
}

/** A bar as long as `value / largest`, titled with its share of `total`. */
function bar(value, largest, total, kind, label) {
  return el('span', { class: `share ${kind}`, title: `${label}: ${(100 * value / total).toFixed(1)}% of the network's total` },
    el('span', { class: 'fill', style: { width: `${100 * value / largest}%` } }));
}

export class ArchitectureView {
  constructor(root, onPickNode) {
    this.totals = el('p', { class: 'totals', 'data-testid': 'totals' });
    this.body = el('tbody');
    const head = el('thead', {}, el('tr', {},
      ...['#', 'node', 'kind', 'output c×h×w', 'params', 'MACs', 'MACs / params (bars: vs the largest layer)', 'receptive field /stride (px)', 'GPU ms']
        .map((h) => el('th', {}, h))));
    this.table = el('table', { class: 'architecture', 'data-testid': 'architecture' }, head, this.body);
    root.append(this.totals, el('div', { class: 'table-scroll' }, this.table));
    this.body.addEventListener('click', (e) => {
      const row = e.target.closest('tr[data-node]');
      if (row) onPickNode(row.dataset.node);
    });
    // Rows take the keyboard focus too: Enter or Space picks the node.
    this.body.addEventListener('keydown', (e) => {
      const row = e.target.closest('tr[data-node]');
      if (!row || (e.key !== 'Enter' && e.key !== ' ')) return;
      e.preventDefault();
      onPickNode(row.dataset.node);
    });
  }

  show(summary) {
    const t = summary.totals;
    const gpu = summary.gpu_total_ms == null ? 'GPU time: not measured (run on the CPU, or no timestamp queries)'
      : `GPU time of the last pass: ${summary.gpu_total_ms.toFixed(1)} ms (sum over nodes)`;
    this.totals.textContent = `${summary.model} at ${shapeText(summary.input)}: ${si(t.params)} parameters `
      + `(${megabytes(t.weight_bytes)} of f32 tensors), ${si(t.macs, 'MAC')} = ${si(t.flops, 'FLOP')} `
      + `(${summary.flops_per_mac} FLOPs per multiply-accumulate) per image, `
      + `${megabytes(t.activation_bytes)} of activations kept. ${gpu}.`;
    const most = (key) => Math.max(1, ...summary.nodes.map((n) => n[key]));
    const [maxMacs, maxParams] = [most('macs'), most('params')];
    const [macs, params] = [Math.max(1, t.macs), Math.max(1, t.params)];
    this.body.replaceChildren(
      ...summary.nodes.map((n, i) => el('tr', { 'data-node': n.name, tabindex: 0, 'aria-label': `node ${n.name}: show its feature maps` },
        el('td', { class: 'num' }, String(i)),
        el('td', { class: 'name' }, n.name),
        el('td', {}, n.kind),
        el('td', { class: 'num' }, shapeText(n.shape)),
        el('td', { class: 'num' }, n.params ? si(n.params) : '–'),
        el('td', { class: 'num' }, n.macs ? si(n.macs) : '–'),
        el('td', { class: 'bars' }, bar(n.macs, maxMacs, macs, 'macs', 'MACs'), bar(n.params, maxParams, params, 'params', 'parameters')),
        el('td', { class: 'num', 'data-rf': n.rf_size.join('x') }, rfText(n)),
        el('td', { class: 'num', title: n.fused_into ? `computed inside ${n.fused_into}'s kernel; its time is counted there` : null },
          n.fused_into ? 'fused' : n.gpu_ms == null ? '' : n.gpu_ms.toFixed(2)),
      )),
    );
  }

  highlight(name) {
    for (const row of this.body.querySelectorAll('tr.selected')) row.classList.remove('selected');
    this.body.querySelector(`tr[data-node="${CSS.escape(name)}"]`)?.classList.add('selected');
  }
}
