// Page tests of PyTorch checkpoints (issue 13): a torch.save'd .pth dropped on a zoo model
// loads like a .safetensors file and classifies as the native tool does with it; a truncated
// one gives a message and the page keeps working; a file over the page's limit is refused
// before it is read. Usage: node tests/page/pth.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SLOW, assert, classifications, finish, launch, openPage, screenshot, test, top5, waitForClassification } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');
const PHOTO = resolve('assets/photos/coffee.png');
/** lab_k5's state dict saved by torch 1.13 (scripts/fixtures/make_pth.py small). */
const PTH = resolve('tests/fixtures/pth/lab_k5.pth');
/** torchvision's AlexNet saved by torch.save with seeded weights, 244 MB (make_pth.py large). */
const LARGE_PTH = join(resolve(process.env.CONVSCOPE_PTH_DIR ?? '.cache/pth'), 'alexnet.pth');

const weightsNotice = (page) => page.textContent('[data-testid="status"] [data-key="weights"]');
const idle = (page) => page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: SLOW });

{
  const browser = await launch({ webgpu: false });
  let page = null;
  const native = JSON.parse(execFileSync(CONVSCOPE, ['classify', PHOTO, '--model', 'lab_k5', '--weights', PTH, '--cpu', '--json'], { encoding: 'utf8' }));
  await test('a dropped .pth loads into its zoo model and classifies as the tool does', () => page, async () => {
    page = await openPage(browser, `${BASE}#model=lab_k5`);
    await idle(page);
    // the image input is where a drop lands: a .pth there goes to the model, not the image path
    await page.setInputFiles('[data-testid="image-input"]', PTH);
    await page.waitForFunction(() => /PyTorch checkpoint/.test(document.querySelector('[data-testid="status"] [data-key="weights"]')?.textContent), null, { timeout: SLOW });
    const notice = await weightsNotice(page);
    assert(/lab_k5: trained weights \(a PyTorch checkpoint, zip format\) from your file lab_k5\.pth/.test(notice), `notice: ${notice}`);
    const before = await classifications(page);
    await page.setInputFiles('[data-testid="image-input"]', PHOTO);
    await waitForClassification(page, before);
    const names = await top5(page);
    const expected = native.result.top5.map((p) => p.name);
    assert(names[0] === expected[0], `page top-5 ${names.join(', ')}; tool ${expected.join(', ')}`);
    await screenshot(page, 'pth-loaded');
  });
  await test('a truncated .pth is refused with a message and the page keeps working', () => page, async () => {
    const bytes = readFileSync(PTH);
    await page.setInputFiles('[data-testid="weights-input"]', { name: 'cut.pth', mimeType: 'application/octet-stream', buffer: bytes.subarray(0, bytes.length >> 1) });
    await page.waitForSelector('[data-testid="status"] .message.error', { timeout: SLOW });
    const message = await page.textContent('[data-testid="status"] .message');
    assert(/PyTorch checkpoint: the file starts like a zip archive but cannot be read as one .*is it complete\?/.test(message), `status says "${message}"`);
    assert(await page.inputValue('[data-testid="model-select"]') === 'lab_k5', 'the model changed');
    assert(/PyTorch checkpoint/.test(await weightsNotice(page)), 'the loaded weights were dropped');
    await idle(page);
    const before = await classifications(page);
    await page.setInputFiles('[data-testid="image-input"]', join(resolve('assets/photos'), 'chelsea.png'));
    await waitForClassification(page, before);
    assert((await top5(page)).length === 5, 'no classification after the refused file');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await test('a file over the page limit is refused before it is read', () => page, async () => {
    const message = await page.evaluate(async () => {
      const { readFileInChunks } = await import('./www/filereader.js');
      const { LIMITS } = await import('./www/config.js');
      // a Blob that only claims a size: reading it would fail the test
      const huge = { name: 'vgg-huge.pth', size: LIMITS.maxWeightsBytes + 1, slice: () => { throw new Error('read'); } };
      try {
        await readFileInChunks(huge, { maxBytes: LIMITS.maxWeightsBytes });
        return 'no error';
      } catch (e) {
        return `${e.constructor.name}: ${e.message}`;
      }
    });
    assert(/^InputError: vgg-huge\.pth is 1073\.7 MB, over the 1073\.7 MB this page can hold/.test(message), `message: ${message}`);
    const progress = await page.evaluate(async () => {
      const { readFileInChunks } = await import('./www/filereader.js');
      const seen = [];
      const bytes = await readFileInChunks(new File([new Uint8Array(20 << 20).fill(7)], 'x.pth'), { onProgress: (f) => seen.push(f) });
      const length = bytes.filled();
      bytes.free();
      return { length, seen };
    });
    assert(progress.length === 20 << 20, `read ${progress.length} bytes`);
    assert(progress.seen.length === 3 && progress.seen[2] === 1, `progress ${progress.seen.join(', ')}`);
  });
  await test('a large .pth (AlexNet, 244 MB) loads with WebAssembly memory growing by under 2.2x the file', () => page, async () => {
    assert(existsSync(LARGE_PTH), `${LARGE_PTH} is missing: /usr/bin/python3 scripts/fixtures/make_pth.py large .cache/pth`);
    // The file is read a chunk at a time into WebAssembly memory and freed once its tensors
    // are decoded, before the model is planned; the previous model (AlexNet with random
    // weights) stays loaded until the new one is ready, so that a bad file leaves it working.
    await page.close();
    page = await openPage(browser, `${BASE}#model=alexnet`);
    await idle(page);
    const memory = () => page.evaluate(async () => (await import('./www/pkg/convscope.js')).Session.memory_bytes());
    const before = await memory();
    await page.setInputFiles('[data-testid="weights-input"]', LARGE_PTH);
    await page.waitForFunction(() => /alexnet\.pth/.test(document.querySelector('[data-testid="status"] [data-key="weights"]')?.textContent), null, { timeout: SLOW });
    await idle(page);
    const count = await classifications(page);
    await page.setInputFiles('[data-testid="image-input"]', PHOTO);
    await waitForClassification(page, count);
    assert((await top5(page)).length === 5, 'no classification with the large checkpoint');
    const size = statSync(LARGE_PTH).size;
    const growth = (await memory()) - before;
    console.log(`    ${(size / 1e6).toFixed(1)} MB file: WebAssembly memory grew by ${(growth / 1e6).toFixed(1)} MB (${(growth / size).toFixed(2)}x)`);
    assert(growth < 2.2 * size, `memory grew by ${growth} bytes for a ${size}-byte file (${(growth / size).toFixed(2)}x)`);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}

finish();
