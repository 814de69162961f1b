// A small harness for the page tests: launching Debian's Chromium through playwright-core,
// collecting console errors, named tests with pass/fail, screenshots under artifacts/.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.ARTIFACTS ?? 'artifacts';
/** SwiftShader runs EfficientNet-Lite0 in seconds, not milliseconds: waits are generous. */
export const SLOW = Number(process.env.PAGE_TIMEOUT_MS ?? 180_000);

const QUIET = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/**
 * Flags that let headless Chromium without a GPU present WebGPU canvases: its default
 * compositing has no shared-image backing for a WebGPU canvas, so configuring one loses the
 * device ("A valid external Instance reference no longer exists"); SwiftShader's Vulkan
 * gives it one. Also in webdriver.json (the wasm tests).
 */
export const WEBGPU_CANVAS = ['--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=vulkan', '--ignore-gpu-blocklist'];

/** Chromium with WebGPU (`webgpu`; `canvas`: able to present WebGPU canvases) or without, plus any `extra` flags. */
export function launch({ webgpu, canvas = true, extra = [] }) {
  const gpu = ['--enable-unsafe-webgpu', ...(canvas ? WEBGPU_CANVAS : [])];
  const args = [...QUIET, ...(webgpu ? gpu : ['--disable-blink-features=WebGPU']), ...extra];
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/**
 * A new page that records console errors and uncaught exceptions in `page.errors`; `init`
 * is a function run in the page before its own scripts.
 */
export async function openPage(browser, url, { init = null } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  if (init) await page.addInitScript(init);
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.errors.push(`exception: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready !== 'false', null, { timeout: SLOW });
  const ready = await page.evaluate(() => document.body.dataset.ready);
  if (ready !== 'true') {
    throw new Error(`the page failed to start: ${await page.textContent('[data-testid="status"]')}`);
  }
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A screenshot of one part of the page (the first element matching `selector`). */
export async function screenshotOf(page, selector, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator(selector).first().screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** How many classifications the page has finished. */
export function classifications(page) {
  return page.evaluate(() => Number(document.body.dataset.classifications ?? 0));
}

/** Wait until the page has finished more than `count` classifications and is idle. */
export async function waitForClassification(page, count) {
  await page.waitForFunction(
    (n) => Number(document.body.dataset.classifications ?? 0) > n && document.body.dataset.busy === 'false',
    count, { timeout: SLOW, polling: 250 },
  );
}

/** The class names of the top-5 list, best first. */
export function top5(page) {
  return page.$$eval('[data-testid="top5"] li .label', (items) => items.map((i) => i.textContent));
}

/** The top-5 list as `[{name, logit, probability}]`, best first. */
export function top5Scores(page) {
  return page.$$eval('[data-testid="top5"] li', (items) => items.map((i) => ({
    name: i.querySelector('.label').textContent,
    logit: Number(i.dataset.logit),
    probability: Number(i.dataset.probability),
  })));
}

/** Start recording the page's long tasks (main thread blocked over 50 ms) in `window.longTasks`. */
export function recordLongTasks(page) {
  return page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.longTasks.push(Math.round(e.duration));
    }).observe({ type: 'longtask' });
  });
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const results = [];

/**
 * Run one named test; a failure is recorded (with a screenshot of `currentPage()`, when
 * there is a page) and the run goes on.
 */
export async function test(name, currentPage, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: e.message });
    console.log(`FAIL ${name}: ${e.message}`);
    const page = currentPage();
    if (page) await screenshot(page, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
  }
}

/** Print the summary; the exit code says whether everything passed. */
export function finish() {
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
  for (const f of failed) console.log(`  failed: ${f.name}: ${f.error}`);
  process.exitCode = failed.length ? 1 : 0;
}

/** Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are) to RGBA. */
export function decodePng(png) {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const [depth, colour, interlace] = [png[24], png[25], png[28]];
  if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}`);
  const idat = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    if (png.toString('ascii', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += length + 12;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const channels = colour === 6 ? 4 : 3;
  const stride = width * channels;
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? rows[y * stride + i - channels] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? rows[(y - 1) * stride + i - channels] : 0;
      const paeth = () => {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      const predictor = [0, a, b, (a + b) >> 1, filter === 4 ? paeth() : 0][filter];
      rows[y * stride + i] = (line[i] + predictor) & 0xff;
    }
  }
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) data[4 * i + k] = rows[i * channels + k];
    data[4 * i + 3] = channels === 4 ? rows[i * channels + 3] : 255;
  }
  return { width, height, data };
}

/**
 * A Y4M video (Chromium's fake camera format) of one photo, drawn and converted to I420
 * (BT.601 studio range) by the browser itself, so no image library is needed here.
 */
export async function writeY4m(page, photoUrl, path) {
  const planes = await page.evaluate(async (url) => {
    const [w, h] = [480, 320];
    const image = await createImageBitmap(await (await fetch(url)).blob());
    const canvas = new OffscreenCanvas(w, h);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0, w, h);
    const rgba = context.getImageData(0, 0, w, h).data;
    const out = new Uint8Array((w * h * 3) / 2);
    const px = (x, y) => rgba.subarray(4 * (y * w + x), 4 * (y * w + x) + 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const [r, g, b] = px(x, y);
        out[y * w + x] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      }
    }
    for (let y = 0; y < h / 2; y++) {
      for (let x = 0; x < w / 2; x++) {
        let [r, g, b] = [0, 0, 0];
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const p = px(2 * x + dx, 2 * y + dy);
          r += p[0] / 4; g += p[1] / 4; b += p[2] / 4;
        }
        const i = y * (w / 2) + x;
        out[w * h + i] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
        out[(w * h * 5) / 4 + i] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
      }
    }
    return { w, h, data: Array.from(out) };
  }, photoUrl);
  const frame = Buffer.from(planes.data);
  const header = Buffer.from(`YUV4MPEG2 W${planes.w} H${planes.h} F30:1 Ip A1:1 C420jpeg\n`);
  const frames = Array.from({ length: 3 }, () => [Buffer.from('FRAME\n'), frame]).flat();
  writeFileSync(path, Buffer.concat([header, ...frames]));
}
