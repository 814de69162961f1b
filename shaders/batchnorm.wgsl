// Batch normalisation at inference: (x - mean) / sqrt(var + eps) * weight + bias, per channel.
// Bindings: 0 input, 1 weight, 2 bias, 3 running_mean, 4 running_var, 5 output, 6 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<uniform> p: BatchNormParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Each invocation normalises 4 neighbouring values of one channel, so the channel's
    // scale is computed once for them.
    let idx = gid.x + gid.y * groups.x * 64u;
    let blocks = (p.hw + 3u) / 4u;
    if (idx >= p.c * blocks) {
        return;
    }
    let c = idx / blocks;
    let first = (idx % blocks) * 4u;
    let scale = weight[c] / sqrt(variance[c] + p.eps);
    let shift = bias[c] - mean[c] * scale;
    let base = c * p.hw;
    for (var j = first; j < min(first + 4u, p.hw); j++) {
        output[base + j] = input[base + j] * scale + shift;
    }
}
