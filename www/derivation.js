// "How is this computed": the selected node's numbers, each with its rule, its formula and
// the formula with the node's numbers filled in, all as the engine's analysis gives them.
import { el } from './dom.js';

export class DerivationView {
  constructor(root) {
    this.heading = el('p', { class: 'derivation-node', 'data-testid': 'derivation-node' });
    this.body = el('tbody');
    this.table = el('table', { class: 'derivation', 'data-testid': 'derivation-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'quantity (rule)'), el('th', { scope: 'col' }, 'formula, then with this node\'s numbers'))),
      this.body);
    root.append(this.heading, el('div', { class: 'table-scroll' }, this.table));
  }

  /** Show `explanation` (from `Session.derivation`). */
  show(e) {
    this.heading.textContent = `${e.node} (${e.kind})${e.inputs.length ? `, reading ${e.inputs.join(', ')}` : ''}`;
    this.heading.dataset.node = e.node;
    this.body.replaceChildren(...e.lines.map((l) => el('tr', { 'data-keys': l.keys.join(' '), 'data-value': String(l.value) },
      el('th', { scope: 'row' }, l.quantity, el('span', { class: 'rule' }, l.rule)),
      el('td', {}, el('code', { class: 'formula' }, l.formula), el('code', { class: 'filled' }, l.filled)))));
  }

  error(message) {
    this.heading.textContent = message;
    this.body.replaceChildren();
  }
}
