// Backward of a convolution with respect to its input: a transposed convolution (the same
// stride, dilation, padding and groups), gathered: one invocation per input value sums
// weight[o, i, ky, kx] * dy[o, oy, ox] over the outputs whose window read it
// (iy = oy * sh - pad_t + ky * dh), the twin of `cpu::backward::conv2d_backward`.
// Override ACCUMULATE adds to what the output holds (a node read by several nodes). Override
// IN: input channels per invocation, 1, or all of a group's (at most 4: a stem's 3), which
// then share each dy value they read (one invocation per group and position).
// Bindings: 0 dy (laid out as the forward output), 1 weight [out_c, in_c / groups, kh, kw],
// 2 dx (laid out as the forward input), 3 params (ConvParams: in_* the forward input).

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

override ACCUMULATE: bool = false;
override IN: u32 = 1u;

// The output coordinate whose tap at offset `tap` reads input `i` on one axis, or -1.
fn source(i: u32, tap: u32, pad: u32, stride: u32, len: u32) -> i32 {
    let t = i32(i) + i32(pad) - i32(tap);
    if (t < 0 || t % i32(stride) != 0) {
        return -1;
    }
    let o = t / i32(stride);
    return select(-1, o, o < i32(len));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.in_c / IN * p.in_h * p.in_w) {
        return;
    }
    let ix = idx % p.in_w;
    let iy = (idx / p.in_w) % p.in_h;
    // The first of the IN input channels this invocation computes.
    let ic = idx / (p.in_w * p.in_h) * IN;
    let in_per_group = p.in_c / p.groups;
    let out_per_group = p.out_c / p.groups;
    let g = ic / in_per_group;
    let i = ic % in_per_group;
    let taps = p.kh * p.kw;
    // Without dilation only every stride-th tap can land on an output: start at the first.
    var ky0 = 0u;
    var ky_step = 1u;
    var kx0 = 0u;
    var kx_step = 1u;
    if (p.dh == 1u) {
        ky0 = (iy + p.pad_t) % p.sh;
        ky_step = p.sh;
    }
    if (p.dw == 1u) {
        kx0 = (ix + p.pad_l) % p.sw;
        kx_step = p.sw;
    }
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var ky = ky0; ky < p.kh; ky += ky_step) {
        let oy = source(iy, ky * p.dh, p.pad_t, p.sh, p.out_h);
        if (oy < 0) {
            continue;
        }
        for (var kx = kx0; kx < p.kw; kx += kx_step) {
            let ox = source(ix, kx * p.dw, p.pad_l, p.sw, p.out_w);
            if (ox < 0) {
                continue;
            }
            let at = u32(oy) * p.out_w + u32(ox);
            for (var j = 0u; j < out_per_group; j++) {
                let o = g * out_per_group + j;
                let d = dy[o * p.out_h * p.out_w + at];
                let w0 = ((o * in_per_group + i) * p.kh + ky) * p.kw + kx;
                for (var m = 0u; m < IN; m++) {
                    acc[m] += weight[w0 + m * taps] * d;
                }
            }
        }
    }
    let plane = p.in_h * p.in_w;
    for (var m = 0u; m < IN; m++) {
        let at = (ic + m) * plane + iy * p.in_w + ix;
        var v = acc[m];
        if (ACCUMULATE) {
            v += dx[at];
        }
        dx[at] = v;
    }
}
