// Direct convolution, one invocation per output value: the baseline the tiled kernels are
// measured against. Handles stride, dilation, asymmetric padding and groups.
// The prelude's override ACT applies an activation to the result; the benchmark baseline
// leaves it at ACT_NONE.
// Bindings: 0 input, 1 weight [out_c, in_c/groups, kh, kw], 2 bias, 3 output, 4 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.out_c * p.out_h * p.out_w) {
        return;
    }
    let ox = idx % p.out_w;
    let oy = (idx / p.out_w) % p.out_h;
    let oc = idx / (p.out_w * p.out_h);
    let cin_g = p.in_c / p.groups;
    let g = oc / (p.out_c / p.groups);
    var acc = 0.0;
    for (var ci = 0u; ci < cin_g; ci++) {
        let ic = g * cin_g + ci;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = i32(oy * p.sh + ky * p.dh) - i32(p.pad_t);
            if (iy < 0 || iy >= i32(p.in_h)) {
                continue;
            }
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pad_l);
                if (ix < 0 || ix >= i32(p.in_w)) {
                    continue;
                }
                let x = input[(ic * p.in_h + u32(iy)) * p.in_w + u32(ix)];
                acc += x * weight[((oc * cin_g + ci) * p.kh + ky) * p.kw + kx];
            }
        }
    }
    if (p.has_bias != 0u) {
        acc += bias[oc];
    }
    output[idx] = activate(acc);
}
