// Fully connected layer for one image (a matrix-vector product), one invocation per output
// row, reading the weights and the input from textures: lavapipe fetches texels for 8
// invocations at once, where dense.wgsl loads its storage buffers one invocation at a time
// and reduces with barriers (coroutine switches there).
// Bindings: 0 input: the X texture, 4 values a texel at x_texel(t) (copied in first,
// zero past the end), 1 weight: rgba32float texture, row o at y = o, 4 values a texel
// (zero-padded to whole texels), 2 bias, 3 output, 4 params.

@group(0) @binding(0) var input: texture_2d<f32>;
@group(0) @binding(1) var weight: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: DenseParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.x + gid.y * groups.x * 64u;
    if (row >= p.rows) {
        return;
    }
    var acc = vec4(0.0);
    for (var t = 0u; t < (p.in_features + 3u) / 4u; t++) {
        let x = textureLoad(input, x_texel(t), 0);
        acc += textureLoad(weight, vec2<u32>(t, row), 0) * x;
    }
    var y = acc.x + acc.y + acc.z + acc.w;
    if (p.has_bias != 0u) {
        y += bias[p.row_offset + row];
    }
    output[p.row_offset + row] = y;
}
