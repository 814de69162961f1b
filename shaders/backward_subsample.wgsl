// Backward of LeNet-5's trainable subsampling: every pixel of a block gets
// coefficient[c] * dy of its block; the remainder no block covers gets 0. The twin of
// `cpu::backward::subsample_backward`. Override ACCUMULATE adds to what the output holds.
// Bindings: 0 dy, 1 weight (coefficients), 2 dx, 3 params.

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: SubsampleParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.in_h * p.in_w) {
        return;
    }
    let ox = (idx % p.in_w) / p.window;
    let oy = ((idx / p.in_w) % p.in_h) / p.window;
    let c = idx / (p.in_w * p.in_h);
    var d = 0.0;
    if (ox < p.out_w && oy < p.out_h) {
        d = weight[c] * dy[(c * p.out_h + oy) * p.out_w + ox];
    }
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
