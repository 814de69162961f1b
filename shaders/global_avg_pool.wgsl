// Global average pooling: the mean of each channel's plane, one invocation per channel
// (a workgroup per channel with a tree reduction ran 20x slower on lavapipe, whose barriers
// are coroutine switches).
// Bindings: 0 input, 1 output, 2 params.

struct PlaneParams {
    c: u32, hw: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: PlaneParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let c = gid.x + gid.y * groups.x * 64u;
    if (c >= p.c) {
        return;
    }
    var acc = 0.0;
    for (var i = 0u; i < p.hw; i++) {
        acc += input[c * p.hw + i];
    }
    output[c] = acc / f32(p.hw);
}
