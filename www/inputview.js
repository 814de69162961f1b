// What the network sees (the resized, cropped input), and the receptive-field box over it.
import { INPUT_VIEW_PX, RF_COLOR } from './config.js';
import { el } from './dom.js';

export class InputView {
  constructor(root) {
    this.canvas = el('canvas', { class: 'input-view', 'data-testid': 'input-view' });
    this.box = el('div', { class: 'rf-box', style: { borderColor: RF_COLOR } });
    this.label = el('span', { class: 'rf-label' });
    this.overlay = el('div', { class: 'rf-overlay', 'data-testid': 'rf-overlay', hidden: true }, this.box, this.label);
    this.frame = el('div', { class: 'input-frame' }, this.canvas, this.overlay);
    root.append(this.frame);
    this.size = [0, 0];
  }

  /** Draw the network input: `rgba` bytes of an `h x w` image. */
  show(rgba, h, w) {
    this.size = [h, w];
    if (this.canvas.width !== w || this.canvas.height !== h) Object.assign(this.canvas, { width: w, height: h });
    this.canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
    const scale = INPUT_VIEW_PX / Math.max(h, w);
    this.scale = scale;
    this.frame.style.width = `${w * scale}px`;
    this.frame.style.height = `${h * scale}px`;
  }

  /** Outline input pixels `[y0, x0, y1, x1]` (inclusive); `size` `[h, w]` is the full field. */
  outline([y0, x0, y1, x1], [sizeH, sizeW]) {
    const s = this.scale;
    Object.assign(this.box.style, {
      top: `${y0 * s}px`, left: `${x0 * s}px`,
      height: `${(y1 - y0 + 1) * s}px`, width: `${(x1 - x0 + 1) * s}px`,
    });
    const [h, w] = this.size;
    const clipped = y1 - y0 + 1 !== sizeH || x1 - x0 + 1 !== sizeW;
    this.label.textContent = `receptive field ${sizeH}×${sizeW} px`
      + (clipped ? ` (${y1 - y0 + 1}×${x1 - x0 + 1} inside the ${h}×${w} input)` : '');
    this.overlay.dataset.rfSize = `${sizeH}x${sizeW}`;
    this.overlay.hidden = false;
  }

  hideOutline() {
    this.overlay.hidden = true;
  }
}
