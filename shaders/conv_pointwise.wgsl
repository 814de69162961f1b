// Convolution as a matrix product over vec4s: per group g, out[m, n] = act(sum_k W[k, m] *
// X[k, n] + bias[m]), m an output channel, n an output pixel. X is the input itself for a
// 1x1 convolution with stride 1 and no padding on maps of a multiple of 4 pixels, and the
// unfolded windows from im2col.wgsl otherwise; either way it is copied into a texture
// first. This file is the body; pointwise_texture.wgsl or pointwise_subgroup.wgsl goes in
// front of it with the entry point and the way weights are fetched.
// Each invocation keeps 16 output channels x 4 pixels in registers (more spills on
// lavapipe and runs slower). Per k it reads one texel of X and 4 texels of W for 64
// multiply-adds, with no workgroup memory and no barriers (lavapipe runs barriers as
// coroutine switches). X and W are textures because lavapipe fetches texels for 8
// invocations at once, where it loads a storage buffer one invocation at a time. With
// subgroups the invocations of a subgroup share the weight fetches: each fetches one texel
// of a round of ROUND rows and the others take it with subgroupShuffle, so a subgroup of 8
// makes 1 texel fetch per 2 rows where each invocation would make 8.
// Bindings: 0 X: rgba32float texture, texel t = (g * k_g + k) * ceil(n / 4) + n / 4 at
// x_texel(t); 1 weight: rgba32float texture, row k of group g at y = g * k_pad + k,
// 4 output channels a texel (transposed and zero-padded at plan time to m_pad, the
// channels per group rounded up to 16, and to k_pad rows, k_g rounded up to ROUND),
// 2 bias [groups, m_pad / 4], 3 output [out_c, n], 4 params.

@group(0) @binding(0) var input: texture_2d<f32>;
@group(0) @binding(1) var weight: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

// The prelude's ACT override picks the activation of the epilogue.
override WG: u32 = 64u;
// Rows of W per weight fetch: the subgroup size / CH4 with subgroups, else 1.
override ROUND: u32 = 1u;

const CH4: u32 = 4u; // output channels per invocation, in vec4s

fn x_at(t: u32) -> vec4<f32> {
    return textureLoad(input, x_texel(t), 0);
}

fn product(lid: u32, wid: vec3<u32>, lane: u32) {
    let g = wid.z;
    let k_g = p.in_c / p.groups * p.kh * p.kw;
    let k_pad = (k_g + ROUND - 1u) / ROUND * ROUND;
    let rows = p.out_c / p.groups;
    let cols = p.out_h * p.out_w;
    let cols4 = (cols + 3u) / 4u;
    let m_pad4 = (rows + 15u) / 16u * CH4;
    let n = wid.x * WG + lid; // in vec4s
    let m0 = wid.y * CH4; // in vec4s
    // Pixels past the end read the last vec4 (in bounds) and are not stored.
    let n_safe = min(n, cols4 - 1u);
    var acc: array<vec4<f32>, 16>; // [channel] x 4 pixels
    let x_base = g * k_g * cols4 + n_safe;
    let w_row = g * k_pad;
    for (var k = 0u; k < k_g; k += ROUND) {
        let round = fetch_weights(m0, w_row + k, lane);
        for (var r = 0u; r < ROUND; r++) {
            // Rows past k_g have zero weights; their X row is clamped into range.
            let x = x_at(x_base + min(k + r, k_g - 1u) * cols4);
            for (var q = 0u; q < CH4; q++) {
                let w = weight_of(round, m0 + q, w_row + k, r, q);
                acc[4u * q] += w.x * x;
                acc[4u * q + 1u] += w.y * x;
                acc[4u * q + 2u] += w.z * x;
                acc[4u * q + 3u] += w.w * x;
            }
        }
    }
    // Guards rather than breaks: a loop with a break is not unrolled, and an accumulator
    // indexed by a loop variable would leave registers for memory.
    for (var q = 0u; q < CH4; q++) {
        let b = bias[g * m_pad4 + m0 + q];
        for (var i = 0u; i < 4u; i++) {
            let m = (m0 + q) * 4u + i;
            let oc = g * rows + m;
            let v = activate4(acc[4u * q + i] + b[i]);
            if (m < rows && n < cols4) {
                // Scalar stores with constant components: lavapipe stores a storage buffer
                // one invocation at a time either way, and a component chosen per
                // invocation (a row that is not vec4-aligned) costs far more.
                for (var c = 0u; c < 4u; c++) {
                    if (n * 4u + c < cols) {
                        output[oc * cols + n * 4u + c] = v[c];
                    }
                }
            }
        }
    }
}
