// Feature-map tiles drawn straight from a node's output buffer: one full-screen triangle; each
// pixel finds its tile in the grid, the tile's channel, the unit it shows (nearest, no
// filtering), maps the value onto [lo, hi] of its channel or of the layer and looks up the
// colormap. Gaps between tiles and empty grid cells are transparent. Integer layout maths
// and the rounding are those of the CPU twin (`gpu::draw::draw_tiles`).
// Bindings: 0 input (the node's output, [c, h, w]), 1 stats (from featuremap_range.wgsl),
// 2 order (the channel of each tile), 3 colormap (256 RGBA, packed), 4 params.

struct DrawParams {
    c: u32, h: u32, w: u32, tiles: u32,
    cols: u32, tile_w: u32, tile_h: u32, gap: u32,
    per_layer: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> colormap: array<u32>;
@group(0) @binding(4) var<uniform> p: DrawParams;

@vertex
fn vertex(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    return vec4<f32>(2.0 * x - 1.0, 1.0 - 2.0 * y, 0.0, 1.0);
}

@fragment
fn fragment(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let px = u32(pos.x);
    let py = u32(pos.y);
    let step_x = p.tile_w + p.gap;
    let step_y = p.tile_h + p.gap;
    let col = px / step_x;
    let row = py / step_y;
    let ix = px % step_x;
    let iy = py % step_y;
    let slot = row * p.cols + col;
    if (col >= p.cols || ix >= p.tile_w || iy >= p.tile_h || slot >= p.tiles) {
        return vec4<f32>(0.0);
    }
    let ch = order[slot];
    let x = ix * p.w / p.tile_w;
    let y = iy * p.h / p.tile_h;
    let v = input[(ch * p.h + y) * p.w + x];
    var range = stats[ch].xy;
    if (p.per_layer != 0u) {
        range = stats[p.c].xy;
    }
    var scale = 0.0;
    if (range.y > range.x) {
        scale = 255.0 / (range.y - range.x);
    }
    let k = u32(clamp(floor((v - range.x) * scale + 0.5), 0.0, 255.0));
    let rgba = colormap[k];
    return vec4<f32>(
        f32(rgba & 255u), f32((rgba >> 8u) & 255u), f32((rgba >> 16u) & 255u), 255.0
    ) / 255.0;
}
