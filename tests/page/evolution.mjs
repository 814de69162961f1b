// Page tests of the lab's feature-evolution panel (issue 16, Zeiler & Fergus Fig. 4), without
// WebGPU (projections on the CPU reference) and with it (SwiftShader, forced): every shipped
// model whose run record lists checkpoints is offered (at least two with at least four each);
// for two of them the columns show the record's epochs and test accuracies and the same chosen
// inputs as the native tool's index (`convscope evolution --limit 100`, the page's 100 test
// images); the panel says which backend ran; bad channels get a message and the panel keeps
// working. Screenshots in artifacts/. Usage: node tests/page/evolution.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, recordLongTasks, screenshotOf, test } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const WEIGHTS = resolve('assets/weights');
/** The page ranks the first 100 Fashion-MNIST test images (photos/fashion-test.png). */
const PAGE_IMAGES = 100;
/** Two models and what to follow in each. */
const CASES = [
  { model: 'lab_first_alexnet', node: 'relu2', channels: '0,1,2' },
  { model: 'lab_first_zfnet', node: 'relu1', channels: '3,7' },
];

/**
 * The page gets turns all through a run: its longest block (a long task) may be at most this
 * fraction of the run's wall time, the ratio tests/page/run.mjs holds classification to.
 */
const LONGEST_BLOCK_FRACTION = 0.34;

/** Every shipped model whose run record lists checkpoints, with their count. */
const withCheckpoints = Object.fromEntries(readdirSync(WEIGHTS).filter((f) => f.endsWith('.run.json'))
  .map((f) => JSON.parse(readFileSync(join(WEIGHTS, f), 'utf8')))
  .filter((r) => (r.checkpoints ?? []).length > 0)
  .map((r) => [r.model, r.checkpoints.length]));

/** The native tool's index for one case (the ranking is the fast CPU engine's on both). */
const indexCache = new Map();
function toolIndex({ model, node, channels }) {
  const key = `${model}/${node}/${channels}`;
  if (!indexCache.has(key)) {
    const out = mkdtempSync(join(tmpdir(), 'convscope-evolution-'));
    execFileSync(CONVSCOPE, ['evolution', '--model', model, '--node', node, '--channels', channels,
      '--limit', String(PAGE_IMAGES), '--cpu', '--out', out], { encoding: 'utf8' });
    indexCache.set(key, JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')));
  }
  return indexCache.get(key);
}

async function openLab(browser, backend) {
  const page = await openPage(browser, `${BASE}#model=lenet5&view=lab${backend ? `&backend=${backend}` : ''}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="lab"]').dataset.ready === 'true', null, { timeout: SLOW });
  return page;
}

/** Run the panel on one case and wait for it to finish (or fail). */
async function runCase(page, { model, node, channels }) {
  await page.selectOption('[data-testid="evolution-model"]', model);
  await page.selectOption('[data-testid="evolution-node"]', node);
  await page.fill('[data-testid="evolution-channels"]', channels);
  await page.evaluate(() => { delete document.querySelector('[data-testid="evolution"]').dataset.state; });
  await page.click('[data-testid="evolution-run"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="evolution"]').dataset.state, null, { timeout: SLOW, polling: 250 });
  return page.$eval('[data-testid="evolution"]', (p) => ({ ...p.dataset, caption: p.querySelector('[data-testid="evolution-caption"]').textContent }));
}

/** The page's columns against the tool's index. */
async function checkAgainstTool(page, c) {
  const index = toolIndex(c);
  const epochs = await page.$$eval('[data-testid="evolution-epoch"]', (hs) => hs.map((h) => ({ epoch: Number(h.dataset.epoch), accuracy: Number(h.dataset.accuracy) })));
  assert(epochs.length === index.checkpoints.length, `${c.model}: ${epochs.length} columns, the tool has ${index.checkpoints.length}`);
  epochs.forEach((e, i) => {
    const want = index.checkpoints[i];
    assert(e.epoch === want.epoch, `${c.model} column ${i}: epoch ${e.epoch}, tool ${want.epoch}`);
    assert(Math.abs(e.accuracy - want.test_accuracy) < 1e-6, `${c.model} epoch ${e.epoch}: accuracy ${e.accuracy}, tool ${want.test_accuracy}`);
  });
  const units = await page.$$eval('[data-testid="evolution-unit"]', (us) => us.map((u) => ({ ...u.dataset })));
  const channels = c.channels.split(',').map(Number);
  assert(units.length === channels.length * index.checkpoints.length, `${c.model}: ${units.length} unit cells`);
  for (const u of units) {
    const column = index.checkpoints.find((k) => k.epoch === Number(u.epoch));
    const want = column.units.find((k) => k.channel === Number(u.channel));
    assert(want && Number(u.image) === want.image, `${c.model} epoch ${u.epoch} channel ${u.channel}: page input ${u.image}, tool ${want?.image}`);
    assert(Math.abs(Number(u.value) - want.value) <= 1e-4 + 1e-4 * Math.abs(want.value), `${c.model} epoch ${u.epoch} channel ${u.channel}: activation ${u.value}, tool ${want.value}`);
  }
  const filters = await page.$$eval('[data-testid="evolution-filters"]', (cs) => cs.map((cv) => [cv.width, cv.height]));
  assert(filters.length === index.checkpoints.length && filters.every(([w, h], i) => w === index.checkpoints[i].filters.width && h === index.checkpoints[i].filters.height),
    `${c.model}: filter pictures ${JSON.stringify(filters)}`);
}

async function suite(label, backend, expectedBackend) {
  const browser = await launch({ webgpu: backend === 'webgpu' });
  let page = null;
  await test(`${label}: every model with checkpoints is offered`, () => page, async () => {
    page = await openLab(browser, backend);
    const offered = await page.$$eval('[data-testid="evolution-model"] option', (os) => os.map((o) => o.value));
    assert(offered.slice().sort().join() === Object.keys(withCheckpoints).sort().join(), `offered ${offered}, shipped ${Object.keys(withCheckpoints)}`);
    const rich = offered.filter((m) => withCheckpoints[m] >= 4);
    assert(rich.length >= 2, `models with at least four checkpoints: ${rich}`);
  });
  for (const c of CASES) {
    await test(`${label}: ${c.model} ${c.node} shows the tool's epochs, accuracies and inputs, the page never frozen`, () => page, async () => {
      await recordLongTasks(page);
      const state = await runCase(page, c);
      const blocks = await page.evaluate(() => window.longTasks);
      const longest = Math.max(0, ...blocks);
      console.log(`     ${blocks.length} long tasks, longest ${longest} ms of ${Number(state.ms).toFixed(0)} ms`);
      assert(longest <= LONGEST_BLOCK_FRACTION * Number(state.ms), `the page was blocked for ${longest} ms of ${Number(state.ms).toFixed(0)} ms (tasks: ${blocks.join(', ')})`);
      assert(state.state === 'done', `the panel: ${state.caption}`);
      assert(state.backend === expectedBackend, `projected on ${state.backend}, expected ${expectedBackend}: ${state.caption}`);
      assert(/ranked the 100 test images on the fast CPU engine/.test(state.caption) && /\d+\.\d\d s/.test(state.caption), `caption: ${state.caption}`);
      await checkAgainstTool(page, c);
      await screenshotOf(page, '[data-testid="evolution"]', `evolution-${c.model}-${label.toLowerCase().replace(/\W+/g, '-')}`);
    });
  }
  await test(`${label}: bad channels get a message and the panel keeps working`, () => page, async () => {
    let state = await runCase(page, { ...CASES[0], channels: 'one' });
    assert(state.state === 'failed' && /whole numbers/.test(state.caption), `caption: ${state.caption}`);
    state = await runCase(page, { ...CASES[0], channels: '0,999' });
    assert(state.state === 'failed' && /999/.test(state.caption), `caption: ${state.caption}`);
    state = await runCase(page, { ...CASES[0], channels: '0' });
    assert(state.state === 'done', `after the errors: ${state.caption}`);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

await suite('CPU', null, 'reference');
await suite('WebGPU', 'webgpu', 'webgpu');
finish();
