// Backward of a dense layer, the transposed weight: dx[i] = sum_o weight[o, i] dy[o] over
// the rows [row_offset, row_offset + rows) this binding holds (weights too large for one
// binding come in several, the later ones accumulating). The twin of
// `cpu::backward::dense_backward`. One invocation per input feature; neighbours read
// neighbouring weights. Override ACCUMULATE adds to what the output holds.
// Bindings: 0 dy, 1 weight rows, 2 dx, 3 params (DenseParams, has_bias unused).

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: DenseParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    if (i >= p.in_features) {
        return;
    }
    var acc = 0.0;
    for (var o = 0u; o < p.rows; o++) {
        acc += weight[o * p.in_features + i] * dy[p.row_offset + o];
    }
    if (ACCUMULATE) {
        acc += dx[i];
    }
    dx[i] = acc;
}
