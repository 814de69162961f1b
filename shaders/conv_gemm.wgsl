// Convolution as an implicit matrix product, tiled through workgroup memory.
// Per group g: out[m, n] = sum_k W[m, k] * X[k, n], m an output channel, n an output pixel,
// k = (input channel, ky, kx). A 16x16 workgroup computes a 64x64 tile of out, each
// invocation a 4x4 block; K is walked 16 at a time through shared tiles.
// Override POINTWISE: 1x1 kernel, stride 1, no padding, where X[k, n] is the input itself.
// Bindings: 0 input, 1 weight [out_c, in_c/groups, kh, kw], 2 bias, 3 output, 4 params.

struct Params {
    in_c: u32, in_h: u32, in_w: u32, out_c: u32,
    out_h: u32, out_w: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, dh: u32, dw: u32,
    pad_t: u32, pad_l: u32, groups: u32, has_bias: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

override POINTWISE: bool = false;

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;

var<workgroup> tile_w: array<f32, 1024>; // [DEPTH][TILE], k-major
var<workgroup> tile_x: array<f32, 1024>; // [DEPTH][TILE], k-major

fn im2col(g: u32, k: u32, n: u32, cin_g: u32) -> f32 {
    if (POINTWISE) {
        return input[(g * cin_g + k) * p.in_h * p.in_w + n];
    }
    let taps = p.kh * p.kw;
    let ci = k / taps;
    let r = k % taps;
    let ky = r / p.kw;
    let kx = r % p.kw;
    let oy = n / p.out_w;
    let ox = n % p.out_w;
    let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_t);
    let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pad_l);
    if (iy < 0 || iy >= i32(p.in_h) || ix < 0 || ix >= i32(p.in_w)) {
        return 0.0;
    }
    return input[((g * cin_g + ci) * p.in_h + u32(iy)) * p.in_w + u32(ix)];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let g = wid.z;
    let cin_g = p.in_c / p.groups;
    let rows = p.out_c / p.groups;
    let cols = p.out_h * p.out_w;
    let depth = cin_g * p.kh * p.kw;
    let m0 = wid.y * TILE;
    let n0 = wid.x * TILE;
    let tid = lid.y * 16u + lid.x;

    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < depth; k0 += DEPTH) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            // Weights: consecutive invocations read consecutive k of one row.
            let wr = e / DEPTH;
            let wk = e % DEPTH;
            var w = 0.0;
            if (m0 + wr < rows && k0 + wk < depth) {
                w = weight[(g * rows + m0 + wr) * depth + k0 + wk];
            }
            tile_w[wk * TILE + wr] = w;
            // Input columns: consecutive invocations read consecutive pixels of one k.
            let xk = e / TILE;
            let xn = e % TILE;
            var x = 0.0;
            if (n0 + xn < cols && k0 + xk < depth) {
                x = im2col(g, k0 + xk, n0 + xn, cin_g);
            }
            tile_x[xk * TILE + xn] = x;
        }
        workgroupBarrier();
        for (var k = 0u; k < DEPTH; k++) {
            let wv = vec4<f32>(
                tile_w[k * TILE + lid.y * 4u],
                tile_w[k * TILE + lid.y * 4u + 1u],
                tile_w[k * TILE + lid.y * 4u + 2u],
                tile_w[k * TILE + lid.y * 4u + 3u],
            );
            let xv = vec4<f32>(
                tile_x[k * TILE + lid.x],
                tile_x[k * TILE + lid.x + 16u],
                tile_x[k * TILE + lid.x + 32u],
                tile_x[k * TILE + lid.x + 48u],
            );
            acc[0] += wv.x * xv;
            acc[1] += wv.y * xv;
            acc[2] += wv.z * xv;
            acc[3] += wv.w * xv;
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y * 4u + i;
        if (m >= rows) {
            continue;
        }
        let oc = g * rows + m;
        var b = 0.0;
        if (p.has_bias != 0u) {
            b = bias[oc];
        }
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x + 16u * j;
            if (n < cols) {
                output[oc * cols + n] = acc[i][j] + b;
            }
        }
    }
}
