// Occlusion sensitivity, step one of a position: the network's input with a P x P patch set
// to 0 (the mean colour of a normalised input) in every channel, its top-left corner at
// position `state[0]` of the grid (row-major, corners at multiples of the stride), written
// into the plan's input buffer. The CPU twin is `explain::OcclusionGrid::occluded`.
// Bindings: 0 the unoccluded input, 1 the results of occlusion_reduce.wgsl (word 0: the
// position now running), 2 output (the plan's input buffer), 3 params.

struct OccludeParams {
    c: u32,
    h: u32,
    w: u32,
    side: u32,
    stride: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> source: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;
@group(0) @binding(3) var<uniform> p: OccludeParams;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.c * p.h * p.w) {
        return;
    }
    let index = state[0];
    let y0 = (index / p.cols) * p.stride;
    let x0 = (index % p.cols) * p.stride;
    let x = idx % p.w;
    let y = (idx / p.w) % p.h;
    let inside = y >= y0 && y < y0 + p.side && x >= x0 && x < x0 + p.side;
    output[idx] = select(source[idx], 0.0, inside);
}
