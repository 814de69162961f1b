// Page tests of model files (issue 13): a dropped .onnx joins the model list and classifies
// like the tool on the same file (one engine core), a labels .txt names its classes, the
// preprocessing menu changes the recipe, and bad files get a message while the page keeps
// working; without WebGPU (the fast CPU engine) and with it (SwiftShader).
// Usage: node tests/page/onnx.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeBigOnnx } from './bigonnx.mjs';
import { SLOW, assert, classifications, finish, launch, openPage, screenshot, test, top5Scores, waitForClassification } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const FIXTURES = resolve('tests/fixtures/onnx');
const MODEL = 'alexnet_like_op12.onnx';
const COFFEE = resolve('assets/photos/coffee.png');

function file(name, buffer = readFileSync(join(FIXTURES, name))) {
  return { name, mimeType: 'application/octet-stream', buffer };
}

/** Give the page `f` as the photo input would (the same path as a drop). */
async function give(page, f) {
  await page.setInputFiles('[data-testid="image-input"]', f);
}

async function statusError(page) {
  await page.waitForSelector('[data-testid="status"] .message.error', { timeout: SLOW });
  return page.textContent('[data-testid="status"] .message');
}

/** Load the model file and classify coffee.png; returns the page's top-5. */
async function loadAndClassify(page, f) {
  await give(page, f);
  await page.waitForFunction((name) => document.querySelector('[data-testid="model-select"]').value === name
    && /is ready/.test(document.querySelector('[data-testid="status"]').textContent), f.name, { timeout: SLOW });
  const before = await classifications(page);
  await give(page, COFFEE);
  await waitForClassification(page, before);
  return top5Scores(page);
}

/** The tool's top-5 for coffee.png on the same file, the fast CPU engine. */
function cliTop5(extra = []) {
  const args = ['classify', COFFEE, '--model', join(FIXTURES, MODEL), '--cpu', '--json', ...extra];
  return JSON.parse(execFileSync(CONVSCOPE, args, { encoding: 'utf8' })).result.top5;
}

function assertSameTop5(ours, theirs, what, tolerance = 1e-3) {
  assert(ours.length === 5 && theirs.length === 5, `${what}: top-5 lengths ${ours.length}, ${theirs.length}`);
  for (let i = 0; i < 5; i += 1) {
    assert(ours[i].name === theirs[i].name, `${what}: rank ${i + 1}: page ${ours[i].name}, tool ${theirs[i].name}`);
    assert(Math.abs(ours[i].logit - theirs[i].logit) <= tolerance * (1 + Math.abs(theirs[i].logit)),
      `${what}: ${ours[i].name}: page logit ${ours[i].logit}, tool ${theirs[i].logit}`);
  }
}

{
  const browser = await launch({ webgpu: false });
  let page = null;
  await test('no WebGPU: a dropped .onnx joins the model list and classifies as the tool does', () => page, async () => {
    page = await openPage(browser, BASE);
    const ours = await loadAndClassify(page, file(MODEL));
    const options = await page.$$eval('[data-testid="model-select"] option', (o) => o.map((x) => x.value));
    assert(options.includes(MODEL) && options.includes('efficientnet_lite0'), `model list: ${options.join(', ')}`);
    const menu = await page.$eval('[data-testid="preprocess-select"]', (s) => [s.value, s.options[0].text]);
    assert(menu[0] === 'torchvision' && /default/.test(menu[1]), `preprocessing menu: ${menu}`);
    const notices = await page.textContent('[data-testid="status"]');
    assert(/torchvision \(the default/.test(notices), `no preprocessing notice: ${notices}`);
    assertSameTop5(ours, cliTop5(), 'torchvision');
    const architecture = await page.textContent('body');
    assert(architecture.includes('features.4') && architecture.includes('classifier.4'), 'the architecture table lacks the imported nodes');
    await screenshot(page, 'onnx-imported');
  });
  await test('a labels file names the classes; the preprocessing menu changes the recipe', () => page, async () => {
    const names = Array.from({ length: 10 }, (_, i) => `thing ${i}`).join('\n');
    let before = await classifications(page);
    // The model loads again with the names and classifies the last photo again.
    await give(page, file('labels.txt', Buffer.from(`${names}\n`)));
    await waitForClassification(page, before);
    const named = await top5Scores(page);
    assert(named.every((p) => /^thing \d$/.test(p.name)), `names: ${named.map((p) => p.name)}`);
    before = await classifications(page);
    await page.selectOption('[data-testid="preprocess-select"]', 'caffe');
    await waitForClassification(page, before);
    const notices = await page.textContent('[data-testid="status"]');
    assert(/preprocessing: caffe/.test(notices), `no caffe notice: ${notices}`);
    const caffe = (await top5Scores(page)).map((p) => ({ ...p, name: p.name.replace('thing ', 'class ') }));
    assertSameTop5(caffe, cliTop5(['--preprocess', 'caffe']), 'caffe');
  });
  await test('bad model files: a clear message, and the page keeps working', () => page, async () => {
    const good = readFileSync(join(FIXTURES, MODEL));
    for (const [f, pattern] of [
      [file('truncated.onnx', good.subarray(0, good.length >> 1)), /truncated|no initializer/],
      [file('garbage.onnx', Buffer.from('this is not a protobuf message at all, just text')), /not a readable ONNX model|the graph/],
      [file('bad_elu.onnx'), /Elu.*`elu`.*opset 12/],
      [file('empty.onnx', Buffer.alloc(0)), /empty/],
    ]) {
      await give(page, f);
      const message = await statusError(page);
      assert(pattern.test(message), `${f.name}: status says "${message}"`);
    }
    const max = await page.evaluate(async () => (await import('./www/pkg/convscope.js')).Session.max_model_bytes());
    assert(max === 2 ** 30, `the page's limit is ${max}`);
    // A file over the limit, made of one shared chunk: refused from its size, never read.
    const refused = await page.evaluate(async (limit) => {
      const chunk = new Uint8Array(1 << 20);
      const parts = Array.from({ length: Math.ceil(limit / chunk.length) + 1 }, () => chunk);
      const input = document.querySelector('[data-testid="image-input"]');
      const transfer = new DataTransfer();
      transfer.items.add(new File(parts, 'huge.onnx'));
      input.files = transfer.files;
      input.dispatchEvent(new Event('change'));
      return true;
    }, max);
    assert(refused, 'could not give the page a large file');
    const message = await statusError(page);
    assert(/huge\.onnx.*over the 1073\.7 MB this page can hold/.test(message), `huge.onnx: status says "${message}"`);
    const before = await classifications(page);
    await give(page, COFFEE);
    await waitForClassification(page, before);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
    await screenshot(page, 'onnx-bad-file');
  });
  await test('a large .onnx (246 MB) loads with WebAssembly memory growing by under 2.2x the file', () => page, async () => {
    // The file is read a chunk at a time into WebAssembly memory (no whole copy in
    // JavaScript), its raw tensors are slices of that one buffer, each decoded to f32 in
    // turn, and the buffer is freed before the CPU engine copies the weights into its plan:
    // the file and one or two copies of its weights are never all held at once. A copy
    // added back anywhere (JS to WebAssembly, protobuf raw data, the plan) takes it past 2.2x.
    const path = join(tmpdir(), `convscope-big-${process.pid}.onnx`);
    const size = writeBigOnnx(path, { side: 32, outputs: 20000 });
    try {
      await page?.close();
      page = await openPage(browser, BASE);
      await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: SLOW });
      const memory = () => page.evaluate(async () => (await import('./www/pkg/convscope.js')).Session.memory_bytes());
      const before = await memory();
      const name = path.split('/').pop();
      await give(page, path);
      await page.waitForFunction((n) => document.querySelector('[data-testid="model-select"]').value === n
        && /is ready/.test(document.querySelector('[data-testid="status"]').textContent), name, { timeout: SLOW });
      const count = await classifications(page);
      await give(page, COFFEE);
      await waitForClassification(page, count);
      const scores = await top5Scores(page);
      assert(scores.length === 5 && scores.every((s) => /^class \d+$/.test(s.name)), `top-5: ${scores.map((s) => s.name)}`);
      const growth = (await memory()) - before;
      console.log(`    ${(size / 1e6).toFixed(1)} MB file: WebAssembly memory grew by ${(growth / 1e6).toFixed(1)} MB (${(growth / size).toFixed(2)}x)`);
      assert(growth < 2.2 * size, `memory grew by ${growth} bytes for a ${size}-byte file (${(growth / size).toFixed(2)}x)`);
      assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
    } finally {
      rmSync(path, { force: true });
    }
  });
  await browser.close();
}

{
  const browser = await launch({ webgpu: true });
  let page = null;
  await test('WebGPU: a dropped .onnx runs on the GPU and agrees with the tool', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=webgpu`);
    const ours = await loadAndClassify(page, file(MODEL));
    assert(await page.evaluate(() => document.body.dataset.backend) === 'webgpu', 'not on WebGPU');
    assertSameTop5(ours, cliTop5(), 'webgpu', 1e-2);
  });
  await browser.close();
}

finish();
