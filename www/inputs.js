// The inputs: photo upload or drop, bundled samples, the webcam and a drawing pad. Each
// produces a frame `{width, height, data (RGBA bytes), source}` for the page to classify.
import { CAMERA, DRAW_PAD, LIMITS, PATHS, SAMPLES } from './config.js';
import { el, megabytes } from './dom.js';
import { imageSize } from './imagesize.js';

/** A problem with what the user gave, said so they can act on it. */
export class InputError extends Error {}

function frameFrom(source, image, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  // Large photos are drawn smaller here: smooth well, or fine detail aliases.
  context.imageSmoothingQuality = 'high';
  context.drawImage(image, 0, 0, width, height);
  const { data } = context.getImageData(0, 0, width, height);
  return { width, height, data, source };
}

function tooManyPixels(name, width, height) {
  return new InputError(`${name} is ${width}×${height} pixels, over the ${LIMITS.maxPixels / 1e6} megapixel limit: scale it down first`);
}

/** The frame size for a `width x height` image: downscaled to at most `LIMITS.maxFramePixels`. */
function frameSize(width, height) {
  const scale = Math.min(1, Math.sqrt(LIMITS.maxFramePixels / (width * height)));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

/**
 * Decode an image file, refusing empty, huge and non-image files with a clear message; large
 * images are downscaled (the frame's `note` says so).
 */
export async function decodeFile(file) {
  const name = `"${file.name}"`;
  if (file.size === 0) throw new InputError(`${name} is empty (0 bytes): choose an image file`);
  if (file.size > LIMITS.maxFileBytes) {
    throw new InputError(`${name} is ${megabytes(file.size)}, over the ${megabytes(LIMITS.maxFileBytes)} limit: choose a smaller image`);
  }
  const header = await imageSize(file);
  if (header && header.width * header.height > LIMITS.maxPixels) throw tooManyPixels(name, header.width, header.height);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new InputError(`${name} is not an image this browser can decode (type: ${file.type || 'unknown'}): choose a PNG, JPEG, WebP or GIF`);
  }
  const { width, height } = bitmap;
  if (width * height > LIMITS.maxPixels) {
    bitmap.close();
    throw tooManyPixels(name, width, height);
  }
  const [w, h] = frameSize(width, height);
  const frame = frameFrom(file.name, bitmap, w, h);
  bitmap.close();
  if (w !== width) frame.note = `downscaled from ${width}×${height} to ${w}×${h} pixels`;
  return frame;
}

/** A bundled sample photo by name. */
export async function loadSample(name) {
  const sample = SAMPLES.find((s) => s.name === name);
  if (!sample) throw new InputError(`there is no sample called "${name}"`);
  const response = await fetch(PATHS.photos + sample.file);
  if (!response.ok) throw new InputError(`sample ${sample.file} is missing on the server (run ./scripts/serve.sh, which copies the photos)`);
  const blob = await response.blob();
  const frame = await decodeFile(new File([blob], sample.file, { type: blob.type }));
  return { ...frame, source: `sample:${name}` };
}

/** File input, drop zone and sample buttons. `onFile(file)` and `onSample(name)` do the work. */
export function wireImageInputs({ fileInput, dropZone, samples }, { onFile, onSample }) {
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) onFile(file);
    fileInput.value = '';
  });
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropZone.classList.add('over');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
  // A file dropped anywhere on the page is used, rather than opened by the browser.
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('over');
    const file = e.dataTransfer?.files?.[0];
    if (file) onFile(file);
  });
  samples.replaceChildren(
    ...SAMPLES.map((s) => el('button', { type: 'button', 'data-sample': s.name, onclick: () => onSample(s.name) }, s.name)),
  );
}

/** Longest wait (ms) for the camera's next frame before the current one is taken again. */
const FRAME_WAIT_MS = 100;

/**
 * The webcam: frames are classified back to back, the next one taken as soon as the last one
 * is shown (and the camera has a new one), each drawn into one reused canvas.
 */
export class Camera {
  constructor(video, button, onFrame, onProblem) {
    this.video = video;
    this.button = button;
    this.onFrame = onFrame;
    this.onProblem = onProblem;
    this.stream = null;
    this.grab = null;
    this.presented = 0;
    this.taken = -1;
    this.wake = null;
    button.addEventListener('click', () => (this.stream ? this.stop() : this.start()));
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.onProblem('this browser offers no camera access here (it needs https or localhost); the other inputs still work');
      return;
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(CAMERA);
    } catch (e) {
      const why = e.name === 'NotAllowedError' ? 'camera permission was denied'
        : e.name === 'NotFoundError' ? 'no camera was found' : `the camera could not start (${e.name}: ${e.message})`;
      this.onProblem(`${why}; the other inputs still work`);
      return;
    }
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    await this.video.play();
    this.button.textContent = 'Stop camera';
    this.countFrames(this.stream);
    this.loop();
  }

  stop() {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    this.grab = null;
    this.button.textContent = 'Start camera';
  }

  /** Count the frames the video presents (where the browser says), waking a waiting loop. */
  countFrames(stream) {
    if (!('requestVideoFrameCallback' in this.video)) return;
    const tick = () => {
      if (this.stream !== stream) return;
      this.presented += 1;
      this.wake?.();
      this.video.requestVideoFrameCallback(tick);
    };
    this.video.requestVideoFrameCallback(tick);
  }

  /** Resolves when the camera has a frame not taken yet, or after `FRAME_WAIT_MS` (or a paint where frames are not counted). */
  nextFrame() {
    if (!('requestVideoFrameCallback' in this.video)) return new Promise((resolve) => requestAnimationFrame(resolve));
    if (this.presented > this.taken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, FRAME_WAIT_MS);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** The video's current frame as RGBA bytes, drawn into a canvas kept while the size stays. */
  frame(w, h) {
    if (this.grab?.canvas.width !== w || this.grab.canvas.height !== h) {
      this.grab = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true });
    }
    this.grab.drawImage(this.video, 0, 0, w, h);
    return { width: w, height: h, data: this.grab.getImageData(0, 0, w, h).data, source: 'camera' };
  }

  async loop() {
    while (this.stream) {
      await this.nextFrame();
      const { videoWidth: w, videoHeight: h } = this.video;
      if (!this.stream || this.video.readyState < 2 || !w || !h) {
        await new Promise((resolve) => setTimeout(resolve, FRAME_WAIT_MS));
        continue;
      }
      this.taken = this.presented;
      const ok = await this.onFrame(this.frame(w, h));
      if (!ok) this.stop();
    }
  }
}

/** A pad for drawing a garment for the Fashion-MNIST networks: light strokes on black. */
export class DrawPad {
  constructor(root, onFrame) {
    this.canvas = el('canvas', { width: DRAW_PAD.size, height: DRAW_PAD.size, class: 'draw-pad', 'data-testid': 'draw-pad' });
    this.context = this.canvas.getContext('2d', { willReadFrequently: true });
    const clear = el('button', { type: 'button', onclick: () => this.clear() }, 'Clear');
    root.append(this.canvas, clear);
    this.clear();
    let last = null;
    const point = (e) => [e.offsetX, e.offsetY];
    this.canvas.addEventListener('pointerdown', (e) => {
      last = point(e);
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!last) return;
      const next = point(e);
      const c = this.context;
      c.strokeStyle = '#fff';
      c.lineWidth = DRAW_PAD.pen;
      c.lineCap = 'round';
      c.beginPath();
      c.moveTo(...last);
      c.lineTo(...next);
      c.stroke();
      last = next;
    });
    this.canvas.addEventListener('pointerup', () => {
      last = null;
      const { width, height } = this.canvas;
      onFrame({ width, height, data: this.context.getImageData(0, 0, width, height).data, source: 'drawing' });
    });
  }

  clear() {
    this.context.fillStyle = '#000';
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }
}
