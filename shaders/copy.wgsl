// Copies one input into the output at an offset: channel concatenation is one dispatch per
// input, each placing its channels after the previous ones.
// Bindings: 0 input, 1 output, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: LengthParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx < p.len) {
        output[p.offset + idx] = input[idx];
    }
}
