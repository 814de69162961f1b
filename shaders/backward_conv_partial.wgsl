// Backward of LeNet-5's partially connected C3 convolution (stride 1, no padding): one
// invocation per input value sums weight * dy over the output maps whose table row lists
// its map, the twin of `cpu::backward::partial_conv2d_backward`.
// table: as conv_partial.wgsl, for each output map (first kernel index, count), then the
// input-map lists packed. Override ACCUMULATE adds to what the output holds.
// Bindings: 0 dy, 1 weight [connections, k, k], 2 table, 3 dx, 4 params.

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: PartialConvParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.in_c * p.in_h * p.in_w) {
        return;
    }
    let ix = i32(idx % p.in_w);
    let iy = i32((idx / p.in_w) % p.in_h);
    let ic = idx / (p.in_w * p.in_h);
    var acc = 0.0;
    for (var o = 0u; o < p.out_c; o++) {
        let first = table[2u * o];
        let count = table[2u * o + 1u];
        for (var j = 0u; j < count; j++) {
            if (table[2u * p.out_c + first + j] != ic) {
                continue;
            }
            for (var ky = 0; ky < i32(p.k); ky++) {
                let oy = iy - ky;
                if (oy < 0 || oy >= i32(p.out_h)) {
                    continue;
                }
                for (var kx = 0; kx < i32(p.k); kx++) {
                    let ox = ix - kx;
                    if (ox < 0 || ox >= i32(p.out_w)) {
                        continue;
                    }
                    let w = weight[((first + j) * p.k + u32(ky)) * p.k + u32(kx)];
                    acc += w * dy[(o * p.out_h + u32(oy)) * p.out_w + u32(ox)];
                }
            }
        }
    }
    if (ACCUMULATE) {
        acc += dx[idx];
    }
    dx[idx] = acc;
}
