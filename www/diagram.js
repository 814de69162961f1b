// The network as a picture: the engine lays the graph out (boxes, edge polylines, frames of
// unfolded modules); this module draws it as SVG, shades boxes by MACs or parameters, folds
// and unfolds modules (asking the engine for a new layout), and reports picked boxes.
import { DIAGRAM } from './config.js';
import { el, shapeText, si } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

/** `[r, g, b]` between `DIAGRAM.low` and `high` at `share` (0..1). */
function shade(high, share) {
  const mix = DIAGRAM.low.map((lo, i) => Math.round(lo + (high[i] - lo) * share));
  return `rgb(${mix.join(',')})`;
}

const clip = (text) => (text.length > DIAGRAM.nameChars ? `…${text.slice(-(DIAGRAM.nameChars - 1))}` : text);

/** Enter or Space on a focusable SVG element runs `action`. */
function pressable(node, label, action) {
  node.setAttribute('tabindex', '0');
  node.setAttribute('role', 'button');
  node.setAttribute('aria-label', label);
  node.addEventListener('click', (e) => {
    e.stopPropagation();
    action();
  });
  node.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    action();
  });
  return node;
}

export class DiagramView {
  /** `layout(folded)` asks the engine for a layout (`folded` null: as first shown); `onPick(node)`. */
  constructor(root, { layout, onPick }) {
    this.layout = layout;
    this.onPick = onPick;
    this.data = null;
    this.selected = null;
    this.zoom = 1;
    this.by = 'macs';
    const radio = (value, label) => el('label', {},
      el('input', { type: 'radio', name: 'diagram-shade', value, checked: value === this.by, 'data-testid': `diagram-shade-${value}`,
        onchange: () => { this.by = value; this.render(); } }), label);
    const button = (label, testid, run, title) => el('button', { type: 'button', 'data-testid': testid, title, 'aria-label': title ?? label, onclick: run }, label);
    this.caption = el('p', { class: 'caption', 'data-testid': 'diagram-caption' });
    this.scroller = el('div', { class: 'diagram-scroll', 'data-testid': 'diagram' });
    root.append(
      el('div', { class: 'controls', role: 'group', 'aria-label': 'diagram controls' },
        el('span', {}, 'Shade by '), radio('macs', 'MACs'), radio('params', 'parameters'),
        button('Unfold all', 'diagram-unfold-all', () => this.refold([])),
        button('Fold all', 'diagram-fold-all', () => this.refold(this.data?.groups ?? [])),
        button('−', 'diagram-zoom-out', () => this.setZoom(this.zoom / DIAGRAM.zoomStep), 'zoom out'),
        button('+', 'diagram-zoom-in', () => this.setZoom(this.zoom * DIAGRAM.zoomStep), 'zoom in'),
        button('Fit width', 'diagram-fit', () => this.fit(), 'zoom to fit the width')),
      this.caption, this.scroller,
    );
  }

  /** A new model: its diagram as first shown. */
  show() {
    this.data = this.layout(null);
    this.zoom = 1;
    this.render();
  }

  /** Lay the diagram out again with `folded` folded. */
  refold(folded) {
    if (!this.data) return;
    this.data = this.layout(folded);
    this.render();
    if (this.selected) this.highlight(this.selected);
  }

  toggle(group) {
    const folded = new Set(this.data.folded);
    if (folded.has(group)) folded.delete(group);
    else folded.add(group);
    this.refold([...folded]);
    this.scroller.querySelector(`[data-toggle="${CSS.escape(group)}"]`)?.focus();
  }

  setZoom(zoom) {
    this.zoom = Math.min(DIAGRAM.zoomMax, Math.max(DIAGRAM.zoomMin, zoom));
    const svgNode = this.scroller.querySelector('svg');
    if (!svgNode || !this.data) return;
    svgNode.setAttribute('width', this.data.width * this.zoom);
    svgNode.setAttribute('height', this.data.height * this.zoom);
  }

  fit() {
    if (this.data) this.setZoom((this.scroller.clientWidth - 4) / this.data.width);
  }

  render() {
    const d = this.data;
    if (!d) return;
    const most = Math.max(1, ...d.boxes.map((b) => b[this.by]));
    const colour = this.by === 'macs' ? DIAGRAM.macs : DIAGRAM.params;
    const frames = d.frames.map((f) => svg('g', { class: 'frame', 'data-frame': f.name },
      svg('rect', { x: f.x, y: f.y, width: f.w, height: f.h, rx: 6 }),
      pressable(svg('text', { x: f.x + 6, y: f.y + 13, class: 'toggle', 'data-toggle': f.name }, `▾ ${f.name}`),
        `fold ${f.name}`, () => this.toggle(f.name))));
    const edges = d.edges.map((e) => svg('polyline', {
      class: 'edge', points: e.points.map((p) => p.join(',')).join(' '), 'data-from': e.from, 'data-to': e.to,
    }));
    const boxes = d.boxes.map((b) => this.box(b, shade(colour, b[this.by] / most)));
    const picture = svg('svg', {
      width: d.width * this.zoom, height: d.height * this.zoom, viewBox: `0 0 ${d.width} ${d.height}`,
      role: 'group', 'aria-label': `diagram of ${d.model}`,
    }, svg('defs', {}, svg('marker', { id: 'diagram-arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 6, markerHeight: 6, orient: 'auto' },
      svg('path', { d: 'M0,0 L8,4 L0,8 z' }))), ...frames, ...edges, ...boxes);
    this.scroller.replaceChildren(picture);
    const nodes = d.boxes.reduce((n, b) => n + (b.folded ? b.members.length : 1), 0);
    this.caption.textContent = `${d.model}: ${d.boxes.length} boxes for ${nodes} nodes, ${d.edges.length} edges; `
      + `${d.folded.length} of ${d.groups.length} modules folded. Shade: ${this.by === 'macs' ? 'MACs' : 'parameters'} against the largest box. `
      + 'Pick a box to select its node; ▸ unfolds a module, ▾ folds it.';
  }

  box(b, fill) {
    const what = b.folded ? `${b.members.length} nodes folded` : b.kind;
    const label = `${b.id}: ${what}, output ${shapeText(b.shape)}, ${si(b.macs, 'MAC')}, ${si(b.params)} parameters`;
    const g = pressable(svg('g', { class: `box${b.folded ? ' folded' : ''}`, 'data-box': b.id, 'data-select': b.select },
      svg('title', {}, label),
      svg('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: b.folded ? 8 : 3, fill }),
      svg('text', { x: b.x + (b.folded ? 22 : 6), y: b.y + 15, class: 'name' }, clip(b.id)),
      svg('text', { x: b.x + 6, y: b.y + 32, class: 'kind' }, `${b.folded ? `${b.members.length} nodes` : b.kind} · ${shapeText(b.shape)}`)),
    label, () => this.onPick(b.select));
    if (!b.folded) return g;
    const toggle = pressable(svg('text', { x: b.x + 6, y: b.y + 15, class: 'toggle', 'data-toggle': b.id }, '▸'),
      `unfold ${b.id}`, () => this.toggle(b.id));
    return svg('g', {}, g, toggle);
  }

  /** Mark the box showing `node` (its own, or its folded module's) and scroll it into view. */
  highlight(node) {
    this.selected = node;
    for (const b of this.scroller.querySelectorAll('.box.selected')) {
      b.classList.remove('selected');
      b.removeAttribute('aria-current');
    }
    const owner = this.data?.boxes.find((b) => b.id === node || (b.folded && b.members.includes(node)));
    if (!owner) return;
    const g = this.scroller.querySelector(`.box[data-box="${CSS.escape(owner.id)}"]`);
    g?.classList.add('selected');
    g?.setAttribute('aria-current', 'true');
    const [x, y] = [owner.x * this.zoom, owner.y * this.zoom];
    const s = this.scroller;
    if (y < s.scrollTop || y + owner.h * this.zoom > s.scrollTop + s.clientHeight) s.scrollTop = y - s.clientHeight / 3;
    if (x < s.scrollLeft || x + owner.w * this.zoom > s.scrollLeft + s.clientWidth) s.scrollLeft = x - s.clientWidth / 3;
  }
}
