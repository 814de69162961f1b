// Page tests of the explanation views (issue 12), with WebGPU (SwiftShader, forced) and
// without: heat maps, a clicked unit's projection, occlusion and the top-9 gallery on the small
// trained lenet5_modern (the point is correctness, not speed). The numbers each view shows are
// compared with the native tool's (`convscope explain ... --out x.npy`, `convscope top9`) for
// the same photo, model and weights; the pictures must be non-blank; screenshots go to
// artifacts/. Usage: node tests/page/explain.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, recordLongTasks, screenshotOf, test } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const PHOTO = resolve('assets/photos/coffee.png');
const MODEL = 'lenet5_modern';
const NODE = 'conv2';
const work = mkdtempSync(join(tmpdir(), 'convscope-explain-'));

/** A float32 C-order .npy file: `{shape, data}`. */
function readNpy(path) {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString('latin1', 10, 10 + headerLength);
  assert(/'descr': '<f4'/.test(header) && /'fortran_order': False/.test(header), `npy header: ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const body = bytes.subarray(10 + headerLength);
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
  return { shape, data };
}

/** `convscope explain coffee.png --model MODEL ...args`: the map, its min and max. */
function cli(name, args) {
  const out = join(work, `${name}.npy`);
  // The tool on the backend the page runs: the CPU path beside the page without WebGPU, its
  // GPU path (the GPU tests' tolerance, `near`) beside the page on WebGPU.
  const where = onGpu ? [] : ['--cpu'];
  execFileSync(CONVSCOPE, ['explain', PHOTO, '--model', MODEL, ...args, ...where, '--out', out], { encoding: 'utf8' });
  const { shape, data } = readNpy(out);
  let [min, max] = [Infinity, -Infinity];
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { shape, min, max };
}

/** Whether the views under test run on WebGPU (set per backend by `views`). */
let onGpu = false;
const near = (a, b) => Math.abs(a - b) <= (onGpu ? 1e-4 + 1e-3 * Math.abs(b) : 1e-5 + 1e-4 * Math.abs(b));
/** What a view's caption says it ran on. */
const ranOn = () => (onGpu ? 'WebGPU' : 'the CPU reference \\(f64\\)');
function assertRange(element, expected, what) {
  const [min, max] = [Number(element.min), Number(element.max)];
  assert(near(min, expected.min) && near(max, expected.max),
    `${what}: the page shows [${min}, ${max}], the tool computes [${expected.min}, ${expected.max}]`);
}

/** Distinct colours and any transparent pixel of a canvas (2D): a blank picture has one colour. */
function canvasColours(page, selector) {
  return page.$eval(selector, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let transparent = 0;
    for (let i = 0; i < d.length; i += 4) {
      colours.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      if (d[i + 3] !== 255) transparent += 1;
    }
    return { colours: colours.size, transparent, width: c.width, height: c.height };
  });
}

async function assertPicture(page, selector, minColours, what) {
  const c = await canvasColours(page, selector);
  assert(c.transparent === 0 && c.colours >= minColours, `${what}: ${c.colours} colours, ${c.transparent} transparent pixels (${c.width}x${c.height})`);
}

const done = (page, caption, extra = () => true) => page.waitForFunction(
  ([id, test]) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    return c.dataset.done === 'true' && c.dataset.busy === 'false' && !c.dataset.stale && new Function('c', `return ${test}`)(c);
  }, [caption, extra.toString().replace(/^\(\) => /, '')], { timeout: SLOW, polling: 200 },
);

const dataset = (page, id) => page.$eval(`[data-testid="${id}"]`, (e) => ({ ...e.dataset }));

/** Every view on one backend: `backend` is `cpu` (no WebGPU) or `webgpu` (forced). */
async function views(backend) {
  const browser = await launch({ webgpu: backend === 'webgpu' });
  let page = null;
  const tag = backend === 'webgpu' ? 'WebGPU' : 'no WebGPU';
  onGpu = backend === 'webgpu';
  const hash = `#model=${MODEL}&node=${NODE}&input=sample:coffee${backend === 'webgpu' ? '&backend=webgpu' : ''}`;
  await test(`${tag}: heat maps of coffee.png (gradient, guided, Grad-CAM, guided Grad-CAM) show the tool's numbers`, () => page, async () => {
    page = await openPage(browser, BASE + hash);
    assert(await page.evaluate(() => document.body.dataset.backend) === backend, `backend is not ${backend}`);
    await page.waitForFunction(() => Number(document.body.dataset.classifications ?? 0) > 0 && document.body.dataset.busy === 'false',
      null, { timeout: SLOW });
    const expected = {
      gradient: cli('gradient', ['--method', 'gradient']),
      guided: cli('guided', ['--method', 'guided']),
      gradcam: cli('gradcam', ['--method', 'gradcam', '--node', NODE]),
    };
    for (const method of ['gradient', 'guided', 'gradcam', 'guided-gradcam']) {
      await page.selectOption('[data-testid="heatmap-method"]', method);
      await page.selectOption('[data-testid="heatmap-node"]', NODE);
      await page.click('[data-testid="heatmap-run"]');
      await done(page, 'heatmap-caption', `c.dataset.method === '${method}'`);
      const shown = await dataset(page, 'heatmap-caption');
      const text = await page.textContent('[data-testid="heatmap-caption"]');
      assert(new RegExp(`ran on ${ranOn()} in \\d+ ms`).test(text), `${method}: the caption does not say where and how long: ${text}`);
      assert(/colormap hot/.test(text) && /normalised \|v\| \/ max \|v\|/.test(text), `${method}: colormap or normalisation not stated: ${text}`);
      if (expected[method]) assertRange(shown, expected[method], method);
      if (method === 'gradcam') assert(text.includes(`at ${NODE} (${expected.gradcam.shape.join('×')}`), `Grad-CAM's node and shape: ${text}`);
      await assertPicture(page, '[data-testid="heatmap"]', 20, method);
      console.log(`     ${method}: [${shown.min}, ${shown.max}] in ${shown.ms} ms`);
    }
    // Another class than the top-1.
    await page.selectOption('[data-testid="heatmap-method"]', 'gradient');
    await page.fill('[data-testid="heatmap-class"]', '3');
    await page.click('[data-testid="heatmap-run"]');
    await done(page, 'heatmap-caption', "c.dataset.method === 'gradient' && c.dataset.class === '3'");
    assertRange(await dataset(page, 'heatmap-caption'), cli('gradient-3', ['--method', 'gradient', '--class', '3']), 'gradient of class 3');
    await page.fill('[data-testid="heatmap-class"]', '');
    await screenshotOf(page, '[data-testid="explain"]', `explain-heatmap-${backend}`);
  });
  await test(`${tag}: clicking a unit of an enlarged map shows its projection beside the input patch, as the tool computes it`, () => page, async () => {
    const grid = await page.$('[data-testid="feature-grid"]');
    if (grid) {
      await grid.scrollIntoViewIfNeeded();
      const box = await grid.boundingBox();
      await page.mouse.click(box.x + 3, box.y + 3);
    } else {
      await page.click('[data-testid="feature-map"][data-channel="0"]');
    }
    const big = await page.waitForSelector('[data-testid="enlarged-map"]', { state: 'visible' });
    await big.scrollIntoViewIfNeeded();
    const box = await big.boundingBox();
    await page.mouse.click(box.x + box.width * 0.55, box.y + box.height * 0.45);
    await done(page, 'unit-caption');
    const shown = await dataset(page, 'unit-caption');
    assert(shown.node === NODE && shown.channel === '0', `unit: ${JSON.stringify(shown)}`);
    const expected = cli('deconvnet', ['--method', 'deconvnet', '--node', NODE, '--channel', '0', '--at', `${shown.y},${shown.x}`]);
    assertRange(shown, expected, `projection of (${shown.y}, ${shown.x})`);
    const text = await page.textContent('[data-testid="unit-caption"]');
    assert(/receptive field 14×14 px/.test(text) && new RegExp(`ran on ${ranOn()} in \\d+ ms`).test(text), `unit caption: ${text}`);
    await assertPicture(page, '[data-testid="unit-patch"]', 5, 'the input patch');
    await assertPicture(page, '[data-testid="unit-projection"]', 5, 'the projection');
    await screenshotOf(page, '[data-testid="explain"]', `explain-unit-${backend}`);
  });
  await test(`${tag}: occlusion shows ZF's three maps with the tool's probabilities, and a progress bar while it runs`, () => page, async () => {
    await page.evaluate(() => {
      const bar = document.querySelector('[data-testid="occlusion-progress"]');
      window.occlusionBarShown = false;
      new MutationObserver(() => { window.occlusionBarShown ||= !bar.hidden; }).observe(bar, { attributes: true, attributeFilter: ['hidden'] });
    });
    await page.click('[data-testid="occlusion-run"]');
    await done(page, 'occlusion-caption');
    const expected = cli('occlusion', ['--method', 'occlusion']);
    const shown = await dataset(page, 'occlusion-caption');
    assert(`${shown.rows},${shown.cols}` === expected.shape.join(','), `grid ${shown.rows}x${shown.cols}, the tool's ${expected.shape}`);
    assertRange(await dataset(page, 'occlusion-probability'), expected, 'class probability');
    const text = await page.textContent('[data-testid="occlusion-caption"]');
    // Batched on WebGPU where the page runs there, else a position a step on the fast CPU engine.
    const occludedOn = onGpu ? 'WebGPU' : 'the fast CPU engine';
    assert(new RegExp(`ran on ${occludedOn} in \\d+ ms`).test(text) && /colormap hot/.test(text), `occlusion caption: ${text}`);
    await assertPicture(page, '[data-testid="occlusion-probability"]', 3, 'probability map');
    await assertPicture(page, '[data-testid="occlusion-top-class"]', 1, 'most probable class map');
    await assertPicture(page, '[data-testid="occlusion-activation"]', 3, 'activation map');
    assert(await page.$$eval('[data-testid="occlusion-legend"] li', (l) => l.length) >= 1, 'no class legend');
    const activation = await page.textContent('[data-testid="occlusion-figures"]');
    assert(activation.includes(`${NODE} channel`), `the activation map does not watch the feature maps' node: ${activation}`);
    assert(await page.evaluate(() => window.occlusionBarShown), 'no progress bar while occluding');
    assert(await page.isHidden('[data-testid="occlusion-progress"]'), 'the progress bar stayed');
    await screenshotOf(page, '[data-testid="explain"]', `explain-occlusion-${backend}`);
  });
  await test(`${tag}: the top-9 gallery over the Fashion-MNIST samples and the frames seen, ranked as the tool ranks them`, () => page, async () => {
    await page.fill('[data-testid="top9-channel"]', '0');
    await page.click('[data-testid="top9-run"]');
    await done(page, 'top9-caption');
    const shown = await dataset(page, 'top9-caption');
    const entries = await page.$$eval('.top9-entry', (es) => es.map((e) => ({ value: Number(e.dataset.value), image: Number(e.dataset.image) })));
    assert(entries.length === 9 && Number(shown.inputs) >= 100, `${entries.length} entries of ${shown.inputs} inputs`);
    assert(new Set(entries.map((e) => e.image)).size === 9, 'the nine are not distinct inputs');
    for (let i = 1; i < 9; i++) assert(entries[i].value <= entries[i - 1].value, 'not best first');
    // The tool over the same 100 Fashion-MNIST test images (the page's samples); coffee.png,
    // the page's first input, may rank among them.
    const dir = join(work, `top9-${backend}`);
    execFileSync(CONVSCOPE, ['top9', '--model', MODEL, '--node', NODE, '--channels', '0', '--limit', '100', '--out', dir]);
    const tool = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).channels[0].entries.map((e) => e.value);
    const fashion = entries.filter((e) => e.image !== 0).map((e) => e.value);
    fashion.forEach((v, i) => assert(near(v, tool[i]), `rank ${i}: the page ${v}, the tool ${tool[i]}`));
    for (const id of ['top9-patch', 'top9-projection']) await assertPicture(page, `[data-testid="${id}"]`, 2, id);
    const text = await page.textContent('[data-testid="top9-caption"]');
    assert(new RegExp(`ranked on the fast CPU engine, projected on ${ranOn()}, in \\d+ ms`).test(text), `gallery caption: ${text}`);
    await screenshotOf(page, '[data-testid="explain"]', `explain-top9-${backend}`);
    // A new frame joins the inputs and the shown gallery refreshes by itself.
    await page.waitForTimeout(3100);
    await page.setInputFiles('[data-testid="image-input"]', resolve('assets/photos/chelsea.png'));
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="top9-caption"]').dataset.inputs) === n + 1,
      Number(shown.inputs), { timeout: SLOW });
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

/** An ImageNet network's backward pass runs in steps: no block of the page over a third of it (as run.mjs asks of loading). */
async function noFreeze() {
  const browser = await launch({ webgpu: false });
  let page = null;
  await test('no WebGPU: guided backprop of efficientnet_lite0 on coffee.png runs in steps, the page never frozen', () => page, async () => {
    page = await openPage(browser, `${BASE}#model=efficientnet_lite0&input=sample:coffee`);
    await page.waitForFunction(() => Number(document.body.dataset.classifications ?? 0) > 0 && document.body.dataset.busy === 'false',
      null, { timeout: SLOW });
    await page.selectOption('[data-testid="heatmap-method"]', 'guided');
    await recordLongTasks(page);
    const started = Date.now();
    await page.click('[data-testid="heatmap-run"]');
    await done(page, 'heatmap-caption', "c.dataset.method === 'guided'");
    const total = Date.now() - started;
    const blocks = await page.evaluate(() => window.longTasks);
    const longest = Math.max(0, ...blocks);
    console.log(`     ${blocks.length} long tasks, longest ${longest} ms of ${total} ms`);
    assert(longest <= 0.34 * total, `the page was blocked for ${longest} ms of ${total} ms`);
    assert(/class 967 \(espresso\)/.test(await page.textContent('[data-testid="heatmap-caption"]')), 'not the espresso class');
    await assertPicture(page, '[data-testid="heatmap"]', 50, 'efficientnet_lite0 guided backprop');
    await screenshotOf(page, '[data-testid="explain"]', 'explain-efficientnet-guided-cpu');
  });
  await browser.close();
}

await views('cpu');
await views('webgpu');
await noFreeze();
finish();
