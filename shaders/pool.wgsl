// Max and average pooling over a window, with padding and ceil-mode windows.
// Override MAX selects max pooling (padding counts as -infinity) over average pooling
// (PyTorch semantics: the divisor counts padded positions inside the padded bounds when
// count_include_pad, and only in-image positions otherwise).
// Bindings: 0 input, 1 output, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: PoolParams;

override MAX: bool = true;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.out_h * p.out_w) {
        return;
    }
    let ox = idx % p.out_w;
    let oy = (idx / p.out_w) % p.out_h;
    let c = idx / (p.out_w * p.out_h);
    let y0 = i32(oy * p.sh) - i32(p.pad_t);
    let x0 = i32(ox * p.sw) - i32(p.pad_l);
    let y1 = min(y0 + i32(p.kh), i32(p.in_h + p.pad_b));
    let x1 = min(x0 + i32(p.kw), i32(p.in_w + p.pad_r));
    let padded_count = (y1 - y0) * (x1 - x0);
    let ya = max(y0, 0);
    let xa = max(x0, 0);
    let yb = min(y1, i32(p.in_h));
    let xb = min(x1, i32(p.in_w));
    var best = -0x1.fffffep+127f;
    var sum = 0.0;
    for (var y = ya; y < yb; y++) {
        for (var x = xa; x < xb; x++) {
            let v = input[(c * p.in_h + u32(y)) * p.in_w + u32(x)];
            best = max(best, v);
            sum += v;
        }
    }
    if (MAX) {
        output[idx] = best;
    } else {
        var count = (yb - ya) * (xb - xa);
        if (p.count_include_pad != 0u) {
            count = padded_count;
        }
        output[idx] = sum / f32(max(count, 1));
    }
}
