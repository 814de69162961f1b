// The top-9 gallery (Zeiler & Fergus Fig. 2): for a channel of a node, the nine inputs seen so
// far that excite it most, each as the input under the unit's receptive field beside its
// deconvnet projection. The inputs are every frame the page classified (webcam, uploads,
// samples) and, for the 28x28 networks, the Fashion-MNIST test images the page has; with the
// camera running the gallery refreshes now and then, so it fills as frames come.
import { EXPLAIN } from './config.js';
import { el } from './dom.js';
import { backendWords, num, paintRgba, runTimed } from './explainkit.js';
import { fashionFrame, loadFashionSamples } from './fashion.js';

export class GalleryView {
  constructor(root, context) {
    this.context = context;
    this.channel = el('input', { type: 'number', min: 0, value: 0, 'data-testid': 'top9-channel', 'aria-label': 'channel' });
    this.bar = el('progress', { max: 1, value: 0, hidden: true, 'data-testid': 'top9-progress' });
    this.grid = el('div', { class: 'top9', 'data-testid': 'top9' });
    this.caption = el('p', { class: 'caption', 'data-testid': 'top9-caption' },
      'The nine inputs seen so far that excite a channel of the feature-map node most.');
    root.append(
      el('h3', {}, 'Top 9 of a channel'),
      el('div', { class: 'controls' }, el('label', {}, 'channel ', this.channel),
        el('button', { type: 'button', 'data-testid': 'top9-run', onclick: () => this.run() }, 'Show the top 9')),
      this.bar, this.grid, this.caption,
    );
    this.shownAt = null;
    this.running = false;
  }

  /** With the gallery shown, a new frame refreshes it at most every `EXPLAIN.galleryRefreshMs`. */
  classified() {
    if (this.shownAt === null || this.running) return;
    if (performance.now() - this.shownAt < EXPLAIN.galleryRefreshMs) return;
    this.run({ node: this.caption.dataset.node, channel: Number(this.caption.dataset.channel) });
  }

  /** For the 28x28 networks the page's Fashion-MNIST samples join the inputs (repeats are ignored). */
  async addSamples(session) {
    if (this.context.summary()?.input[0] !== 1) return;
    const samples = await loadFashionSamples().catch(() => null);
    if (!samples) return;
    for (let i = 0; i < samples.count; i++) {
      const frame = fashionFrame(samples, i, '');
      session.dataset_add_rgba(frame.width, frame.height, new Uint8Array(frame.data.buffer));
    }
  }

  async run(which = null) {
    const node = which?.node ?? this.context.node();
    const channel = which?.channel ?? Number(this.channel.value || 0);
    const c = this.caption;
    this.running = true;
    const view = {
      busy: (on) => {
        this.bar.hidden = !on;
        c.dataset.busy = String(on);
      },
      progress: (stage, fraction) => {
        this.bar.value = fraction;
        c.textContent = `${node} channel ${channel}: ${stage}…`;
      },
      fail: (message) => { c.textContent = `The top 9 failed: ${message}`; },
    };
    c.textContent = `ranking the inputs seen for ${node} channel ${channel}…`;
    const done = await runTimed(this.context, view, async (onProgress) => {
      const session = this.context.session();
      await this.addSamples(session);
      return session.top9(node, channel, onProgress);
    });
    this.running = false;
    if (!done) return;
    const { result: g, ms } = done;
    const size = 4 * g.height * g.width;
    this.grid.replaceChildren(...g.entries.map((e, k) => {
      const patch = el('canvas', { class: 'explain-map', 'data-testid': 'top9-patch' });
      const projection = el('canvas', { class: 'explain-map', 'data-testid': 'top9-projection' });
      paintRgba(patch, g.patches.subarray(k * size, (k + 1) * size), g.width, g.height, EXPLAIN.galleryPx);
      paintRgba(projection, g.projections.subarray(k * size, (k + 1) * size), g.width, g.height, EXPLAIN.galleryPx);
      return el('figure', { class: 'top9-entry', 'data-value': String(e.value), 'data-image': String(e.image) }, patch, projection,
        el('figcaption', {}, `#${k + 1}: input ${e.image}, ${num(e.value)} at (${e.y}, ${e.x})`));
    }));
    this.shownAt = performance.now();
    c.textContent = `${g.node} channel ${g.channel}: the top ${g.entries.length} of ${g.inputs} inputs seen (input under the ${g.height}×${g.width} px receptive field | deconvnet projection)`
      + ` · ${g.normalisation} · ranked on ${backendWords(g.backend)}, projected on ${backendWords(g.projection_backend)}, in ${ms.toFixed(0)} ms`;
    Object.assign(c.dataset, { done: 'true', node: g.node, channel: String(g.channel), inputs: String(g.inputs), backend: g.backend, ms: ms.toFixed(1) });
  }
}
