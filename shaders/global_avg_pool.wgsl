// Global average pooling: the mean of each channel's plane; a workgroup of 64 per channel.
// Bindings: 0 input, 1 output, 2 params.

struct Params {
    c: u32, hw: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let c = wid.x + wid.y * groups.x;
    var acc = 0.0;
    if (c < p.c) {
        for (var i = lid.x; i < p.hw; i += 64u) {
            acc += input[c * p.hw + i];
        }
    }
    partial[lid.x] = acc;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && c < p.c) {
        output[c] = partial[0] / f32(p.hw);
    }
}
