// Fashion-MNIST test images for the 28x28 networks: the set-up writes the first 100 as one
// sprite (`photos/fashion-test.png`, 10 x 10 images) with their labels beside it.
import { PATHS } from './config.js';

export const SIDE = 28;

let cached = null;

/** `{pixels, count, labels}`: greyscale bytes image after image, and each image's class. */
export function loadFashionSamples() {
  cached ??= (async () => {
    const image = new Image();
    image.src = `${PATHS.photos}fashion-test.png`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(image, 0, 0);
    const { data } = g.getImageData(0, 0, image.width, image.height);
    const perRow = image.width / SIDE;
    const count = perRow * (image.height / SIDE);
    const pixels = new Uint8Array(count * SIDE * SIDE);
    for (let i = 0; i < count; i++) {
      const [gy, gx] = [Math.floor(i / perRow), i % perRow];
      for (let p = 0; p < SIDE * SIDE; p++) {
        const [y, x] = [gy * SIDE + Math.floor(p / SIDE), gx * SIDE + (p % SIDE)];
        pixels[i * SIDE * SIDE + p] = data[4 * (y * image.width + x)];
      }
    }
    const response = await fetch(`${PATHS.photos}fashion-test.txt`);
    const text = response.ok ? await response.text() : '';
    const labels = text.split('\n').filter(Boolean).map(Number);
    return { pixels, count, labels };
  })();
  cached.catch(() => {
    cached = null;
  });
  return cached;
}

/** Image `i`'s greyscale bytes. */
export function fashionImage(samples, i) {
  return samples.pixels.slice(i * SIDE * SIDE, (i + 1) * SIDE * SIDE);
}

/** The first image of each class, in class order. */
export function onePerClass(samples) {
  const first = new Map();
  samples.labels.forEach((label, i) => {
    if (!first.has(label)) first.set(label, i);
  });
  return [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
}

/** Image `i` as an RGBA frame the page classifies like any other image. */
export function fashionFrame(samples, i, source) {
  const grey = fashionImage(samples, i);
  const data = new Uint8ClampedArray(SIDE * SIDE * 4);
  grey.forEach((v, p) => data.set([v, v, v, 255], 4 * p));
  return { width: SIDE, height: SIDE, data, source };
}

/** A small canvas showing image `i`. */
export function fashionThumbnail(samples, i) {
  const canvas = document.createElement('canvas');
  canvas.width = SIDE;
  canvas.height = SIDE;
  const frame = fashionFrame(samples, i, '');
  canvas.getContext('2d').putImageData(new ImageData(frame.data, SIDE, SIDE), 0, 0);
  return canvas;
}

/**
 * For the greyscale 28x28 networks: fill `row` once with one test image of each class, a
 * button each (`classes()`: the class names; `onPick(frame)` classifies one; `onMissing(error)`
 * when the images are not there), and show or hide it.
 */
export function showFashionSamples(row, show, { classes, onPick, onMissing }) {
  row.hidden = !show;
  if (!show || row.dataset.filled) return;
  row.dataset.filled = 'true';
  loadFashionSamples().then((samples) => {
    const names = classes();
    for (const i of onePerClass(samples)) {
      const name = `test image ${i} (${names[samples.labels[i]]})`;
      row.append(Object.assign(document.createElement('button'), {
        type: 'button', title: name, className: 'fashion-sample',
        onclick: () => onPick(fashionFrame(samples, i, `Fashion-MNIST ${name}`)),
      }));
      row.lastChild.setAttribute('aria-label', `classify Fashion-MNIST ${name}`);
      row.lastChild.append(fashionThumbnail(samples, i));
    }
  }).catch((e) => {
    delete row.dataset.filled;
    onMissing(e);
  });
}
