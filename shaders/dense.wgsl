// Fully connected layer for one image (a matrix-vector product): a workgroup of 64 per
// output row, each invocation summing a strided slice, then a tree reduction. Rows may be
// split over several weight buffers (VGG's fc6 is 411 MB): row_offset places this chunk.
// Bindings: 0 input, 1 weight rows [rows, in_features], 2 bias, 3 output, 4 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: DenseParams;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>) {
    let row = wid.x + wid.y * groups.x;
    let base = row * p.in_features;
    var acc = 0.0;
    if (row < p.rows) {
        for (var i = lid.x; i < p.in_features; i += 64u) {
            acc += weight[base + i] * input[i];
        }
    }
    partial[lid.x] = acc;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u && row < p.rows) {
        var y = partial[0];
        if (p.has_bias != 0u) {
            y += bias[p.row_offset + row];
        }
        output[p.row_offset + row] = y;
    }
}
