// The webcam loop over a long run (issue 14): Chromium's fake camera feeds the coffee photo to
// the fast CPU engine frame after frame, and the page's memory must stay flat. Both checks
// stop the camera, let the page settle and collect garbage (over CDP) before they measure,
// so what is compared is what the page keeps, not a frame in flight; nothing here is timed.
// Usage: node tests/page/camera.mjs http://127.0.0.1:PORT/
import { resolve } from 'node:path';
import { ARTIFACTS, SLOW, assert, finish, launch, openPage, test, top5, writeY4m } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const y4m = resolve(ARTIFACTS, 'camera-coffee.y4m');
/**
 * What the page may keep beyond what it held at the first measurement. One camera frame
 * (480 x 320 RGBA) is 0.6 MB, so a leak of anything per frame over hundreds of frames is far
 * over these; they leave room for caches that fill once (compiled code, interned strings).
 */
const JS_HEAP_MARGIN = 2 * 2 ** 20;
const WASM_MEMORY_MARGIN = 2 ** 20;
/** The long run: 1,000 frames of a small network, so the loop's own work is most of a frame. */
const LONG = { model: 'lenet5_modern', from: 100, to: 1000 };
/** The default model, for a shorter run (about 0.1 s a frame on two busy cores). */
const DEFAULT = { model: 'efficientnet_lite0', from: 30, to: 200 };

const MB = (bytes) => (bytes / 2 ** 20).toFixed(2);
const count = (page) => page.evaluate(() => Number(document.body.dataset.classifications ?? 0));

/** Run the camera until the page has shown `n` classifications, then stop it and wait until idle. */
async function runCameraTo(page, n) {
  await page.click('[data-testid="webcam-button"]');
  await page.waitForFunction((k) => Number(document.body.dataset.classifications ?? 0) >= k, n, { timeout: 20 * SLOW, polling: 500 });
  await page.click('[data-testid="webcam-button"]');
  await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: SLOW });
}

/** The page's JS memory after garbage collection, and the WebAssembly memory's size. */
async function memory(page, cdp) {
  for (let i = 0; i < 3; i += 1) await cdp.send('HeapProfiler.collectGarbage');
  // The JS heap, the DOM's (Blink's) heap, and typed arrays' storage outside both.
  const usage = await cdp.send('Runtime.getHeapUsage');
  const heap = usage.usedSize + (usage.embedderHeapUsedSize ?? 0) + (usage.backingStorageSize ?? 0);
  const wasm = Number(await page.evaluate(() => document.body.dataset.wasmBytes));
  return { heap, wasm };
}

/** `model` on the CPU engine: the camera to frame `from`, measure, on to frame `to`, measure again. */
async function flatOver(browser, { model, from, to }) {
  const page = await openPage(browser, `${BASE}#model=${model}&backend=cpu`);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.enable');
  await runCameraTo(page, from);
  const before = await memory(page, cdp);
  await runCameraTo(page, to);
  const after = await memory(page, cdp);
  const frames = await count(page);
  console.log(`     ${model}: frames ${from} -> ${frames}: JS memory ${MB(before.heap)} -> ${MB(after.heap)} MB,`
    + ` wasm memory ${MB(before.wasm)} -> ${MB(after.wasm)} MB`);
  assert(before.wasm > 0, 'the page does not record its WebAssembly memory');
  assert(after.heap - before.heap <= JS_HEAP_MARGIN, `${model}: the JS memory grew by ${MB(after.heap - before.heap)} MB over ${frames - from} frames`);
  assert(after.wasm - before.wasm <= WASM_MEMORY_MARGIN, `${model}: the wasm memory grew by ${MB(after.wasm - before.wasm)} MB over ${frames - from} frames`);
  assert(/camera/.test(await page.textContent('#top5-caption')) && (await top5(page)).length === 5, 'the last frame has no top-5');
  assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  return page;
}

{
  const browser = await launch({ webgpu: false });
  const page = await openPage(browser, BASE);
  await writeY4m(page, new URL('photos/coffee.png', BASE).href, y4m);
  await browser.close();
}
{
  const camera = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`];
  const browser = await launch({ webgpu: false, extra: camera });
  let page = null;
  await test(`camera on the CPU engine: memory flat from frame ${LONG.from} to ${LONG.to} (${LONG.model})`, () => page, async () => {
    page = await flatOver(browser, LONG);
    await page.close();
  });
  await test(`camera on the CPU engine: memory flat from frame ${DEFAULT.from} to ${DEFAULT.to} (${DEFAULT.model})`, () => page, async () => {
    page = await flatOver(browser, DEFAULT);
    assert((await top5(page))[0] === 'espresso', `the camera's coffee is ${(await top5(page)).join(', ')}`);
    await page.close();
  });
  await browser.close();
}
finish();
