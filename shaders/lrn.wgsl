// Local response normalisation across channels (Krizhevsky et al. 2012, §3.3):
// b_c = a_c / (k + alpha * sum over the window of a^2) ^ beta, the window running from
// c - size/2 to c + (size-1)/2, clipped at the ends; alpha is not divided by size.
// Bindings: 0 input, 1 output, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: LrnParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.hw) {
        return;
    }
    let c = i32(idx / p.hw);
    let pixel = idx % p.hw;
    let lo = max(c - i32(p.size / 2u), 0);
    let hi = min(c + i32((p.size - 1u) / 2u), i32(p.c) - 1);
    var sq = 0.0;
    for (var j = lo; j <= hi; j++) {
        let v = input[u32(j) * p.hw + pixel];
        sq += v * v;
    }
    output[idx] = input[idx] / pow(p.k + p.alpha * sq, p.beta);
}
