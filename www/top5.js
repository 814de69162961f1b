// The top-5 list: class names with probability bars.
import { el } from './dom.js';

export class Top5View {
  constructor(list, caption) {
    this.list = list;
    this.caption = caption;
  }

  /** `predictions`: `[{class, name, probability}]`, best first; `note` says what ran. */
  show(predictions, note) {
    this.list.replaceChildren(
      ...predictions.map((p) => {
        const percent = (100 * p.probability).toFixed(1);
        return el('li', { 'data-class': p.class, 'data-logit': p.logit, 'data-probability': p.probability },
          el('span', { class: 'label' }, p.name),
          el('span', { class: 'bar' }, el('span', { class: 'fill', style: { width: `${percent}%` } })),
          el('span', { class: 'prob' }, `${percent}%`));
      }),
    );
    this.caption.textContent = note;
  }

  clear() {
    this.list.replaceChildren();
    this.caption.textContent = '';
  }
}
