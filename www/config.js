// Visual constants and limits of the page, in one place.

/** Where the server puts what the page fetches (see scripts/serve.sh). */
export const PATHS = {
  weights: 'weights/',
  weightsManifest: 'weights/manifest.txt',
  recordsManifest: 'weights/records.txt',
  imagenetLabels: 'labels/imagenet.txt',
  photos: 'photos/',
};

/** Bundled sample photos (scikit-image's data; written by ./scripts/setup.sh). */
export const SAMPLES = [
  { name: 'coffee', file: 'coffee.png' },
  { name: 'chelsea', file: 'chelsea.png' },
  { name: 'astronaut', file: 'astronaut.png' },
  { name: 'rocket', file: 'rocket.jpg' },
  { name: 'motorcycle', file: 'motorcycle_left.png' },
];

/** The model shown first. */
export const DEFAULT_MODEL = 'efficientnet_lite0';

/**
 * Input limits: bigger files or images get a message instead of a frozen tab (the pixel
 * limit is checked from the file's header, before decoding). Images over `maxFramePixels`
 * are downscaled before the engine sees them: the networks take 224x224 at most.
 */
export const LIMITS = {
  maxFileBytes: 50 * 1024 * 1024,
  // A weights file (.safetensors or .pth) is held in WebAssembly memory (4 GiB at most) with
  // its decoded weights and the CPU engine's copy: 1 GiB leaves room. The zoo's largest
  // model, VGG-19 with BatchNorm, is 575 MB of float32.
  maxWeightsBytes: 1024 * 1024 * 1024,
  maxPixels: 40e6,
  maxFramePixels: 4e6,
};

/** How often (ms) the page checks, when idle, whether the GPU device was lost. */
export const DEVICE_CHECK_MS = 1000;

/** How long (ms) after a session's first WebGPU canvas draw the page checks that the device survived it. */
export const GPU_DRAW_CHECK_MS = 300;

/** Camera request: small frames are plenty for a 224x224 network input. */
export const CAMERA = { video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'environment' }, audio: false };

/** Fashion-MNIST drawing pad: size on screen and pen width (pixels). */
export const DRAW_PAD = { size: 224, pen: 18 };

/** Feature maps: a tile's longer side on screen, the enlarged map's, the input view's. */
export const TILE_PX = 72;
export const ENLARGED_PX = 320;
export const INPUT_VIEW_PX = 320;

/** Above this many channels tiles get smaller so the grid stays usable. */
export const MANY_CHANNELS = 256;
export const SMALL_TILE_PX = 40;

/**
 * Colormap for activations: viridis, sampled at 9 stops (matplotlib's `viridis`, CC0),
 * from the low end of the normalisation range to the high end.
 */
export const COLORMAP = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Receptive-field box drawn over the input. */
export const RF_COLOR = '#ff3b30';

/**
 * The network diagram: box fills run from `low` to the MACs or parameters colour as a box's
 * share of the largest visible box grows; zoom steps and limits.
 */
export const DIAGRAM = {
  low: [255, 255, 255],
  macs: [225, 137, 47],
  params: [47, 125, 225],
  zoomStep: 1.25,
  zoomMin: 0.2,
  zoomMax: 2,
  nameChars: 28,
};

/**
 * Explanation views: on-screen sizes (longer side, pixels) of the heat map, the unit's patch
 * and projection, occlusion's maps and the gallery's pictures; how many classes occlusion's
 * legend lists; how often (ms) a shown gallery refreshes while frames come in.
 */
export const EXPLAIN = { heatPx: 320, unitPx: 160, occlusionPx: 200, galleryPx: 72, legendClasses: 8, galleryRefreshMs: 3000 };
