// Convolution as an implicit matrix product, register-blocked.
// Per group g: out[m, n] = act(sum_k W[k, m] * X[k, n] + bias[m]), m an output channel, n an
// output pixel, k = (input channel, ky, kx). Each invocation keeps 16 channels x 8
// consecutive pixels in registers. Weights are transposed at plan time so 4 output channels
// are one vec4: software adapters (lavapipe) load a storage buffer one invocation at a time,
// and a vec4 costs about what a scalar does. Per tap: 8 input loads and 4 vec4 weight loads
// feed 128 multiply-adds, with no workgroup memory and no barriers (lavapipe runs barriers as
// coroutine switches).
// Bindings: 0 input, 1 weight [groups, in_c / groups * kh * kw, m_pad / 4], 2 bias
// [groups, m_pad / 4] (m_pad: channels per group rounded up to 16, zero-padded), 3 output,
// 4 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

// The prelude's ACT override picks the activation of the epilogue.
override WG: u32 = 64u;

override CH4: u32 = 4u; // output channels per invocation, in vec4s (at most 4)
override PX: u32 = 8u; // consecutive output pixels per invocation (at most 8)

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let g = wid.z;
    let cin_g = p.in_c / p.groups;
    let rows = p.out_c / p.groups;
    let cols = p.out_h * p.out_w;
    let m_pad4 = (rows + 15u) / 16u * 4u;
    let n0 = (wid.x * WG + lid.x) * PX;
    let m0 = wid.y * CH4;
    let taps = p.kh * p.kw;
    let plane = p.in_h * p.in_w;

    // Top-left input corner of each pixel's window; pixels past the end are masked.
    var iy0: array<i32, 8>;
    var ix0: array<i32, 8>;
    for (var j = 0u; j < PX; j++) {
        let n = min(n0 + j, cols - 1u);
        iy0[j] = i32((n / p.out_w) * p.sh) - i32(p.pad_t);
        ix0[j] = i32((n % p.out_w) * p.sw) - i32(p.pad_l);
    }

    var acc: array<vec4<f32>, 32>; // [channel vec4][pixel]
    let in_base = g * cin_g * plane;
    let w_base = g * cin_g * taps * m_pad4 + m0;
    for (var ci = 0u; ci < cin_g; ci++) {
        let base = in_base + ci * plane;
        for (var ky = 0u; ky < p.kh; ky++) {
            for (var kx = 0u; kx < p.kw; kx++) {
                var x: array<f32, 8>;
                for (var j = 0u; j < PX; j++) {
                    let iy = iy0[j] + i32(ky * p.dh);
                    let ix = ix0[j] + i32(kx * p.dw);
                    let inside = iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w);
                    let at = select(0u, base + u32(iy) * p.in_w + u32(ix), inside);
                    x[j] = select(0.0, input[at], inside);
                }
                let wk = w_base + ((ci * p.kh + ky) * p.kw + kx) * m_pad4;
                for (var q = 0u; q < CH4; q++) {
                    let w = weight[wk + q];
                    for (var j = 0u; j < PX; j++) {
                        acc[q * PX + j] += w * x[j];
                    }
                }
            }
        }
    }
    for (var q = 0u; q < CH4; q++) {
        let b = bias[g * m_pad4 + m0 + q];
        for (var i = 0u; i < 4u; i++) {
            let m = (m0 + q) * 4u + i;
            if (m >= rows) {
                break;
            }
            let out_row = (g * rows + m) * cols;
            for (var j = 0u; j < PX; j++) {
                if (n0 + j < cols) {
                    output[out_row + n0 + j] = activate(acc[q * PX + j][i] + b[i]);
                }
            }
        }
    }
}
