// Page tests of the lab's families panel (issue 16): the five families and the plain twin show
// the accuracy, parameters and MACs `convscope lab --families --json` gives, their training
// times, times per image measured in the page (CPU always; GPU with WebGPU, and a note saying
// it is unavailable without), and the plain-vs-residual curves on one chart.
// Usage: node tests/page/labfamilies.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, test } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const tool = JSON.parse(execFileSync(CONVSCOPE, ['lab', '--families', '--json'], { encoding: 'utf8' }));
const exact = (n) => Number(n).toLocaleString('en-US');
const percent = (f) => `${(100 * f).toFixed(2)}%`;

async function openFamilies(browser) {
  const page = await openPage(browser, `${BASE}#model=lenet5&view=lab`);
  await page.waitForFunction(() => document.querySelector('[data-testid="lab-families"]')?.dataset.ready === 'true', null, { timeout: SLOW });
  return page;
}

const text = (page, id) => page.textContent(`[data-testid="${id}"]`);
const milliseconds = (shown) => (/^\d+\.\d{3} ms$/.test(shown) ? Number.parseFloat(shown) : NaN);

/** Accuracy, parameters and MACs as the tool gives them; the times measured and positive. */
async function checkTable(page, withGpu) {
  assert(tool.families.length === 6, `the tool lists ${tool.families.length} families`);
  assert(await text(page, 'families-error') === '', `error: ${await text(page, 'families-error')}`);
  for (const row of tool.families) {
    const id = (key) => `family-${row.model}-${key}`;
    assert(await text(page, id('accuracy')) === percent(row.test_accuracy), `${row.model} accuracy: page ${await text(page, id('accuracy'))}, tool ${row.test_accuracy}`);
    assert(await text(page, id('params')) === exact(row.params), `${row.model} params`);
    assert(await text(page, id('macs')) === exact(row.macs), `${row.model} MACs`);
    assert(await text(page, id('train')) === `${Math.round(row.train_seconds)} s`, `${row.model} training time`);
    const cpu = milliseconds(await text(page, id('cpu')));
    assert(cpu > 0, `${row.model} CPU time: ${await text(page, id('cpu'))}`);
    const gpuShown = await text(page, id('gpu'));
    if (withGpu) assert(milliseconds(gpuShown) > 0, `${row.model} GPU time: ${gpuShown}`);
    else assert(gpuShown === 'unavailable', `${row.model} GPU time without WebGPU: ${gpuShown}`);
  }
  const note = await text(page, 'families-gpu-note');
  assert(withGpu ? /GPU: WebGPU/.test(note) : /GPU time unavailable/.test(note), `note: ${note}`);
  assert(await page.isVisible('[data-testid="families-pair-chart"] canvas'), 'no plain-vs-residual chart');
  const legend = await page.textContent('[data-testid="families-pair-chart"]');
  for (const label of ['Plain twin: train error', 'Plain twin: test error', 'ResNet: train error', 'ResNet: test error']) {
    assert(legend.includes(label), `pair chart legend lacks ${label}: ${legend}`);
  }
  assert(await page.isVisible('[data-testid="families-curves"] canvas'), 'no all-families chart');
  assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
}

for (const webgpu of [true, false]) {
  const browser = await launch({ webgpu });
  let page = null;
  await test(`lab families ${webgpu ? 'with' : 'without'} WebGPU: the table is the tool's, times measured in the page`, () => page, async () => {
    page = await openFamilies(browser);
    await checkTable(page, webgpu);
    await page.locator('[data-testid="lab-families"]').screenshot({ path: `artifacts/lab-families-${webgpu ? 'webgpu' : 'cpu'}.png` });
  });
  await browser.close();
}

finish();
