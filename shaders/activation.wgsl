// Element-wise activations; override ACT picks one: 0 ReLU, 1 ReLU6, 2 sigmoid, 3 tanh,
// 4 LeNet's 1.7159 tanh(2x/3).
// Bindings: 0 input, 1 output, 2 params.

struct Params {
    len: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override ACT: u32 = 0u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.len) {
        return;
    }
    let x = input[idx];
    var y: f32;
    switch ACT {
        case 0u: { y = max(x, 0.0); }
        case 1u: { y = clamp(x, 0.0, 6.0); }
        case 2u: { y = 1.0 / (1.0 + exp(-x)); }
        case 3u: { y = tanh(x); }
        default: { y = 1.7159 * tanh(2.0 * x / 3.0); }
    }
    output[idx] = y;
}
