// A small harness for the page tests: launching Debian's Chromium through playwright-core,
// collecting console errors, named tests with pass/fail, screenshots under artifacts/.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

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

/** Chromium with WebGPU (`webgpu`) or without, plus any `extra` flags. */
export function launch({ webgpu, extra = [] }) {
  const args = [...QUIET, ...(webgpu ? ['--enable-unsafe-webgpu', ...WEBGPU_CANVAS] : ['--disable-blink-features=WebGPU']), ...extra];
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
