// Convolution as an implicit matrix product, register-blocked.
// Per group g: out[m, n] = sum_k W[m, k] * X[k, n], m an output channel, n an output pixel,
// k = (input channel, ky, kx). Each invocation keeps a 16 x 4 block of out in registers:
// 16 channels (their weights are shared by the LANES invocations of a row, so they load
// once per tap and broadcast) by 4 pixels strided by LANES (so neighbouring invocations
// read neighbouring pixels). 64 multiply-adds per 20 loads, no barriers: the shape that
// software adapters (lavapipe, SwiftShader) vectorise well, and coalesced reads with cached
// weights on hardware. The 64 invocations of a workgroup form 64 / LANES rows of LANES:
// override LANES is chosen per layer so small maps (7x7 at the end of a network) do not
// leave most invocations idle.
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
override LANES: u32 = 64u; // invocations along pixels; 64 / LANES rows along channels

const PIXELS: u32 = 4u; // pixels per invocation, LANES apart
const CHANNELS: u32 = 16u; // output channels per invocation

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let g = wid.z;
    let cin_g = p.in_c / p.groups;
    let rows = p.out_c / p.groups;
    let cols = p.out_h * p.out_w;
    let m0 = (wid.y * (64u / LANES) + lid.x / LANES) * CHANNELS;
    let n0 = wid.x * LANES * PIXELS + lid.x % LANES;
    let taps = p.kh * p.kw;
    let plane = p.in_h * p.in_w;

    // Rows past the end repeat the last row (their results are discarded), so every load
    // below stays in bounds without a branch.
    var wrow: array<u32, 16>;
    for (var i = 0u; i < CHANNELS; i++) {
        wrow[i] = (g * rows + min(m0 + i, rows - 1u)) * cin_g * taps;
    }
    // Top-left input corner of each pixel's window; pixels past the end are masked.
    var iy0: array<i32, 4>;
    var ix0: array<i32, 4>;
    var valid: array<bool, 4>;
    for (var j = 0u; j < PIXELS; j++) {
        let n = n0 + j * LANES;
        valid[j] = n < cols;
        let nn = min(n, cols - 1u);
        iy0[j] = i32((nn / p.out_w) * p.sh) - i32(p.pad_t);
        ix0[j] = i32((nn % p.out_w) * p.sw) - i32(p.pad_l);
    }

    var acc: array<vec4<f32>, 16>;
    let in_base = g * cin_g * plane;
    if (POINTWISE) {
        var n_safe: vec4<u32>;
        for (var j = 0u; j < PIXELS; j++) {
            n_safe[j] = min(n0 + j * LANES, cols - 1u);
        }
        for (var ci = 0u; ci < cin_g; ci++) {
            let base = in_base + ci * plane;
            let x = vec4<f32>(input[base + n_safe.x], input[base + n_safe.y], input[base + n_safe.z], input[base + n_safe.w]);
            for (var i = 0u; i < CHANNELS; i++) {
                acc[i] += weight[wrow[i] + ci] * x;
            }
        }
    } else {
        for (var ci = 0u; ci < cin_g; ci++) {
            let base = in_base + ci * plane;
            for (var ky = 0u; ky < p.kh; ky++) {
                for (var kx = 0u; kx < p.kw; kx++) {
                    var x: vec4<f32>;
                    for (var j = 0u; j < PIXELS; j++) {
                        let iy = iy0[j] + i32(ky * p.dh);
                        let ix = ix0[j] + i32(kx * p.dw);
                        if (iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w)) {
                            x[j] = input[base + u32(iy) * p.in_w + u32(ix)];
                        }
                    }
                    let k = (ci * p.kh + ky) * p.kw + kx;
                    for (var i = 0u; i < CHANNELS; i++) {
                        acc[i] += weight[wrow[i] + k] * x;
                    }
                }
            }
        }
    }
    for (var i = 0u; i < CHANNELS; i++) {
        let m = m0 + i;
        if (m >= rows) {
            break;
        }
        let oc = g * rows + m;
        var b = 0.0;
        if (p.has_bias != 0u) {
            b = bias[oc];
        }
        for (var j = 0u; j < PIXELS; j++) {
            if (valid[j]) {
                output[oc * cols + n0 + j * LANES] = acc[i][j] + b;
            }
        }
    }
}
