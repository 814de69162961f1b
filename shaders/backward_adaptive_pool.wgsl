// Backward of adaptive average pooling (global average pooling is the 1 x 1 case): one
// invocation per input value sums dy / bin size over the output cells whose bin
// (`AdaptiveAvgPool2d::bin`: floor(o n / out) to ceil((o + 1) n / out)) covers it.
// Override ACCUMULATE adds to what the output holds.
// Bindings: 0 dy, 1 dx, 2 params (SubsampleParams, window unused).

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: SubsampleParams;

override ACCUMULATE: bool = false;

fn bin(o: u32, n: u32, out: u32) -> vec2<u32> {
    return vec2<u32>(o * n / out, ((o + 1u) * n + out - 1u) / out);
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
    var acc = 0.0;
    for (var oy = 0u; oy < p.out_h; oy++) {
        let ys = bin(oy, p.in_h, p.out_h);
        if (iy < ys.x || iy >= ys.y) {
            continue;
        }
        for (var ox = 0u; ox < p.out_w; ox++) {
            let xs = bin(ox, p.in_w, p.out_w);
            if (ix < xs.x || ix >= xs.y) {
                continue;
            }
            let size = f32((ys.y - ys.x) * (xs.y - xs.x));
            acc += dy[(c * p.out_h + oy) * p.out_w + ox] / size;
        }
    }
    if (ACCUMULATE) {
        acc += dx[idx];
    }
    dx[idx] = acc;
}
