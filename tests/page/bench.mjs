// The page's speed, per engine (the fast CPU engine, WebGPU): the time from opening the page
// to the first top-5, the median time per image over repeated classifications of a sample,
// and the webcam's frames per second with Chromium's fake camera. Not a test: it prints a
// table for BENCHMARKS.md. Run by scripts/bench-page.sh; BENCH_ENGINES=cpu,cpu-vulkan,webgpu picks rows.
import { resolve } from 'node:path';
import { ARTIFACTS, SLOW, launch, openPage, writeY4m } from './harness.mjs';

const BASE = process.argv[2] ?? 'http://127.0.0.1:8000/';
const MODEL = process.env.BENCH_MODEL ?? 'efficientnet_lite0';
const IMAGES = Number(process.env.BENCH_IMAGES ?? 10);
const CAMERA_MS = Number(process.env.BENCH_CAMERA_MS ?? 10_000);
const y4m = resolve(ARTIFACTS, 'bench-coffee.y4m');

const count = (page) => page.evaluate(() => Number(document.body.dataset.classifications ?? 0));

async function waitForCount(page, n) {
  await page.waitForFunction((k) => Number(document.body.dataset.classifications ?? 0) >= k
    && document.body.dataset.busy === 'false', n, { timeout: SLOW });
}

/** First result, then the median of `IMAGES` classifications of the coffee sample. */
async function perImage(browser, backend) {
  const page = await openPage(browser, `${BASE}#model=${MODEL}&input=sample:coffee&backend=${backend}`);
  await waitForCount(page, 1);
  const first = Number(await page.evaluate(() => document.body.dataset.firstResultMs));
  const times = [];
  for (let i = 0; i < IMAGES; i += 1) {
    const before = await count(page);
    await page.click('#samples button:has-text("coffee")');
    await waitForCount(page, before + 1);
    times.push(Number(await page.evaluate(() => document.body.dataset.lastMs)));
  }
  times.sort((a, b) => a - b);
  const engine = await page.evaluate(() => document.body.dataset.backend);
  await page.close();
  return { first, median: times[Math.floor(times.length / 2)], engine };
}

/**
 * Frames per second over `CAMERA_MS` once the camera runs, the median pass meanwhile (the
 * rest of a frame is the page's work), and the JS heap before and after.
 */
async function webcam(browser, backend) {
  const page = await openPage(browser, `${BASE}#model=${MODEL}&backend=${backend}`);
  await page.click('[data-testid="webcam-button"]');
  const start = await count(page);
  // Frames run back to back, so the page may never look idle between them: count only.
  await page.waitForFunction((k) => Number(document.body.dataset.classifications ?? 0) >= k, start + 3, { timeout: SLOW });
  const heap = () => page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  const [n0, t0, h0] = [await count(page), Date.now(), await heap()];
  const passes = [];
  while (Date.now() - t0 < CAMERA_MS) {
    await page.waitForTimeout(250);
    passes.push(Number(await page.evaluate(() => document.body.dataset.lastMs)));
  }
  passes.sort((a, b) => a - b);
  const [n1, t1, h1] = [await count(page), Date.now(), await heap()];
  const shown = Number(await page.evaluate(() => document.body.dataset.fps));
  await page.click('[data-testid="webcam-button"]');
  await page.close();
  const pass = passes[Math.floor(passes.length / 2)];
  return { fps: (1000 * (n1 - n0)) / (t1 - t0), shown, frames: n1 - n0, pass, heapMb: [h0, h1].map((h) => h / 2 ** 20) };
}

const camera = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`];
{
  const browser = await launch({ webgpu: true });
  const page = await openPage(browser, BASE);
  await writeY4m(page, new URL('photos/coffee.png', BASE).href, y4m);
  await browser.close();
}
/**
 * The CPU engine runs in Chromium's own headless set-up; WebGPU needs SwiftShader's Vulkan
 * for its canvases (harness.mjs, WEBGPU_CANVAS), and with it every read of a camera frame
 * waits on the GPU process (~40 ms a frame on these machines), so the CPU engine is also
 * measured there (`cpu-vulkan`) to show it.
 */
const runs = [
  { backend: 'cpu', label: 'cpu', canvas: false },
  { backend: 'cpu', label: 'cpu-vulkan', canvas: true },
  { backend: 'webgpu', label: 'webgpu', canvas: true },
];
console.log(`${MODEL}, headless Chromium, ${IMAGES} images, camera for ${CAMERA_MS / 1000} s`);
console.log('engine      | first top-5 (ms since the page started loading) | median ms per image | webcam frames/s (page shows) | median pass during the camera (ms) | JS heap MB during the camera');
for (const { backend, label, canvas } of runs.filter((r) => !process.env.BENCH_ENGINES || process.env.BENCH_ENGINES.split(',').includes(r.label))) {
  const browser = await launch({ webgpu: true, canvas, extra: camera });
  const image = await perImage(browser, backend);
  const cam = await webcam(browser, backend);
  console.log(`${label.padEnd(11)} | ${String(image.first).padStart(6)} | ${image.median.toFixed(1).padStart(8)} | `
    + `${cam.fps.toFixed(1)} over ${cam.frames} frames (${cam.shown.toFixed(1)}) | ${cam.pass.toFixed(1)} | ${cam.heapMb.map((m) => m.toFixed(1)).join(' -> ')}`);
  await browser.close();
}
