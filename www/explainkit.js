// Shared pieces of the explanation views: painting the engine's RGBA pixels, printing numbers
// and ranges, naming backends, and running one timed engine task with progress.
/** A number as the views print it: 4 significant digits. */
export const num = (v) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

/** Paint `rgba` (`w x h`) on `canvas`, shown `px` pixels on its longer side, pixels kept sharp. */
export function paintRgba(canvas, rgba, w, h, px) {
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  const scale = px / Math.max(w, h);
  Object.assign(canvas.style, { width: `${w * scale}px`, height: `${h * scale}px`, imageRendering: 'pixelated' });
}

/** The map's range on `element`'s data attributes (the tests read them) and in words. */
export function rangeText(element, range, prefix = '') {
  element.dataset[`${prefix}min`] = String(range.min);
  element.dataset[`${prefix}max`] = String(range.max);
  return range.constant ? `constant map (${num(range.min)} everywhere)` : `min ${num(range.min)}, max ${num(range.max)}`;
}

const BACKEND_WORDS = { reference: 'the CPU reference (f64)', cpu: 'the fast CPU engine', webgpu: 'WebGPU' };
export const backendWords = (b) => BACKEND_WORDS[b] ?? b;

/**
 * Run `work(onProgress)` as one engine task, timing it: `view` gets `busy(true/false)`, a
 * progress fraction, and on failure the message in its caption (the page keeps working).
 */
export async function runTimed(context, view, work) {
  return context.serial(async () => {
    view.busy?.(true);
    const started = performance.now();
    try {
      const result = await work((stage, fraction) => view.progress?.(stage, fraction));
      return { result, ms: performance.now() - started };
    } finally {
      view.busy?.(false);
    }
  }).catch((e) => {
    view.fail(e instanceof Error ? e.message : String(e));
    return null;
  });
}
