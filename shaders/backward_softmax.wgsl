// Backward of softmax: dx = y (dy - sum_j dy_j y_j), y the forward output; the twin of
// `cpu::backward::softmax_backward`. Each invocation sums the dot product itself (softmax
// ends a network: a thousand values at most). Override ACCUMULATE adds to what the output
// holds.
// Bindings: 0 y, 1 dy, 2 dx, 3 params (LengthParams, offset unused).

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: LengthParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.len) {
        return;
    }
    var dot = 0.0;
    for (var j = 0u; j < p.len; j++) {
        dot += y[j] * dy[j];
    }
    var d = y[idx] * (dy[idx] - dot);
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
