// The page's controller: loads the engine, makes the Session, wires the views together, runs
// one engine call at a time, and keeps the model, node and input choice in the URL's hash.
import init, { Session } from './pkg/convscope.js';
import { DEFAULT_MODEL, DEVICE_CHECK_MS, GPU_DRAW_CHECK_MS, LIMITS, PATHS } from './config.js';
import { NodeViews } from './nodeviews.js';
import { ExplainViews } from './explain.js';
import { FeatureMapView } from './featuremaps.js';
import { LabView } from './lab.js';
import { showFashionSamples } from './fashion.js';
import { FamilyViews } from './families.js';
import { showGuide } from './guide.js';
import { InputView } from './inputview.js';
import { Camera, DrawPad, InputError, decodeFile, loadSample, wireImageInputs } from './inputs.js';
import { ModelPicker, availableWeights, fetchWithProgress } from './models.js';
import { readFileInChunks } from './filereader.js';
import { ImportedModels } from './imported.js';
import { StatusView } from './status.js';
import { megabytes } from './dom.js';
import { Meter } from './meter.js';
import { Top5View } from './top5.js';
import { TransferView } from './transfer.js';
import * as hash from './hash.js';

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const status = new StatusView(byTestId('status'));
const top5 = new Top5View(byTestId('top5'), document.getElementById('top5-caption'));
const inputView = new InputView(document.getElementById('input-view'));
const architecture = new NodeViews(document.getElementById('architecture'), (node) => pickNode(node), () => state.session);
const maps = new FeatureMapView(document.getElementById('feature-maps'), {
  select: byTestId('node-select'),
  onPickNode: (node) => pickNode(node),
  onHover: (node, y, x) => outlineField(node, y, x),
  onLeave: () => inputView.hideOutline(),
});

const families = new FamilyViews(document.getElementById('explore'), { session: () => state.session, serial, report: (e) => report(e), ran: () => state.ran, onChange: () => saveHash() });
const state = { gpuDraw: true, session: null, picker: null, model: null, node: null, input: null, frame: null, summary: null, ran: false, labels: null };
const meter = new Meter(document.body);
let recoveries = 0;

// One engine call at a time: each task starts when the previous one has settled.
let chain = Promise.resolve();
let pending = 0;
function serial(task) {
  pending += 1;
  document.body.dataset.busy = 'true';
  const run = chain.then(task).finally(() => {
    pending -= 1;
    if (!pending) document.body.dataset.busy = 'false';
  });
  chain = run.catch(() => {});
  return run;
}

function report(error) {
  const message = error instanceof Error ? error.message : String(error);
  status.error(error instanceof InputError ? message : `Error: ${message}`);
  checkDevice();
}

function saveHash() {
  const input = state.input?.startsWith('sample:') ? state.input : null;
  hash.write({ ...hash.read(), model: state.model, node: state.node, input, panels: families.panels() });
}

/** After a lost GPU device: a new session on a new device, the model loaded again. */
async function recoverTask() {
  status.notice('device', 'The GPU device was lost; starting a new one…', 'warn');
  const lost = state.session;
  state.session = await Session.create(hash.read().backend);
  try {
    lost.free();
  } catch {
    // A call still holds it; the garbage collector frees it later.
  }
  applyLabels();
  showBackend();
  if (state.model) await loadModelTask(state.model, { node: state.node, weightsFile: state.picker.files.get(state.model) });
  recoveries += 1;
  document.body.dataset.recoveries = String(recoveries);
  status.notice('device', `The GPU device was lost (${recoveries === 1 ? 'once' : `${recoveries} times`}); the page started a new one`
    + `${state.model ? ` and loaded ${state.model} again` : ''}. If this keeps happening, add backend=cpu to the URL's hash.`, 'warn');
}

/** Inside a task: a new session first if the device is gone. */
async function ensureDevice() {
  if (state.session?.device_lost()) await recoverTask();
}

/** Between tasks: notice a lost device on our own, recover, and redo the last image. */
function checkDevice() {
  if (pending || !state.session?.device_lost()) return;
  serial(async () => {
    if (!state.session.device_lost()) return;
    await recoverTask();
    if (state.frame) await classifyTask(state.frame);
  }).catch(report);
}

function applyLabels() {
  if (state.labels) state.session.set_imagenet_labels(state.labels);
}

/** The engine in use, why, and a one-click switch between WebGPU and the CPU engine. */
function showBackend() {
  const s = state.session;
  const backend = s.backend();
  document.body.dataset.backend = backend;
  const next = backend === 'webgpu' ? { backend: 'cpu', label: 'Use the CPU engine' }
    : navigator.gpu ? { backend: 'webgpu', label: 'Use WebGPU' } : null;
  const action = next && {
    label: next.label,
    run: () => {
      hash.write({ ...hash.read(), backend: next.backend });
      location.reload();
    },
  };
  status.notice('backend', s.backend_reason(), backend === 'webgpu' ? 'info' : 'warn', action);
}

async function chooseFaster() {
  if (state.session.backend() !== 'webgpu') return;
  status.busy(`timing one pass of ${state.model} on WebGPU and on the CPU engine…`);
  await state.session.choose_faster();
  showBackend();
  status.info(`${state.model} is ready (${state.session.backend()}). Pick a sample, upload or drop a photo, or start the camera.`);
}

function defaultNode(summary) {
  return (summary.nodes.find((n) => n.kind === 'conv') ?? summary.nodes[0]).name;
}

async function loadModel(name, options = {}) {
  await serial(() => loadModelTask(name, options));
  if (state.frame) await classify(state.frame);
}

async function loadModelTask(name, { weightsFile = null, node = null } = {}) {
  await ensureDevice();
  {
    const info = state.picker.info(name);
    let bytes = null;
    let source = '';
    if (weightsFile) {
      if (weightsFile.size === 0) throw new InputError(`"${weightsFile.name}" is empty (0 bytes): choose a .safetensors or .pth file saved for ${name}`);
      status.busy(`reading ${weightsFile.name}…`);
      bytes = await readFileInChunks(weightsFile, { onProgress: (f) => status.setProgress(f), maxBytes: LIMITS.maxWeightsBytes });
      status.setProgress(null);
      source = `your file ${weightsFile.name}`;
    } else if (info.has_trained_weights) {
      status.busy(`downloading the trained weights of ${name}…`);
      const url = `${PATHS.weights}${name}.safetensors`;
      bytes = await fetchWithProgress(url, (f) => status.setProgress(f));
      status.setProgress(null);
      source = url;
    } else {
      status.busy(`making random weights for ${name} (no trained weights here)…`);
    }
    status.busy(`loading ${name} on ${state.session.backend()}…`);
    let report;
    const size = bytes?.size() ?? 0; // the session takes `bytes` (WebAssembly memory) for itself
    try {
      report = await (info.load ?? state.session.load_model.bind(state.session))(name, bytes, (stage, fraction) => {
        status.busy(`${name}: ${stage}…`);
        status.setProgress(fraction);
      });
    } catch (e) {
      state.picker.set(state.model ?? name);
      throw e;
    } finally {
      status.setProgress(null);
    }
    state.model = name;
    state.picker.set(name);
    status.notice('weights', report.trained ? `${name}: ${report.weights} from ${source} (${megabytes(size)}), checked tensor by tensor.`
      : `${name} runs with ${report.weights}. Its predictions mean nothing; drop a matching .safetensors or .pth file to use trained weights.`,
    report.trained ? 'info' : 'warn');
    status.notice('gpu', report.gpu_problem, 'warn');
    state.summary = state.session.summary();
    architecture.show(state.summary);
    maps.setNodes(state.summary.nodes);
    families.setModel();
    const known = (n) => n && state.summary.nodes.some((x) => x.name === n);
    state.node = known(node) ? node : defaultNode(state.summary);
    maps.select.value = state.node;
    architecture.highlight(state.node);
    drawArea.hidden = info.input[0] !== 1;
    showFashion(info.input[0] === 1);
    state.ran = false;
    top5.clear();
    inputView.hideOutline();
    maps.clear('Classify an image to see this node\'s feature maps.');
    saveHash();
    status.info(`${name} is ready (${report.backend}). Pick a sample, upload or drop a photo, or start the camera.`);
  }
}

async function showNode(node) {
  state.node = node;
  architecture.highlight(node);
  saveHash();
  if (!state.ran) return;
  const n = state.summary.nodes.find((x) => x.name === node);
  // The engine draws the maps: after a WebGPU pass from the node's GPU buffer (only the
  // channels' ranges come back), after a CPU pass painted in Rust; flat nodes come back as values.
  const session = state.session;
  const ranges = state.gpuDraw ? await session.node_ranges(node) : null;
  const draw = (canvas, ...args) => session.draw_node(node, canvas, ...args);
  if (ranges && maps.showGpu(node, n.shape, ranges, draw)) {
    await checkFirstGpuDraw(session);
  } else {
    const values = await session.node_output(node);
    maps.show(node, n.shape, values);
  }
  await families.refresh(node);
  document.body.dataset.gpuReads = session.gpu_reads().join('|');
}

/**
 * Some browsers without GPU compositing (headless Chromium by default) lose the device when
 * a WebGPU canvas is configured. After a session's first canvas draw, wait a moment: if the
 * device went, feature maps are read back from then on, and the usual recovery follows.
 */
const checkedSessions = new WeakSet();
async function checkFirstGpuDraw(session) {
  if (checkedSessions.has(session) || session.backend() !== 'webgpu') return;
  checkedSessions.add(session);
  await new Promise((resolve) => setTimeout(resolve, GPU_DRAW_CHECK_MS));
  if (!session.device_lost()) return;
  state.gpuDraw = false;
  status.notice('draw', 'Drawing feature maps into a WebGPU canvas lost the GPU device in this browser; they are read back and painted by the page from now on.', 'warn');
}

function pickNode(node) {
  maps.select.value = node;
  return serial(() => showNode(node)).catch(report);
}

function outlineField(node, y, x) {
  const n = state.summary?.nodes.find((x) => x.name === node);
  if (!n) return;
  inputView.outline(state.session.receptive_field_box(node, y, x), n.rf_size);
}

function classify(frame) {
  return serial(() => classifyTask(frame));
}

let architectureShownAt = 0;

/** Classify `frame`; if the GPU device is lost meanwhile, recover and try once more. */
async function classifyTask(frame, retry = true) {
  await ensureDevice();
  {
    status.busy(`classifying ${frame.source} with ${state.model} (${state.session.backend()})…`);
    const started = performance.now();
    let result;
    try {
      result = await state.session.classify_rgba(frame.width, frame.height, frame.data);
    } catch (e) {
      if (!retry || !state.session.device_lost()) throw e;
      await recoverTask();
      return classifyTask(frame, false);
    }
    const ms = performance.now() - started;
    const fps = meter.frameRate(frame.source, performance.now());
    const predictions = result.top5;
    if (result.gpu_problem) status.notice('gpu', result.gpu_problem, 'warn');
    state.frame = frame;
    state.input = frame.source;
    state.ran = true;
    const rate = fps === null ? '' : ` · ${fps.toFixed(1)} frames/s`;
    top5.show(predictions, `${frame.source}${frame.note ? ` (${frame.note})` : ''} · ${state.model} · ${result.backend} · ${ms.toFixed(0)} ms${rate}`);
    const [, h, w] = state.summary.input;
    inputView.show(state.session.input_rgba(), h, w);
    // The architecture table (per-node times) is redrawn at most once a second from the camera.
    if (fps === null || performance.now() - architectureShownAt > 1000) {
      state.summary = state.session.summary();
      architecture.show(state.summary);
      architecture.highlight(state.node);
      architectureShownAt = performance.now();
    }
    await showNode(state.node);
    meter.record(ms, fps);
    status.info(`${frame.source}: ${predictions[0]?.name ?? '?'} (${ms.toFixed(0)} ms on ${result.backend})${frame.note ? `; ${frame.note}` : ''}.`);
  }
}

async function useFile(file) {
  try {
    if (await imports.claim(file)) return;
    if (/\.(safetensors|pth|pt)$/i.test(file.name)) {
      await loadModel(state.model, { weightsFile: file, node: state.node });
      return;
    }
    status.busy(`reading ${file.name}…`);
    await classify(await decodeFile(file));
  } catch (e) {
    report(e);
  }
}

async function useSample(name) {
  try {
    status.busy(`loading sample ${name}…`);
    await classify(await loadSample(name));
  } catch (e) {
    report(e);
  }
}

const drawArea = document.getElementById('draw-area');
const fashionRow = document.getElementById('fashion-samples');

const showFashion = (show) => showFashionSamples(fashionRow, show, {
  classes: () => state.session.lab_catalog().fashion_classes,
  onPick: (frame) => classify(frame).catch(report),
  onMissing: (e) => status.notice('fashion', `Fashion-MNIST samples are missing (${e.message}); run ./scripts/setup.sh`, 'warn'),
});

new ExplainViews(document.getElementById('explain'), { session: () => state.session, serial, node: () => state.node, summary: () => state.summary });
const imports = new ImportedModels({ picker: () => state.picker, session: () => state.session, model: () => state.model, status, load: (name, file) => loadModel(name, { weightsFile: file, node: null }).catch(report) });
const lab = new LabView(document.getElementById('lab'), { session: () => state.session, serial, status });
new TransferView(document.getElementById('explore'), { session: () => state.session, serial, model: () => state.model, loadModel: (name) => loadModel(name) });

/** Show the explorer or the lab; the lab is built the first time it opens. */
function showView(view) {
  const isLab = view === 'lab';
  document.getElementById('explore').hidden = isLab;
  document.getElementById('lab').hidden = !isLab;
  for (const b of document.querySelectorAll('nav.views button')) b.setAttribute('aria-pressed', String(b.dataset.view === view));
  hash.write({ ...hash.read(), view: isLab ? 'lab' : null });
  if (isLab) lab.open().catch(report);
}

async function boot() {
  status.busy('loading the engine (WebAssembly)…');
  meter.memory = (await init()).memory;
  const wanted = hash.read();
  showGuide(document.getElementById('explore'));
  families.restore(wanted.panels);
  state.session = await Session.create(wanted.backend);
  showBackend();
  try {
    const labels = await fetch(PATHS.imagenetLabels);
    if (!labels.ok) throw new Error(`${PATHS.imagenetLabels}: ${labels.status}`);
    const text = await labels.text();
    state.session.set_imagenet_labels(text);
    state.labels = text;
  } catch (e) {
    status.notice('labels', `ImageNet class names are missing (${e.message}); classes show as numbers. Run ./scripts/serve.sh, which copies them.`, 'warn');
  }
  const models = state.session.models(await availableWeights());
  state.picker = new ModelPicker(byTestId('model-select'), models, (name, weightsFile) => loadModel(name, { node: null, weightsFile }).catch(report));
  wireImageInputs(
    { fileInput: byTestId('image-input'), dropZone: document.getElementById('drop-zone'), samples: document.getElementById('samples') },
    { onFile: useFile, onSample: useSample },
  );
  byTestId('weights-input').addEventListener('change', (e) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (file) loadModel(state.model, { weightsFile: file, node: state.node }).catch(report);
  });
  new Camera(document.getElementById('camera-video'), byTestId('webcam-button'), async (frame) => {
    try {
      await classify(frame);
    } catch (e) {
      report(e);
      return false;
    }
    return true;
  }, (message) => status.error(message));
  new DrawPad(drawArea, (frame) => classify(frame).catch(report));
  window.addEventListener('hashchange', () => {
    const next = hash.read();
    if (next.model && next.model !== state.model && state.picker.has(next.model)) loadModel(next.model, { node: next.node }).catch(report);
    else if (next.node && next.node !== state.node) pickNode(next.node);
    if ((next.view === 'lab') === document.getElementById('lab').hidden) showView(next.view === 'lab' ? 'lab' : 'explore');
  });

  for (const b of document.querySelectorAll('nav.views button')) b.addEventListener('click', () => showView(b.dataset.view));
  if (wanted.view === 'lab') showView('lab');
  await loadModel(state.picker.has(wanted.model) ? wanted.model : DEFAULT_MODEL, { node: wanted.node });
  // On a real adapter (or with backend=timed) one timed pass on each engine picks the faster.
  if (!wanted.backend || wanted.backend === 'timed') await serial(chooseFaster).catch(report);
  setInterval(checkDevice, DEVICE_CHECK_MS);
  document.body.dataset.ready = 'true';
  if (wanted.input?.startsWith('sample:')) await useSample(wanted.input.slice('sample:'.length));
}

boot().catch((e) => {
  report(e);
  document.body.dataset.ready = 'failed';
});
