// LeNet-5's Euclidean RBF output units: y_i = sum_j (x_j - w_ij)^2.
// Bindings: 0 input, 1 weight [outputs, in_features], 2 output, 3 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<uniform> p: RbfParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.outputs) {
        return;
    }
    var acc = 0.0;
    for (var j = 0u; j < p.in_features; j++) {
        let d = input[j] - weight[i * p.in_features + j];
        acc += d * d;
    }
    output[i] = acc;
}
