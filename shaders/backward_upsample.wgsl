// Spreads a strided convolution's output gradient onto the grid its windows started on:
// up[c, y, x] = dy[c, y / sh, x / sw] where both divide, 0 elsewhere. A stride-1
// convolution of `up` with the flipped, transposed weights is then the strided one's
// backward (src/gpu/backward/transposed.rs), on the forward pass's fast kernels.
// Bindings: 0 dy, 1 up, 2 params (PoolParams: c, in_* dy's size, out_* up's, sh, sw).

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<uniform> p: PoolParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.out_h * p.out_w) {
        return;
    }
    let x = idx % p.out_w;
    let y = (idx / p.out_w) % p.out_h;
    let c = idx / (p.out_w * p.out_h);
    var v = 0.0;
    if (x % p.sw == 0u && y % p.sh == 0u) {
        v = dy[(c * p.in_h + y / p.sh) * p.in_w + x / p.sw];
    }
    up[idx] = v;
}
