// Backward of max and average pooling (pool.wgsl's windows), gathered: one invocation per
// input value sums what the outputs whose window covers it send back. Override MAX: an
// output sends all of dy to its switch, the input that won its window, recomputed from the
// forward input with `cpu::backward::max_pool2d_switches`' rule (padding never wins, the
// first index wins a tie, a NaN wins); otherwise each real pixel of a window gets
// dy / divisor with PyTorch's divisor (`Pool2d::avg_windows`). Override ACCUMULATE adds to
// what the output holds.
// Bindings: 0 x (the forward input; unread by average pooling), 1 dy, 2 dx, 3 params.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: PoolParams;

override MAX: bool = true;
override ACCUMULATE: bool = false;

// The flat input index that wins output (c, oy, ox)'s window, or -1 for padding only.
fn switch_of(c: u32, oy: i32, ox: i32) -> i32 {
    let y0 = oy * i32(p.sh) - i32(p.pad_t);
    let x0 = ox * i32(p.sw) - i32(p.pad_l);
    var best = -1;
    var m = 0.0;
    for (var y = max(y0, 0); y < min(y0 + i32(p.kh), i32(p.in_h)); y++) {
        for (var xx = max(x0, 0); xx < min(x0 + i32(p.kw), i32(p.in_w)); xx++) {
            let i = i32((c * p.in_h + u32(y)) * p.in_w) + xx;
            let v = x[i];
            if (best < 0 || v > m || v != v) {
                best = i;
                m = v;
            }
        }
    }
    return best;
}

// Average pooling's divisor for the window starting at (y0, x0) in input coordinates.
fn divisor(y0: i32, x0: i32) -> i32 {
    let y1 = min(y0 + i32(p.kh), i32(p.in_h + p.pad_b));
    let x1 = min(x0 + i32(p.kw), i32(p.in_w + p.pad_r));
    if (p.count_include_pad != 0u) {
        return (y1 - y0) * (x1 - x0);
    }
    let rows = max(min(y1, i32(p.in_h)) - max(y0, 0), 0);
    let cols = max(min(x1, i32(p.in_w)) - max(x0, 0), 0);
    return rows * cols;
}

// The outputs on one axis whose window covers input `i`: [first, last].
fn covering(i: u32, pad: u32, k: u32, stride: u32, len: u32) -> vec2<i32> {
    let hi = (i32(i) + i32(pad)) / i32(stride);
    let t = i32(i) + i32(pad) - i32(k) + 1;
    let lo = select(0, (t + i32(stride) - 1) / i32(stride), t > 0);
    return vec2<i32>(lo, min(hi, i32(len) - 1));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.in_h * p.in_w) {
        return;
    }
    let ix = idx % p.in_w;
    let iy = (idx / p.in_w) % p.in_h;
    let c = idx / (p.in_w * p.in_h);
    let rows = covering(iy, p.pad_t, p.kh, p.sh, p.out_h);
    let cols = covering(ix, p.pad_l, p.kw, p.sw, p.out_w);
    var acc = 0.0;
    for (var oy = rows.x; oy <= rows.y; oy++) {
        for (var ox = cols.x; ox <= cols.y; ox++) {
            let g = dy[(c * p.out_h + u32(oy)) * p.out_w + u32(ox)];
            if (MAX) {
                if (switch_of(c, oy, ox) == i32(idx)) {
                    acc += g;
                }
            } else {
                let y0 = oy * i32(p.sh) - i32(p.pad_t);
                let x0 = ox * i32(p.sw) - i32(p.pad_l);
                let d = divisor(y0, x0);
                if (d > 0) {
                    acc += g / f32(d);
                }
            }
        }
    }
    if (ACCUMULATE) {
        acc += dx[idx];
    }
    dx[idx] = acc;
}
