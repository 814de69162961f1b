// Page tests of the teaching lab (issue 6): open the lab, change the channels and the kernel,
// and read on the page the numbers the native tool's analysis gives; the trained twins and
// tricks show their recorded accuracies and the first-layer counts `convscope lab` gives.
// Usage: node tests/page/lab.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, screenshot, test } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const tool = (...args) => JSON.parse(execFileSync(CONVSCOPE, args, { encoding: 'utf8' }));
const exact = (n) => Number(n).toLocaleString('en-US');
const percent = (f) => `${(100 * f).toFixed(2)}%`;
const record = (name) => JSON.parse(readFileSync(resolve(`assets/weights/${name}.run.json`), 'utf8'));

/** The lab page; the explorer's model is the small lenet5 so the page is ready quickly.
 *  `backend` forces one (SwiftShader would otherwise get the CPU engine). */
async function openLab(browser, backend = null) {
  const page = await openPage(browser, `${BASE}#model=lenet5&view=lab${backend ? `&backend=${backend}` : ''}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="lab"]').dataset.ready === 'true', null, { timeout: SLOW });
  return page;
}

const text = (page, id) => page.textContent(`[data-testid="${id}"]`);

/** The kernel comparison's cells against `convscope compare-kernels --json`. */
async function checkKernels(page, inC, outC, h, w, k) {
  const expected = tool('compare-kernels', '--in', String(inC), '--out', String(outC), '--size', `${h}x${w}`, '--kernel', String(k), '--json');
  for (const [side, json] of [['a', expected.large], ['b', expected.stacked]]) {
    for (const key of ['layers', 'params', 'macs', 'flops', 'nonlinearities']) {
      const shown = await text(page, `kernels-${side}-${key}`);
      assert(shown === exact(json[key]), `${side} ${key}: page ${shown}, tool ${json[key]} (${inC}->${outC}, ${h}x${w}, k=${k})`);
    }
    const rf = await text(page, `kernels-${side}-rf`);
    assert(rf === `${json.rf_size}×${json.rf_size}`, `${side} receptive field: page ${rf}, tool ${json.rf_size}`);
  }
}

async function setField(page, id, value) {
  const selector = `[data-testid="${id}"]`;
  if (await page.$eval(selector, (e) => e.tagName) === 'SELECT') await page.selectOption(selector, String(value));
  else await page.fill(selector, String(value));
}

{
  const browser = await launch({ webgpu: true });
  let page = null;
  await test('lab: the default comparisons are the analysis module\'s and the papers\' numbers', () => page, async () => {
    page = await openLab(browser, 'webgpu');
    await checkKernels(page, 64, 64, 56, 56, 7);
    assert(await text(page, 'inception-a-macs') === exact(120_422_400), 'inception direct MACs');
    assert(await text(page, 'inception-b-macs') === exact(12_443_648), 'inception reduced MACs');
    assert(await text(page, 'bottleneck-a-params') === exact(1_179_648), 'basic block params');
    assert(await text(page, 'bottleneck-b-params') === exact(69_632), 'bottleneck params');
    await screenshot(page, 'lab-comparisons');
  });
  await test('lab: changing channels, size and kernel recomputes both sides', () => page, async () => {
    for (const [inC, outC, h, w, k] of [[32, 48, 20, 24, 5], [3, 16, 9, 9, 11], [7, 5, 16, 16, 3]]) {
      await setField(page, 'kernels-in_c', inC);
      await setField(page, 'kernels-out_c', outC);
      await setField(page, 'kernels-h', h);
      await setField(page, 'kernels-w', w);
      await setField(page, 'kernels-k', k);
      await checkKernels(page, inC, outC, h, w, k);
    }
    await setField(page, 'inception-reduce', 64);
    const reduced = 28 * 28 * 192 * 64 + 28 * 28 * 64 * 32 * 25;
    assert(await text(page, 'inception-b-macs') === exact(reduced), 'inception with a 64-channel reduction');
  });
  await test('lab: the receptive field grows by two pixels per 3x3 layer in the step-through', () => page, async () => {
    await setField(page, 'kernels-k', 7);
    for (const [step, size] of [[1, 3], [2, 5], [3, 7]]) {
      if (step > 1) await page.click('[data-testid="rf-step-next"]');
      const t = await text(page, 'rf-step-text');
      assert(t.includes(`After ${step} of 3`) && t.includes(`${size}×${size}`), `step ${step}: ${t}`);
    }
    assert(await page.$eval('[data-testid="rf-step-next"]', (b) => b.disabled), 'next is still enabled after the last layer');
  });
  await test('lab: both sides are measured on WebGPU', () => page, async () => {
    await setField(page, 'kernels-in_c', 8);
    await setField(page, 'kernels-out_c', 8);
    await setField(page, 'kernels-h', 16);
    await setField(page, 'kernels-w', 16);
    await setField(page, 'kernels-k', 5);
    await page.click('[data-testid="kernels-measure"]');
    await page.waitForFunction(() => /Median/.test(document.querySelector('[data-testid="kernels-time-caption"]').textContent), null, { timeout: SLOW });
    const caption = await text(page, 'kernels-time-caption');
    assert(/WebGPU/.test(caption), `caption: ${caption}`);
    for (const side of ['a', 'b']) {
      const ms = await text(page, `kernels-${side}-ms`);
      assert(/^\d+\.\d\d ms$/.test(ms) && Number.parseFloat(ms) >= 0, `${side}: ${ms}`);
    }
  });
  await test('lab: an impossible setting is reported and the lab keeps working', () => page, async () => {
    await setField(page, 'kernels-in_c', 0);
    const error = await text(page, 'kernels-error');
    assert(/channels/.test(error), `error: "${error}"`);
    await setField(page, 'kernels-in_c', 4);
    assert(await text(page, 'kernels-error') === '', 'the error stays after a good setting');
    await checkKernels(page, 4, 8, 16, 16, 5);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await test('lab: twins and tricks show their recorded accuracies and the first-layer counts', () => page, async () => {
    const lab = tool('lab', '--json');
    for (const { a, b } of lab.twins) {
      for (const side of [a, b]) {
        const shown = await text(page, `${side.model}-accuracy`);
        assert(shown === percent(record(side.model).test_accuracy), `${side.model}: page ${shown}`);
        assert(await text(page, `${side.model}-params`) === exact(side.params), `${side.model} params`);
        assert(await text(page, `${side.model}-macs`) === exact(side.macs), `${side.model} MACs`);
      }
    }
    const first = lab.twins.find((t) => t.twin.id === 'first');
    for (const side of [first.a, first.b]) {
      assert(await text(page, `${side.model}-dead`) === exact(side.first_layer.dead), `${side.model} dead filters`);
      assert(await text(page, `${side.model}-low-contrast`) === exact(side.first_layer.low_contrast), `${side.model} low-contrast filters`);
      const filters = await page.$$(`[data-testid="twin-${side.model}"] [data-testid="lab-filter"]`);
      assert(filters.length === side.first_layer.filters.length, `${side.model}: ${filters.length} filter tiles`);
      const maps = await page.$$(`[data-testid="twin-${side.model}"] [data-testid="lab-map"]`);
      assert(maps.length === side.first_layer.filters.length, `${side.model}: ${maps.length} map tiles`);
    }
    for (const side of lab.tricks) {
      const shown = await text(page, `${side.model}-accuracy`);
      assert(shown === percent(record(side.model).test_accuracy), `${side.model}: page ${shown}`);
    }
    const before = await text(page, 'lab-sample-caption');
    await page.click('[data-testid="lab-sample"] >> nth=3');
    const after = await text(page, 'lab-sample-caption');
    assert(before !== after && /test image \d+: /.test(after), `sample caption ${before} -> ${after}`);
    await page.locator('[data-testid="lab-twins"]').screenshot({ path: 'artifacts/lab-twins.png' });
    await page.locator('[data-testid="lab-tricks"]').screenshot({ path: 'artifacts/lab-tricks.png' });
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await test('lab: the URL keeps the lab open and the explorer is one click away', () => page, async () => {
    assert(/view=lab/.test(await page.evaluate(() => location.hash)), 'no view=lab in the hash');
    await page.click('[data-testid="view-explore"]');
    assert(await page.isHidden('[data-testid="lab"]'), 'the lab is still shown');
    assert(!/view=lab/.test(await page.evaluate(() => location.hash)), 'view=lab stays in the hash');
    await page.click('[data-testid="view-lab"]');
    assert(await page.isVisible('[data-testid="lesson-kernels"]'), 'the lab did not come back');
  });
  await browser.close();
}

{
  const browser = await launch({ webgpu: false });
  let page = null;
  await test('lab without WebGPU: the CPU reference times the blocks and says so', () => page, async () => {
    page = await openLab(browser);
    await setField(page, 'kernels-in_c', 4);
    await setField(page, 'kernels-out_c', 4);
    await setField(page, 'kernels-h', 12);
    await setField(page, 'kernels-w', 12);
    await page.click('[data-testid="kernels-measure"]');
    await page.waitForFunction(() => /Median/.test(document.querySelector('[data-testid="kernels-time-caption"]').textContent), null, { timeout: SLOW });
    const caption = await text(page, 'kernels-time-caption');
    assert(/CPU reference/.test(caption), `caption: ${caption}`);
    await checkKernels(page, 4, 4, 12, 12, 7);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

finish();
