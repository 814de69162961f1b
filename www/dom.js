// Tiny DOM helpers shared by the views (no framework).

/** `el('td', {class: 'num'}, 'text', child)`: an element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** 1234567 -> "1.23 M", with an SI prefix and `unit`. */
export function si(value, unit = '') {
  const steps = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, prefix] of steps) {
    if (Math.abs(value) >= size) return `${(value / size).toFixed(2)} ${prefix}${unit}`;
  }
  return `${value}${unit ? ' ' + unit : ''}`;
}

/** Bytes as MB with one decimal (powers of 10, as the unit says). */
export function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `[c, h, w]` as "c×h×w". */
export function shapeText([c, h, w]) {
  return `${c}×${h}×${w}`;
}

/** A `<select>` of `names` inside its visible `label`, set to `value`; `onChange(name)`. */
export function labelledSelect(label, names, value, onChange, testid) {
  const select = el('select', { 'data-testid': testid, onchange: () => onChange(select.value) },
    ...names.map((n) => el('option', { value: n }, n)));
  select.value = value;
  return el('label', {}, `${label} `, select);
}
