// Depthwise convolution (groups == in_c, out_c a multiple of it) reading its input from a
// texture: one invocation per 8 neighbouring outputs of a row. The input is copied into
// the X texture first (texel t of the [C, H, W] input, 4 values in a row, at
// x_texel(t)); lavapipe fetches texels for 8 invocations at once, where
// depthwise.wgsl loads its storage buffer one invocation at a time. For each kernel row
// an invocation fetches the TEXELS texels covering the span of input its 8 windows read,
// which starts `a` values into the first. Each span value is then chosen from 4
// candidates by `a`. With rows of a multiple of 4 values (ALIGNED), `a` is the same for
// every invocation (8 * SW outputs are whole texels): it is SHIFT, the left padding's
// distance to the texel boundary before it, and the choices fold away.
// Overrides KH, KW, SW, DW (kernel size, horizontal stride and dilation), ALIGNED and SHIFT
// fix every loop's length so they unroll and every array index is a constant.
// depthwise_epilogue.wgsl, joined after this file, declares OUT (8), adds the bias, applies
// the prelude's ACT and stores.
// Bindings: 0 input: rgba32float texture, 1 weight: rgba32float texture, row oc holding
// its kh * kw taps 4 to a texel (at most 64 taps), 2 bias, 3 output, 4 params.

@group(0) @binding(0) var input: texture_2d<f32>;
@group(0) @binding(1) var weight: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

override KH: u32 = 3u;
override KW: u32 = 3u;
override SW: u32 = 1u;
override DW: u32 = 1u;
override SHIFT: u32 = 0u;
override ALIGNED: bool = true;

override SPAN: u32 = (OUT - 1u) * SW + (KW - 1u) * DW + 1u;
override TEXELS: u32 = (select(3u, SHIFT, ALIGNED) + SPAN + 3u) / 4u;

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
    var taps: array<vec4<f32>, 16>;
    for (var t = 0u; t < (KH * KW + 3u) / 4u; t++) {
        taps[t] = textureLoad(weight, vec2<u32>(t, oc), 0);
    }
    let ix0 = i32(ox0 * SW) - i32(p.pad_l);
    let last = i32((p.in_c * p.in_h * p.in_w + 3u) / 4u) - 1; // the input's last texel
    var acc: array<f32, OUT>;
    for (var ky = 0u; ky < KH; ky++) {
        // Rows in the padding read zeros: a test rather than a `continue`, so the loop
        // unrolls and the taps' index stays a constant.
        let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_t);
        let row_inside = iy >= 0 && iy < i32(p.in_h);
        let e0 = i32((ic * p.in_h + u32(select(0, iy, row_inside))) * p.in_w) + ix0;
        // How far into its first texel the span starts.
        let a = select(u32((e0 % 4 + 4) % 4), SHIFT, ALIGNED);
        let t0 = (e0 - i32(a)) / 4;
        var texels: array<vec4<f32>, 9>;
        for (var j = 0u; j < TEXELS; j++) {
            let t = u32(clamp(t0 + i32(j), 0, last));
            texels[j] = textureLoad(input, x_texel(t), 0);
        }
        var span: array<f32, 32>;
        for (var s = 0u; s < SPAN; s++) {
            // Value s + a of the texels; a is a constant when ALIGNED.
            var x = texels[s / 4u][s % 4u];
            x = select(x, texels[(s + 1u) / 4u][(s + 1u) % 4u], a == 1u);
            x = select(x, texels[(s + 2u) / 4u][(s + 2u) % 4u], a == 2u);
            x = select(x, texels[(s + 3u) / 4u][(s + 3u) % 4u], a == 3u);
            let ix = ix0 + i32(s);
            span[s] = select(0.0, x, row_inside && ix >= 0 && ix < i32(p.in_w));
        }
        for (var kx = 0u; kx < KW; kx++) {
            let tap = ky * KW + kx;
            let w = taps[tap / 4u][tap % 4u];
            for (var o = 0u; o < OUT; o++) {
                acc[o] += span[o * SW + kx * DW] * w;
            }
        }
    }
    store_outputs(acc, oc, oy, ox0);
}
