// Page tests of the teaching views (issue 15): the "how is this computed" panel against
// `convscope summary --json` for a node of each family, reached by each way of selecting a
// node, and the diagram of GoogLeNet, ResNet-50 and EfficientNet-Lite0 against the
// summary's graph (nodes and inputs), folding, unfolding and selecting. Chromium without
// WebGPU (the fast CPU engine): nothing here needs a pass. Screenshots land in artifacts/.
// Usage: node tests/page/teach.mjs http://127.0.0.1:PORT/
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { SLOW, assert, finish, launch, openPage, screenshot, screenshotOf, test } from './harness.mjs';

const BASE = process.argv[2] ?? process.env.PAGE_URL ?? 'http://127.0.0.1:8000/';
const CONVSCOPE = process.env.CONVSCOPE ?? resolve('target/release/convscope');

/** `convscope summary MODEL --json`, its nodes by name. */
function summary(model) {
  const json = JSON.parse(execFileSync(CONVSCOPE, ['summary', model, '--json'], { encoding: 'utf8' }));
  return { json, byName: Object.fromEntries(json.nodes.map((n) => [n.name, n])) };
}

/** The panel's value of every key against the tool's numbers for `node`. */
function expectedValues(n) {
  return {
    out_c: n.output_shape[0], out_h: n.output_shape[1], out_w: n.output_shape[2],
    params: n.params, macs: n.macs, flops: n.flops, activation_bytes: n.activation_bytes,
    rf_size_h: n.rf_size_hw[0], rf_size_w: n.rf_size_hw[1], rf_jump_h: n.rf_stride_hw[0], rf_jump_w: n.rf_stride_hw[1],
  };
}

async function loadModel(page, model) {
  if (await page.inputValue('[data-testid="model-select"]') !== model) {
    await page.selectOption('[data-testid="model-select"]', model);
  }
  await page.waitForFunction((m) => document.body.dataset.busy === 'false'
    && document.querySelector(`[data-testid="diagram"] svg[aria-label="diagram of ${m}"]`), model, { timeout: SLOW });
}

/** Wait until `node` is selected everywhere: node picker, table row, derivation panel. */
async function waitSelected(page, node) {
  await page.waitForFunction((n) => document.querySelector('[data-testid="node-select"]').value === n
    && document.querySelector('[data-testid="architecture"] tr.selected')?.dataset.node === n
    && document.querySelector('[data-testid="derivation-node"]').dataset.node === n, node, { timeout: SLOW });
}

async function checkPanel(page, model, node, tool) {
  const rows = await page.$$eval('[data-testid="derivation-table"] tbody tr', (trs) => trs.map((r) => ({
    keys: r.dataset.keys.split(' '), value: Number(r.dataset.value), filled: r.querySelector('.filled').textContent,
  })));
  const want = expectedValues(tool.byName[node]);
  const seen = new Set();
  for (const r of rows) {
    assert(r.filled.endsWith(`= ${r.value.toLocaleString('en-US')}`) || r.filled.endsWith(`= (${r.value.toLocaleString('en-US')})`),
      `${model} ${node}: "${r.filled}" does not end in ${r.value}`);
    for (const k of r.keys) {
      seen.add(k);
      if (k in want) assert(r.value === want[k], `${model} ${node} ${k}: panel ${r.value}, convscope summary ${want[k]}`);
    }
  }
  for (const k of Object.keys(want)) assert(seen.has(k), `${model} ${node}: the panel has no ${k}`);
}

/** A sample node per family, each selected a different way. */
const SAMPLES = [
  { model: 'lenet5', node: 'c3', how: 'row' },
  { model: 'alexnet_original', node: 'pool1', how: 'picker' },
  { model: 'vgg11', node: 'features.3', how: 'box' },
  { model: 'nin', node: 'cccp1', how: 'row' },
  { model: 'googlenet', node: 'inception3a.output', how: 'picker' },
  { model: 'resnet50', node: 'layer1.0.add', how: 'picker' },
  { model: 'efficientnet_lite0', node: '_blocks.1._depthwise_conv', how: 'picker' },
];

async function select(page, node, how) {
  if (how === 'row') await page.click(`[data-testid="architecture"] tr[data-node="${node}"]`);
  else if (how === 'picker') await page.selectOption('[data-testid="node-select"]', node);
  else await page.click(`[data-testid="diagram"] .box[data-box="${node}"]`);
  await waitSelected(page, node);
}

/** The diagram's boxes and edges as drawn. */
function drawn(page) {
  return page.evaluate(() => ({
    boxes: [...document.querySelectorAll('[data-testid="diagram"] .box')].map((b) => b.dataset.box),
    edges: [...document.querySelectorAll('[data-testid="diagram"] polyline.edge')].map((e) => `${e.dataset.from} -> ${e.dataset.to}`),
  }));
}

/** A screenshot of the whole diagram, its scroll box opened up for the picture. */
async function screenshotWhole(page, name) {
  await page.$eval('[data-testid="diagram"]', (s) => { s.style.maxHeight = 'none'; });
  await screenshotOf(page, '[data-testid="diagram"] svg', name);
  await page.$eval('[data-testid="diagram"]', (s) => { s.style.maxHeight = ''; });
}

const browser = await launch({ webgpu: false });
const page = await openPage(browser, BASE);
for (const { model, node, how } of SAMPLES) {
  await test(`${model}: the "how is this computed" panel of ${node} (picked by ${how}) equals convscope summary --json`, () => page, async () => {
    const tool = summary(model);
    await loadModel(page, model);
    if (how === 'box') await page.click('[data-testid="diagram-unfold-all"]');
    await select(page, node, how);
    await checkPanel(page, model, node, tool);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
    if (model === 'efficientnet_lite0') await screenshotOf(page, 'section.derivation-panel', 'derivation-efficientnet-depthwise');
    if (model === 'resnet50') await screenshotOf(page, 'section.derivation-panel', 'derivation-resnet50-add');
  });
}

for (const model of ['googlenet', 'resnet50', 'efficientnet_lite0']) {
  await test(`${model}: the unfolded diagram has exactly the graph's nodes and edges; folds, unfolds and selects`, () => page, async () => {
    const tool = summary(model);
    await loadModel(page, model);
    await page.click('[data-testid="diagram-unfold-all"]');
    await page.waitForFunction(() => !document.querySelector('[data-testid="diagram"] .box.folded'));
    const { boxes, edges } = await drawn(page);
    const names = tool.json.nodes.map((n) => n.name);
    assert(boxes.length === names.length && [...boxes].sort().join('|') === [...names].sort().join('|'),
      `${boxes.length} boxes for ${names.length} nodes`);
    const want = tool.json.nodes.flatMap((n) => n.inputs.map((i) => `${i} -> ${n.name}`));
    assert(edges.length === want.length && [...edges].sort().join('|') === [...want].sort().join('|'),
      `${edges.length} edges drawn, the graph has ${want.length}: ${want.filter((e) => !edges.includes(e)).slice(0, 3).join(', ')}`);
    await page.click('[data-testid="diagram-fit"]');
    await screenshotWhole(page, `diagram-${model}-unfolded`);
    // Fold everything: fewer boxes; a selected node's module box is marked.
    await page.click('[data-testid="diagram-fold-all"]');
    await page.waitForSelector('[data-testid="diagram"] .box.folded');
    const folded = await drawn(page);
    assert(folded.boxes.length < boxes.length / 3, `${folded.boxes.length} boxes folded`);
    const module = await page.$eval('[data-testid="diagram"] .box.folded', (b) => b.dataset.box);
    // Unfold that module by its toggle: its box goes, boxes of its nodes appear.
    await page.click(`[data-testid="diagram"] [data-toggle="${module}"]`);
    await page.waitForFunction((m) => !document.querySelector(`[data-testid="diagram"] .box[data-box="${m}"]`), module);
    const inside = (await drawn(page)).boxes.filter((b) => b.startsWith(`${module}.`));
    assert(inside.length >= 2, `unfolding ${module} shows ${inside.length} boxes inside it`);
    // Pick a box with the keyboard: the node is selected everywhere.
    const pick = await page.$eval(`[data-testid="diagram"] .box[data-box^="${module}."]`, (b) => b.dataset.select);
    await page.focus(`[data-testid="diagram"] .box[data-box^="${module}."]`);
    await page.keyboard.press('Enter');
    await waitSelected(page, pick);
    await checkPanel(page, model, pick, tool);
    assert(await page.$eval('[data-testid="diagram"] .box.selected', (b) => b.dataset.select) === pick, 'the picked box is not marked');
    // Selecting from the table marks the folded module holding the node.
    await page.click('[data-testid="diagram-fold-all"]');
    const last = tool.json.nodes.at(-2).name;
    await page.click(`[data-testid="architecture"] tr[data-node="${last}"]`);
    await waitSelected(page, last);
    const marked = await page.$eval('[data-testid="diagram"] .box.selected', (b) => b.dataset.box);
    assert(last === marked || last.startsWith(`${marked}.`), `${last} selected, ${marked} marked`);
    await screenshotOf(page, 'section.diagram-panel', `diagram-${model}-folded`);
    assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
  });
}

await test('resnet152 starts folded into its stages; every control of the new panels has a name', () => page, async () => {
  await loadModel(page, 'resnet152');
  const { boxes } = await drawn(page);
  assert(boxes.join(' ') === 'input conv1 bn1 relu maxpool layer1 layer2 layer3 layer4 avgpool flatten fc', `boxes: ${boxes.join(' ')}`);
  // The shading switch: MACs and parameters shade the boxes differently.
  const fill = (box) => page.$eval(`[data-testid="diagram"] .box[data-box="${box}"] rect`, (r) => r.getAttribute('fill'));
  const byMacs = [await fill('conv1'), await fill('fc')];
  await page.check('[data-testid="diagram-shade-params"]');
  await page.waitForFunction(() => /Shade: parameters/.test(document.querySelector('[data-testid="diagram-caption"]').textContent));
  const byParams = [await fill('conv1'), await fill('fc')];
  assert(byMacs.join() !== byParams.join(), `the same fills by MACs and by parameters: ${byMacs}`);
  await page.check('[data-testid="diagram-shade-macs"]');
  await page.click('[data-testid="diagram"] [data-toggle="layer3"]');
  await page.waitForSelector('[data-testid="diagram"] .box[data-box="layer3.35"]');
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('section.diagram-panel, section.derivation-panel')]
    .flatMap((s) => [...s.querySelectorAll('button, input, [role="button"]')])
    .filter((c) => !(c.getAttribute('aria-label') || c.textContent.trim() || c.closest('label')?.textContent.trim()))
    .map((c) => c.outerHTML.slice(0, 80)));
  assert(unnamed.length === 0, `controls without a name: ${unnamed.join(', ')}`);
  const snapshot = await page.locator('section.diagram-panel').ariaSnapshot();
  assert(/button "unfold layer2"/.test(snapshot) && /button "fold layer3"/.test(snapshot), `aria snapshot: ${snapshot.slice(0, 400)}`);
  await screenshotOf(page, 'section.diagram-panel', 'diagram-resnet152');
  await page.click('[data-testid="architecture"] tr[data-node="layer3.4.conv2"]');
  await waitSelected(page, 'layer3.4.conv2');
  await screenshot(page, 'teach-1280');
  // A narrow window: the panels stack and the diagram scrolls inside its own box.
  await page.setViewportSize({ width: 480, height: 900 });
  const [panel, scroller] = await page.$$eval('section.diagram-panel, [data-testid="diagram"]', (s) => s.map((e) => e.getBoundingClientRect().right));
  assert(panel <= 480 && scroller <= 480, `the diagram panel reaches x = ${panel}, ${scroller} in a 480 px window`);
  await screenshotOf(page, 'section.derivation-panel', 'derivation-480');
  await screenshotOf(page, 'section.diagram-panel', 'diagram-480');
  await page.setViewportSize({ width: 1280, height: 1100 });
  assert(page.errors.length === 0, `errors: ${page.errors.join('; ')}`);
});

await browser.close();
finish();
