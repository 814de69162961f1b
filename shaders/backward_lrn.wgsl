// Backward of local response normalisation across channels, the twin of
// `cpu::backward::lrn_backward`: with S_c = k + alpha sum_{c' in W(c)} x_c'^2 and
// y_c = x_c S_c^-beta,
// dx_j = dy_j S_j^-beta - 2 alpha beta x_j sum_{c : j in W(c)} dy_c x_c S_c^(-beta-1),
// W(c) = [c - size / 2, c + ceil(size / 2)) clipped, as lrn.wgsl. One invocation per value.
// Override ACCUMULATE adds to what the output holds.
// Bindings: 0 x (the forward input), 1 dy, 2 dx, 3 params.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: LrnParams;

override ACCUMULATE: bool = false;

// S_c at pixel `at`.
fn scale(c: u32, at: u32) -> f32 {
    let lo = u32(max(i32(c) - i32(p.size / 2u), 0));
    let hi = min(c + (p.size + 1u) / 2u, p.c);
    var sum = 0.0;
    for (var j = lo; j < hi; j++) {
        let v = x[j * p.hw + at];
        sum += v * v;
    }
    return p.k + p.alpha * sum;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.hw) {
        return;
    }
    let at = idx % p.hw;
    let j = idx / p.hw;
    var d = dy[idx] * pow(scale(j, at), -p.beta);
    // The channels c whose window holds j: j in [c - size / 2, c + ceil(size / 2)).
    let lo = u32(max(i32(j) + 1 - i32((p.size + 1u) / 2u), 0));
    let hi = min(j + p.size / 2u + 1u, p.c);
    var back = 0.0;
    for (var c = lo; c < hi; c++) {
        let i = c * p.hw + at;
        back += dy[i] * x[i] * pow(scale(c, at), -p.beta - 1.0);
    }
    d -= 2.0 * p.alpha * p.beta * x[idx] * back;
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
