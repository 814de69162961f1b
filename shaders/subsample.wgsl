// LeNet-5's trainable subsampling: coefficient[c] * (sum of a window x window block) + bias[c].
// Bindings: 0 input, 1 weight (coefficients), 2 bias, 3 output, 4 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: SubsampleParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.out_h * p.out_w) {
        return;
    }
    let ox = idx % p.out_w;
    let oy = (idx / p.out_w) % p.out_h;
    let c = idx / (p.out_w * p.out_h);
    var sum = 0.0;
    for (var ky = 0u; ky < p.window; ky++) {
        for (var kx = 0u; kx < p.window; kx++) {
            sum += input[(c * p.in_h + oy * p.window + ky) * p.in_w + ox * p.window + kx];
        }
    }
    output[idx] = weight[c] * sum + bias[c];
}
