// The camera's frame rate, and the figures the page records on the body for its benchmark
// (scripts/bench-page.sh) and its tests: the last pass, the first result's time since the
// page started loading, the frame rate, the classifications so far and the size of the
// WebAssembly memory (tests/page/camera.mjs checks it stays flat over a long camera run).
export class Meter {
  constructor(body) {
    this.body = body;
    this.memory = null;
    this.classifications = 0;
    this.camera = { at: null, fps: null };
  }

  /** Camera frames per second at `now`, smoothed over the last few frames; null for other inputs. */
  frameRate(source, now) {
    const { camera } = this;
    const rate = source === 'camera' && camera.at !== null ? 1000 / (now - camera.at) : null;
    const fps = rate === null ? null : camera.fps === null ? rate : 0.7 * camera.fps + 0.3 * rate;
    this.camera = source === 'camera' ? { at: now, fps } : { at: null, fps: null };
    return fps;
  }

  /** A classification is shown: it took `ms`, at `fps` camera frames per second (or null). */
  record(ms, fps) {
    this.classifications += 1;
    const data = this.body.dataset;
    data.lastMs = ms.toFixed(1);
    if (this.classifications === 1) data.firstResultMs = performance.now().toFixed(0);
    data.fps = fps === null ? '' : fps.toFixed(2);
    if (this.memory) data.wasmBytes = String(this.memory.buffer.byteLength);
    data.classifications = String(this.classifications);
  }
}
