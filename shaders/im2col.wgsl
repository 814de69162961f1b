// Unfolds a convolution's input windows into a matrix, so conv_pointwise.wgsl can compute
// any convolution as a plain matrix product: cols[k, n] = x[ci, oy * sh + ky * dh - pad_t,
// ox * sw + kx * dw - pad_l] (0 in the padding), k = (ci, ky, kx) over every input channel,
// n = (oy, ox). Rows are padded to a multiple of 4 pixels so the product reads them as vec4.
// One invocation per 4 pixels of a row: 4 loads and one vec4 store.
// Bindings: 0 input, 1 output [in_c * kh * kw, ceil(out_h * out_w / 4)] as vec4, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: ConvParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    let cols = p.out_h * p.out_w;
    let cols4 = (cols + 3u) / 4u;
    let taps = p.kh * p.kw;
    if (idx >= p.in_c * taps * cols4) {
        return;
    }
    let k = idx / cols4;
    let n0 = (idx % cols4) * 4u;
    let ci = k / taps;
    let ky = (k % taps) / p.kw;
    let kx = k % p.kw;
    let base = ci * p.in_h * p.in_w;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let n = min(n0 + j, cols - 1u);
        let iy = i32((n / p.out_w) * p.sh + ky * p.dh) - i32(p.pad_t);
        let ix = i32((n % p.out_w) * p.sw + kx * p.dw) - i32(p.pad_l);
        let inside = n0 + j < cols && iy >= 0 && iy < i32(p.in_h) && ix >= 0 && ix < i32(p.in_w);
        let at = select(0u, base + u32(iy) * p.in_w + u32(ix), inside);
        v[j] = select(0.0, input[at], inside);
    }
    output[idx] = v;
}
