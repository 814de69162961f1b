// Depthwise convolution (groups == in_c, out_c a multiple of it): one invocation per 8
// neighbouring outputs of a row. For each kernel row it loads the span of input those 8
// windows cover once (8 * SW + (KW - 1) * DW - SW + 1 values) instead of once per tap, and
// its channel's taps come from a texture (lavapipe fetches texels for 8 invocations at once
// but loads storage buffers one invocation at a time).
// Overrides KH, KW, SW, DW (kernel size, horizontal stride and dilation) fix the loops'
// lengths so they unroll and every array index is a constant. depthwise_epilogue.wgsl,
// joined after this file, declares OUT (8), adds the bias, applies the prelude's ACT and
// stores.
// Bindings: 0 input, 1 weight: rgba32float texture, row oc holding its kh * kw taps 4 to a
// texel (at most 64 taps), 2 bias, 3 output, 4 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var weight: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

override KH: u32 = 3u;
override KW: u32 = 3u;
override SW: u32 = 1u;
override DW: u32 = 1u;

override SPAN: u32 = (OUT - 1u) * SW + (KW - 1u) * DW + 1u;

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
    let plane = ic * p.in_h * p.in_w;
    var taps: array<vec4<f32>, 16>;
    for (var t = 0u; t < (KH * KW + 3u) / 4u; t++) {
        taps[t] = textureLoad(weight, vec2<u32>(t, oc), 0);
    }
    let ix0 = i32(ox0 * SW) - i32(p.pad_l);
    var acc: array<f32, OUT>;
    for (var ky = 0u; ky < KH; ky++) {
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_t);
        if (iy < 0 || iy >= i32(p.in_h)) {
            continue;
        }
        let row = plane + u32(iy) * p.in_w;
        var span: array<f32, 32>;
        for (var s = 0u; s < SPAN; s++) {
            let ix = ix0 + i32(s);
            let inside = ix >= 0 && ix < i32(p.in_w);
            span[s] = select(0.0, input[select(row, row + u32(ix), inside)], inside);
        }
        for (var kx = 0u; kx < KW; kx++) {
            let t = ky * KW + kx;
            let w = taps[t / 4u][t % 4u];
            for (var j = 0u; j < OUT; j++) {
                acc[j] += span[j * SW + kx * DW] * w;
            }
        }
    }
    store_outputs(acc, oc, oy, ox0);
}
