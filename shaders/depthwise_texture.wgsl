// Depthwise convolution (groups == in_c, out_c a multiple of it) reading its input from a
// texture, for input rows of a multiple of 4 values: one invocation per 8 neighbouring
// outputs of a row. The input is copied into the X texture first (texel t of the [C, H, W]
// input, 4 values of a row, at (t % TW, t / TW)); lavapipe fetches texels for 8
// invocations at once, where depthwise.wgsl loads its storage buffer one invocation at a
// time. For each kernel row an invocation fetches the TEXELS texels covering the span of
// input its 8 windows read. Every invocation's span starts SHIFT values into its first
// texel (8 * SW outputs is a whole number of texels, so SHIFT is the same for all: the
// left padding's distance to the texel before it), and since rows are whole texels a texel
// is either inside the row or padding: the only test is per texel.
// Overrides KH, KW, SW, DW (kernel size, horizontal stride and dilation), SHIFT and ACT (an
// activation on the result: 0 none, 1 ReLU, 2 ReLU6, 3 sigmoid, 4 tanh, 5 LeNet's
// 1.7159 tanh(2x/3)) fix every loop's length so they unroll and every array index is a
// constant.
// Bindings: 0 input: rgba32float texture, 1 weight: rgba32float texture, row oc holding
// its kh * kw taps 4 to a texel (at most 64 taps), 2 bias, 3 output (as vec4; its buffer is
// a multiple of 16 bytes long), 4 params.

struct Params {
    in_c: u32, in_h: u32, in_w: u32, out_c: u32,
    out_h: u32, out_w: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, dh: u32, dw: u32,
    pad_t: u32, pad_l: u32, groups: u32, has_bias: u32,
}

@group(0) @binding(0) var input: texture_2d<f32>;
@group(0) @binding(1) var weight: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

override ACT: u32 = 0u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override SW: u32 = 1u;
override DW: u32 = 1u;
override SHIFT: u32 = 0u;

const OUT: u32 = 8u; // outputs per invocation, along a row
const TW: u32 = 1024u; // width of the X texture in texels (src/gpu/lower.rs: X_TEXTURE_WIDTH)
override SPAN: u32 = (OUT - 1u) * SW + (KW - 1u) * DW + 1u;
override TEXELS: u32 = (SHIFT + SPAN + 3u) / 4u;

fn activate(v: f32) -> f32 {
    switch ACT {
        case 1u: { return max(v, 0.0); }
        case 2u: { return clamp(v, 0.0, 6.0); }
        case 3u: { return 1.0 / (1.0 + exp(-v)); }
        case 4u: { return tanh(v); }
        case 5u: { return 1.7159 * tanh(2.0 * v / 3.0); }
        default: { return v; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    let blocks = (p.out_w + OUT - 1u) / OUT;
    if (idx >= p.out_c * p.out_h * blocks) {
        return;
    }
    let ox0 = (idx % blocks) * OUT;
    let oy = (idx / blocks) % p.out_h;
    let oc = idx / (blocks * p.out_h);
    let ic = oc / (p.out_c / p.in_c);
    let row4 = p.in_w / 4u;
    var taps: array<vec4<f32>, 16>;
    for (var t = 0u; t < (KH * KW + 3u) / 4u; t++) {
        taps[t] = textureLoad(weight, vec2<u32>(t, oc), 0);
    }
    // The first texel's column, in texels from the row start (negative in the padding).
    let tx0 = (i32(ox0 * SW) - i32(p.pad_l) - i32(SHIFT)) / 4;
    var acc: array<f32, 8>;
    for (var ky = 0u; ky < KH; ky++) {
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_t);
        if (iy < 0 || iy >= i32(p.in_h)) {
            continue;
        }
        let row = (ic * p.in_h + u32(iy)) * row4;
        var span: array<vec4<f32>, 8>;
        for (var j = 0u; j < TEXELS; j++) {
            let tx = tx0 + i32(j);
            let inside = tx >= 0 && tx < i32(row4);
            let t = select(row, row + u32(tx), inside);
            span[j] = select(vec4(0.0), textureLoad(input, vec2<u32>(t % TW, t / TW), 0), inside);
        }
        for (var kx = 0u; kx < KW; kx++) {
            let tap = ky * KW + kx;
            let w = taps[tap / 4u][tap % 4u];
            for (var o = 0u; o < OUT; o++) {
                let s = SHIFT + o * SW + kx * DW;
                acc[o] += span[s / 4u][s % 4u] * w;
            }
        }
    }
    var b = 0.0;
    if (p.has_bias != 0u) {
        b = bias[oc];
    }
    let out_row = (oc * p.out_h + oy) * p.out_w;
    var v: array<f32, 8>;
    for (var o = 0u; o < OUT; o++) {
        v[o] = activate(acc[o] + b);
    }
    if (p.out_w % 4u == 0u) {
        // Rows and blocks are vec4-aligned.
        for (var h = 0u; h < OUT / 4u; h++) {
            if (ox0 + 4u * h < p.out_w) {
                let q = vec4(v[4u * h], v[4u * h + 1u], v[4u * h + 2u], v[4u * h + 3u]);
                output[(out_row + ox0) / 4u + h] = q;
            }
        }
    } else {
        for (var o = 0u; o < OUT; o++) {
            if (ox0 + o < p.out_w) {
                let at = out_row + ox0 + o;
                output[at / 4u][at % 4u] = v[o];
            }
        }
    }
}
