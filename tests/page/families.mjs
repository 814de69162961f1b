// Page tests of the family views (issue 15), without WebGPU (the fast CPU engine) and with it
// (forced onto SwiftShader): their numbers equal the f64 CPU reference's for the same photo,
// taken from the native tool (`convscope classify --reference --families --json`); the
// panels open from the keyboard and come back from the URL; the first-visit guide stays
// away once dismissed; every control has a name in the accessibility tree; screenshots at
// 1280x800 and 480x900. Usage: node tests/page/families.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, screenshot, test, waitForClassification } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const PHOTO = join(resolve('assets/photos'), 'coffee.png');
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const close = (got, want) => Math.abs(got - want) <= 2e-3 + 2e-3 * Math.abs(want);

/** The reference's family numbers for coffee.png, from the native tool (one run per model). */
const referenceCache = new Map();
function reference(model) {
  if (!referenceCache.has(model)) {
    const out = execFileSync(CONVSCOPE, ['classify', PHOTO, '--model', model, '--reference', '--json', '--families'], { encoding: 'utf8' });
    referenceCache.set(model, JSON.parse(out).families);
  }
  return referenceCache.get(model);
}

/** Wait until the panel `key` shows numbers of the current pass. */
async function panelReady(page, key) {
  await page.waitForFunction((k) => document.querySelector(`[data-testid="family-${k}"]`)?.dataset.state === 'ready'
    && document.body.dataset.busy === 'false', key, { timeout: SLOW, polling: 250 });
}

/** Open panel `key` from the keyboard: focus its summary and press Enter. */
async function openPanel(page, key) {
  await page.focus(`details[data-panel="${key}"] > summary`);
  await page.keyboard.press('Enter');
  await panelReady(page, key);
}

async function checkHeads(page, model) {
  const want = reference(model).heads.heads;
  const heads = await page.$$eval('[data-testid="head"]', (hs) => hs.map((h) => ({
    node: h.dataset.node,
    top5: [...h.querySelectorAll('li')].map((li) => ({ name: li.querySelector('.label').textContent, p: Number(li.dataset.probability) })),
  })));
  assert(heads.length === 3 && heads.map((h) => h.node).join() === want.map((h) => h.node).join(), `heads: ${heads.map((h) => h.node)}`);
  heads.forEach((h, i) => h.top5.forEach((p, r) => {
    const w = want[i].top5[r];
    assert(p.name === w.name && close(p.p, w.probability), `${h.node} rank ${r + 1}: page ${p.name} ${p.p}, reference ${w.name} ${w.probability}`);
  }));
  const text = await page.textContent('[data-testid="family-heads"]');
  assert(/weight 0\.3/.test(text) && /at inference they are dropped/.test(text), `the heads panel lacks the training note: ${text.slice(0, 200)}`);
}

async function checkActivations(page, model) {
  const want = reference(model).activations;
  const rows = await page.$$eval('[data-testid="activation-row"]', (rs) => rs.map((r) => ({ ...r.dataset })));
  assert(rows.length === want.length, `${rows.length} activation rows, the reference has ${want.length}`);
  rows.forEach((r, i) => {
    const w = want[i];
    assert(r.node === w.node, `row ${i}: ${r.node} against ${w.node}`);
    for (const key of ['zero', 'ceiling', 'saturated']) {
      if (w[key] == null) assert(r[key] === '', `${w.node}.${key}: page ${r[key]}, reference none`);
      else assert(close(Number(r[key]), w[key]), `${w.node}.${key}: page ${r[key]}, reference ${w[key]}`);
    }
  });
}

async function checkResidual(page, model) {
  const want = reference(model).residual;
  const rows = await page.$$eval('[data-testid="residual-block"]', (rs) => rs.map((r) => ({ node: r.dataset.node, ratio: Number(r.dataset.ratio) })));
  assert(rows.length === want.length && rows.length > 0, `${rows.length} residual blocks, the reference has ${want.length}`);
  rows.forEach((r, i) => assert(r.node === want[i].add && close(r.ratio, want[i].ratio), `${r.node}: ratio ${r.ratio}, reference ${want[i].ratio}`));
}

async function checkBatchNorm(page, model) {
  const node = await page.inputValue('[data-testid="bn-select"]');
  const want = reference(model).batchnorm.find((b) => b.node === node);
  const rows = await page.$$eval('[data-testid="bn-channel"]', (rs) => rs.map((r) => ({ ...r.dataset })));
  assert(rows.length > 0 && want, `BatchNorm ${node}: ${rows.length} rows`);
  for (const r of rows) {
    const c = Number(r.channel);
    for (const [key, values] of [['beforeMean', want.before_mean], ['beforeStd', want.before_std], ['afterMean', want.after_mean], ['afterStd', want.after_std]]) {
      assert(close(Number(r[key]), values[c]), `${node} channel ${c} ${key}: page ${r[key]}, reference ${values[c]}`);
    }
  }
  return node;
}

async function checkAlexNet(page, model) {
  const want = reference(model);
  const lrn = want.lrn[0];
  const live = lrn.kept.filter((k) => k != null);
  const average = live.reduce((a, b) => a + b, 0) / live.length;
  const got = Number(await page.getAttribute('[data-testid="lrn-kept"]', 'data-average'));
  assert(close(got, average), `${lrn.node} keeps ${got} on the page, ${average} in the reference`);
  assert(Number(await page.inputValue('[data-testid="lrn-channel"]')) === lrn.channel, 'the LRN channel differs from the reference\'s busiest');
  const windows = JSON.parse(await page.getAttribute('[data-testid="pool-grid"]', 'data-windows'));
  assert(JSON.stringify(windows) === JSON.stringify(want.pools[0].windows), `pool windows ${JSON.stringify(windows)}`);
  assert(/3×3 windows with stride 2/.test(await page.textContent('[data-testid="pool-caption"]')), 'the pooling caption');
}

/** Every control in the accessibility tree has a name (Playwright's aria snapshot). */
async function checkNames(page) {
  const snapshot = await page.locator('body').ariaSnapshot();
  const roles = 'button|combobox|textbox|checkbox|radio|spinbutton|slider|link|listbox';
  const unnamed = snapshot.split('\n').filter((l) => new RegExp(`^\\s*- (${roles})(\\s*\\[[^\\]]*\\])?\\s*(:|$)`).test(l));
  assert(unnamed.length === 0, `controls without a name: ${unnamed.join(' | ')}`);
  const controls = snapshot.split('\n').filter((l) => new RegExp(`^\\s*- (${roles}) "`).test(l)).length;
  assert(controls > 10, `only ${controls} named controls in the snapshot`);
  return controls;
}

async function checkSizes(page, name) {
  for (const [width, height] of [[1280, 800], [480, 900]]) {
    await page.setViewportSize({ width, height });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 0, `${width}x${height}: the page is ${overflow} px wider than the window`);
    await screenshot(page, `${name}-${width}x${height}`);
  }
  await page.setViewportSize({ width: 1280, height: 1100 });
}

// --- Without WebGPU: the fast CPU engine. ---
{
  const browser = await launch({ webgpu: false });
  const context = await browser.newContext();
  let page = null;
  await test('no WebGPU: GoogLeNet\'s three heads and the dead units equal the reference; the guide shows on a first visit', () => page, async () => {
    page = await openPage(context, `${BASE}#model=googlenet&input=sample:coffee&panels=heads,activations,curves`);
    await waitForClassification(page, 0);
    assert(await page.isVisible('[data-testid="guide"]'), 'no first-visit guide');
    assert(await page.$$eval('[data-testid="guide"] li', (l) => l.length) >= 3, 'the guide has too few steps');
    await panelReady(page, 'heads');
    await panelReady(page, 'activations');
    await checkHeads(page, 'googlenet');
    await checkActivations(page, 'googlenet');
    const peak = Number(await page.getAttribute('[data-testid="sigmoid-peak"]', 'data-peak'));
    assert(Math.abs(peak - 0.25) < 1e-3, `sigmoid's largest slope is ${peak}`);
    console.log(`     ${await checkNames(page)} named controls`);
    await checkSizes(page, 'families-googlenet');
    await page.click('[data-testid="guide-dismiss"]');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await test('no WebGPU: AlexNet\'s LRN and overlapping pools, restored from the URL; the dismissed guide stays away', () => page, async () => {
    await page?.close();
    page = await openPage(context, `${BASE}#model=alexnet_original&input=sample:coffee&panels=lrn,pooling`);
    await waitForClassification(page, 0);
    assert(!(await page.isVisible('[data-testid="guide"]')), 'the dismissed guide came back');
    assert(await page.$eval('details[data-panel="lrn"]', (d) => d.open), 'the LRN panel was not restored open');
    await panelReady(page, 'lrn');
    await checkAlexNet(page, 'alexnet_original');
    await screenshot(page, 'families-alexnet-cpu');
  });
  await test('no WebGPU: ResNet\'s residual ratios and BatchNorm moments, panels opened from the keyboard and kept in the URL', () => page, async () => {
    await page.selectOption('[data-testid="model-select"]', 'resnet18');
    await waitForClassification(page, 1);
    await openPanel(page, 'residual');
    await openPanel(page, 'batchnorm');
    await checkResidual(page, 'resnet18');
    const bn = await checkBatchNorm(page, 'resnet18');
    const hash = new URLSearchParams(new URL(page.url()).hash.slice(1));
    assert(/residual/.test(hash.get('panels')) && /batchnorm/.test(hash.get('panels')), `the hash does not keep the panels: ${page.url()}`);
    // Picking another BatchNorm node in the architecture table (keyboard) shows that node.
    const other = reference('resnet18').batchnorm[3].node;
    await page.focus(`#architecture tr[data-node="${other}"]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.querySelector('[data-testid="bn-select"]')?.value === n
      && document.body.dataset.busy === 'false', other, { timeout: SLOW });
    assert(other !== bn, 'the same node');
    await checkBatchNorm(page, 'resnet18');
    // The feature-map tiles from the keyboard: focus them, an arrow key enlarges channel 0.
    await page.focus('[data-testid="tiles"]');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('[data-testid="enlarged-map"]', { state: 'visible' });
    assert(/channel 0 /.test(await page.textContent('.enlarged-panel .caption')), 'the arrow key did not enlarge channel 0');
    await checkSizes(page, 'families-resnet18');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

// --- With WebGPU (SwiftShader, forced): the same views from GPU node reads. ---
{
  const browser = await launch({ webgpu: true });
  let page = null;
  await test('WebGPU: AlexNet\'s LRN, pools and dead units equal the reference', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=webgpu&model=alexnet_original&input=sample:coffee&panels=lrn,pooling,activations`);
    await waitForClassification(page, 0);
    assert(await page.evaluate(() => document.body.dataset.backend) === 'webgpu', 'not on WebGPU');
    await panelReady(page, 'lrn');
    await panelReady(page, 'activations');
    await checkAlexNet(page, 'alexnet_original');
    await checkActivations(page, 'alexnet_original');
    await screenshot(page, 'families-alexnet-webgpu');
  });
  await test('WebGPU: ResNet\'s residual ratios and BatchNorm moments equal the reference', () => page, async () => {
    await page.selectOption('[data-testid="model-select"]', 'resnet18');
    await waitForClassification(page, 1);
    await openPanel(page, 'residual');
    await openPanel(page, 'batchnorm');
    await checkResidual(page, 'resnet18');
    await checkBatchNorm(page, 'resnet18');
  });
  await test('WebGPU: GoogLeNet\'s three heads equal the reference', () => page, async () => {
    await page.selectOption('[data-testid="model-select"]', 'googlenet');
    await waitForClassification(page, 2);
    await openPanel(page, 'heads');
    await checkHeads(page, 'googlenet');
    const reads = await page.evaluate(() => document.body.dataset.gpuReads ?? '');
    assert(/aux1\.softmax/.test(reads), `the auxiliary head was not read from the GPU: ${reads}`);
    await screenshot(page, 'families-googlenet-webgpu');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

finish();
