// The status line: lasting notices (backend, weights) and the latest message or error.
import { el } from './dom.js';

export class StatusView {
  constructor(root) {
    this.notices = el('div', { class: 'notices' });
    this.message = el('div', { class: 'message', 'data-testid': 'status-message' });
    this.progress = el('progress', { max: 1, value: 0, hidden: true, 'data-testid': 'progress' });
    root.append(this.notices, this.progress, this.message);
  }

  /** A lasting notice under `key`, replaced by the next notice with that key; `action`
   *  (`{label, run}`) adds a button after the text. */
  notice(key, text, kind = 'info', action = null) {
    let item = this.notices.querySelector(`[data-key="${key}"]`);
    if (!text) {
      item?.remove();
      return;
    }
    if (!item) {
      item = el('p', { 'data-key': key });
      this.notices.append(item);
    }
    item.className = `notice ${kind}`;
    item.textContent = text;
    if (action) {
      item.append(' ', el('button', { type: 'button', 'data-testid': `${key}-switch`, onclick: action.run }, action.label));
    }
  }

  info(text) {
    this.show(text, 'info');
  }

  busy(text) {
    this.show(text, 'busy');
  }

  error(text) {
    this.show(text, 'error');
    this.setProgress(null);
  }

  show(text, kind) {
    this.message.className = `message ${kind}`;
    this.message.textContent = text;
  }

  /** A fraction in [0, 1], or null to hide the bar. */
  setProgress(fraction) {
    this.progress.hidden = fraction === null;
    if (fraction !== null) this.progress.value = fraction;
  }
}
