// Backward of LeNet-5's RBF output layer, y[o] = sum_i (x[i] - weight[o, i])^2:
// dx[i] = sum_o 2 (x[i] - weight[o, i]) dy[o], the twin of `cpu::backward::rbf_backward`.
// Override ACCUMULATE adds to what the output holds.
// Bindings: 0 x (the forward input), 1 dy, 2 weight, 3 dx, 4 params.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: RbfParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    if (i >= p.in_features) {
        return;
    }
    var acc = 0.0;
    for (var o = 0u; o < p.outputs; o++) {
        acc += 2.0 * (x[i] - weight[o * p.in_features + i]) * dy[o];
    }
    if (ACCUMULATE) {
        acc += dx[i];
    }
    dx[i] = acc;
}
