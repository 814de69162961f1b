// LeNet-5's partially connected C3 convolution: output map o reads only the input maps its
// row of the connection table lists. One invocation per output value.
// table: for each output map, (first kernel index, count), then the input-map lists packed.
// Bindings: 0 input, 1 weight [connections, k, k], 2 bias, 3 table, 4 output, 5 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<uniform> p: PartialConvParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.out_c * p.out_h * p.out_w) {
        return;
    }
    let ox = idx % p.out_w;
    let oy = (idx / p.out_w) % p.out_h;
    let oc = idx / (p.out_w * p.out_h);
    let first = table[2u * oc];
    let count = table[2u * oc + 1u];
    var acc = bias[oc];
    for (var j = 0u; j < count; j++) {
        let ic = table[2u * p.out_c + first + j];
        for (var ky = 0u; ky < p.k; ky++) {
            for (var kx = 0u; kx < p.k; kx++) {
                let x = input[(ic * p.in_h + oy + ky) * p.in_w + ox + kx];
                acc += x * weight[((first + j) * p.k + ky) * p.k + kx];
            }
        }
    }
    output[idx] = acc;
}
