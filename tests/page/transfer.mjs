// "Teach it your own classes" (issue 16, transfer learning) end to end in Chromium: a head is
// taught two classes, one from the fake camera showing the coffee photo and one from the cat
// photo added as a file; the live camera names each right (a second browser's camera shows
// the cat, with the head saved by the first loaded back), and a reloaded head gives the same
// guesses. On the CPU engine (no WebGPU) and on WebGPU (SwiftShader, few frames: it is slow).
// Also the messages for no examples, an unnamed class, one class only, a wrong head file
// and a denied camera.
// Usage: node tests/page/transfer.mjs http://127.0.0.1:PORT/
import { resolve } from 'node:path';
import { ARTIFACTS, SLOW, assert, finish, launch, openPage, screenshot, screenshotOf, test, writeY4m } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const PHOTOS = resolve('assets/photos');
const coffeeVideo = resolve(ARTIFACTS, 'transfer-coffee.y4m');
const catVideo = resolve(ARTIFACTS, 'transfer-cat.y4m');
const headFile = resolve(ARTIFACTS, 'transfer-head.safetensors');
const camera = (y4m) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`];
const T = (name) => `[data-testid="transfer-${name}"]`;
const CLASSES = ['coffee', 'cat'];

/** The panel's message once it says something matching `pattern`. */
async function message(page, pattern) {
  await page.waitForFunction(([sel, p]) => new RegExp(p).test(document.querySelector(sel)?.textContent ?? ''),
    [T('message'), pattern.source], { timeout: SLOW, polling: 250 });
  return page.textContent(T('message'));
}

/** The next guess the live camera shows after the ones seen so far: `{best, probabilities}`. */
async function nextGuess(page) {
  const seen = await page.evaluate(() => Number(document.body.dataset.transferGuesses ?? 0));
  await page.waitForFunction((n) => Number(document.body.dataset.transferGuesses ?? 0) > n, seen, { timeout: SLOW, polling: 250 });
  return page.evaluate((sel) => ({
    best: document.querySelector(`${sel} [data-testid="transfer-best"]`).textContent,
    probabilities: [...document.querySelectorAll(`${sel} li`)].map((li) => li.dataset.probability),
  }), T('prediction'));
}

async function startCamera(page) {
  await page.click(T('camera'));
  await page.waitForFunction(() => document.querySelector('.transfer video')?.readyState >= 2, null, { timeout: SLOW });
}

/** Name the classes, capture `frames` camera frames into the first, the cat photo into the second, train. */
async function teach(page, frames) {
  await page.fill(T('name-0'), CLASSES[0]);
  await page.fill(T('name-1'), CLASSES[1]);
  await startCamera(page);
  for (let i = 0; i < frames; i += 1) {
    await page.click(T('capture-0'));
    await message(page, new RegExp(`added to "${CLASSES[0]}"`));
    await page.evaluate((sel) => { document.querySelector(sel).textContent = ''; }, T('message'));
  }
  await page.setInputFiles(T('photos-1'), resolve(PHOTOS, 'chelsea.png'));
  await message(page, new RegExp(`added to "${CLASSES[1]}"`));
  await page.click(T('train'));
  await message(page, /^Trained/);
  return page.textContent(T('result'));
}

async function saveHead(page) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: SLOW }), page.click(T('save'))]);
  await download.saveAs(headFile);
}

async function loadHead(page) {
  await page.setInputFiles(T('load'), headFile);
  return message(page, /Loaded the head/);
}

{
  const browser = await launch({ webgpu: false });
  const page = await openPage(browser, BASE);
  await writeY4m(page, new URL('photos/coffee.png', BASE).href, coffeeVideo);
  await writeY4m(page, new URL('photos/chelsea.png', BASE).href, catVideo);
  await page.close();
  let denied = null;
  await test('transfer: a denied camera, a class with no examples or no name, one class only and a wrong head file get messages', () => denied, async () => {
    const deny = () => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
    };
    denied = await openPage(browser, `${BASE}#backend=cpu`, { init: deny });
    await denied.click(T('camera'));
    assert(/camera permission was denied/.test(await message(denied, /denied/)), 'no message for a denied camera');
    await denied.click(T('train'));
    assert(/has no examples/.test(await message(denied, /examples/)), 'no message for classes without examples');
    await denied.fill(T('name-1'), '');
    await denied.click(T('train'));
    await message(denied, /class 2 has no name/);
    await denied.click(T('remove-class'));
    await denied.click(T('train'));
    await message(denied, /at least two classes/);
    await denied.click(T('add-class'));
    await denied.setInputFiles(T('load'), resolve('assets/weights/lenet5.safetensors'));
    assert(/not a transfer head/.test(await message(denied, /transfer head/)), 'no message for model weights given as a head');
    await denied.setInputFiles(T('load'), resolve(PHOTOS, 'chelsea.png'));
    await message(denied, /not safetensors/);
    assert(denied.errors.length === 0, `errors: ${denied.errors.join('; ')}`);
    await denied.close();
  });
  await browser.close();
}

let taughtGuess = null;
{
  const browser = await launch({ webgpu: false, extra: camera(coffeeVideo) });
  let page = null;
  await test('transfer on the CPU engine: coffee from the camera, the cat from a photo; the camera is named coffee', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=cpu`);
    const result = await teach(page, 2);
    assert(/on cpu features/.test(result), `the result does not say where the features ran: ${result}`);
    taughtGuess = await nextGuess(page);
    assert(taughtGuess.best === CLASSES[0], `the coffee camera is named ${taughtGuess.best}`);
    await screenshotOf(page, T('panel'), 'transfer-cpu');
    await saveHead(page);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
    await page.close();
  });
  await test('transfer on the CPU engine: the saved head, loaded in a new page, gives the same guess', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=cpu`);
    await loadHead(page);
    await startCamera(page);
    const again = await nextGuess(page);
    assert(JSON.stringify(again) === JSON.stringify(taughtGuess), `before saving ${JSON.stringify(taughtGuess)}, after loading ${JSON.stringify(again)}`);
    await page.close();
  });
  await browser.close();
}
{
  const browser = await launch({ webgpu: false, extra: camera(catVideo) });
  let page = null;
  await test('transfer on the CPU engine: the camera showing the cat is named cat by the loaded head', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=cpu`);
    await loadHead(page);
    await startCamera(page);
    const guess = await nextGuess(page);
    assert(guess.best === CLASSES[1], `the cat camera is named ${guess.best} (${guess.probabilities.join(', ')})`);
    await screenshot(page, 'transfer-cat');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}
{
  const browser = await launch({ webgpu: true, extra: camera(coffeeVideo) });
  let page = null;
  await test('transfer on WebGPU: taught, named coffee, saved and loaded back with the same guess', () => page, async () => {
    page = await openPage(browser, `${BASE}#backend=webgpu`);
    assert(await page.evaluate(() => document.body.dataset.backend) === 'webgpu', 'the page is not on WebGPU');
    const result = await teach(page, 1);
    assert(/on webgpu features/.test(result), `the result does not say WebGPU: ${result}`);
    const guess = await nextGuess(page);
    assert(guess.best === CLASSES[0], `the coffee camera is named ${guess.best}`);
    await saveHead(page);
    await loadHead(page);
    const again = await nextGuess(page);
    const close = again.probabilities.every((p, i) => Math.abs(p - guess.probabilities[i]) <= 1e-4);
    assert(again.best === guess.best && close, `before saving ${JSON.stringify(guess)}, after loading ${JSON.stringify(again)}`);
    await screenshotOf(page, T('panel'), 'transfer-webgpu');
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
  await browser.close();
}
finish();
