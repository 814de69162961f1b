// Moves a gradient where a layer only routes values: dx[i] = dy[offset + i] for `len`
// values. Add copies its gradient to each input, concat gives each input its slice (at the
// input's first channel), flatten and dropout pass it on. Override ACCUMULATE adds to what
// the output holds (a node read by several nodes).
// Bindings: 0 dy, 1 dx, 2 params (LengthParams: offset into dy).

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: LengthParams;

override ACCUMULATE: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.len) {
        return;
    }
    var d = dy[p.offset + idx];
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
