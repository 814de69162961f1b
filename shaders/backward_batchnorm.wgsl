// Backward of BatchNorm at inference, a per-channel scale:
// dx = dy * weight[c] / sqrt(running_var[c] + eps), the twin of
// `cpu::backward::batch_norm_backward`. Override ACCUMULATE adds to what the output holds.
// Bindings: 0 dy, 1 weight, 2 running_var, 3 dx, 4 params.

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> var_: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: BatchNormParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.hw) {
        return;
    }
    let c = idx / p.hw;
    var d = dy[idx] * weight[c] / sqrt(var_[c] + p.eps);
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
