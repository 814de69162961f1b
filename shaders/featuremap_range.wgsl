// Feature-map ranges of one node's output, for normalising its tiles: `channels` writes each
// channel's min, max and mean (one workgroup of 64 per channel), then `layer` writes the min
// and max over all channels (one workgroup).
// Bindings: 0 input (the node's output, [c, h, w]), 1 stats (read_write), 2 params.
// stats[ch] = (min, max, mean, 0) for ch < c; stats[c] = (layer min, layer max, 0, 0).

struct RangeParams {
    c: u32, hw: u32, _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: RangeParams;

const BIG: f32 = 3.4e38;

var<workgroup> lows: array<f32, 64>;
var<workgroup> highs: array<f32, 64>;
var<workgroup> sums: array<f32, 64>;

fn reduce(lid: u32) {
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if (lid < stride) {
            lows[lid] = min(lows[lid], lows[lid + stride]);
            highs[lid] = max(highs[lid], highs[lid + stride]);
            sums[lid] += sums[lid + stride];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(64)
fn channels(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let c = wid.x;
    var lo = BIG;
    var hi = -BIG;
    var sum = 0.0;
    if (c < p.c) {
        for (var i = lid.x; i < p.hw; i += 64u) {
            let v = input[c * p.hw + i];
            lo = min(lo, v);
            hi = max(hi, v);
            sum += v;
        }
    }
    lows[lid.x] = lo;
    highs[lid.x] = hi;
    sums[lid.x] = sum;
    reduce(lid.x);
    if (lid.x == 0u && c < p.c) {
        stats[c] = vec4<f32>(lows[0], highs[0], sums[0] / f32(p.hw), 0.0);
    }
}

@compute @workgroup_size(64)
fn layer(@builtin(local_invocation_id) lid: vec3<u32>) {
    var lo = BIG;
    var hi = -BIG;
    for (var c = lid.x; c < p.c; c += 64u) {
        lo = min(lo, stats[c].x);
        hi = max(hi, stats[c].y);
    }
    lows[lid.x] = lo;
    highs[lid.x] = hi;
    sums[lid.x] = 0.0;
    reduce(lid.x);
    if (lid.x == 0u) {
        stats[p.c] = vec4<f32>(lows[0], highs[0], 0.0, 0.0);
    }
}
