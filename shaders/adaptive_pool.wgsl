// PyTorch's adaptive average pooling: output cell i of an axis of n inputs and out outputs
// averages inputs floor(i n / out) up to ceil((i + 1) n / out) - 1. One invocation per output.
// Bindings: 0 input, 1 output, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: SubsampleParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.out_h * p.out_w) {
        return;
    }
    let ox = idx % p.out_w;
    let oy = (idx / p.out_w) % p.out_h;
    let c = idx / (p.out_w * p.out_h);
    let y0 = oy * p.in_h / p.out_h;
    let y1 = ((oy + 1u) * p.in_h + p.out_h - 1u) / p.out_h;
    let x0 = ox * p.in_w / p.out_w;
    let x1 = ((ox + 1u) * p.in_w + p.out_w - 1u) / p.out_w;
    var sum = 0.0;
    for (var y = y0; y < y1; y++) {
        for (var x = x0; x < x1; x++) {
            sum += input[(c * p.in_h + y) * p.in_w + x];
        }
    }
    output[idx] = sum / f32((y1 - y0) * (x1 - x0));
}
