// Occlusion sensitivity, last step of a position, after the network's pass over the occluded
// input: one workgroup reduces the network's output to the class's probability and the most
// probable class, and the watched node's channel to its total; it appends the three at the
// position now running and moves on to the next. The CPU twin is `explain::position_values`.
// Scores, by `predict::head_scores`'s rule: RULE_LOGITS (softmax of the output), RULE_PROBS
// (the output is a softmax already), RULE_DISTANCES (softmax of minus LeNet-5's RBF distances).
// The most probable class is the first of the largest score (the probabilities' order).
// Results, as u32 words: word 0 is the position now running (occlude.wgsl reads it); position
// i's values are words 4i + 4 (probability, f32 bits), 4i + 5 (class), 4i + 6 (total, f32 bits).
// Bindings: 0 the output node, 1 the watched node, 2 output (the results), 3 params.

const RULE_LOGITS: u32 = 0u;
const RULE_PROBS: u32 = 1u;
const RULE_DISTANCES: u32 = 2u;
const WG: u32 = 256u;

struct OcclusionReduceParams {
    // Number of scores.
    classes: u32,
    chosen: u32,
    rule: u32,
    // The watched channel: `plane` values from `offset`.
    offset: u32,
    plane: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> watched: array<f32>;
@group(0) @binding(2) var<storage, read_write> results: array<u32>;
@group(0) @binding(3) var<uniform> p: OcclusionReduceParams;

var<workgroup> best: array<f32, WG>;
var<workgroup> best_at: array<u32, WG>;
var<workgroup> sums: array<f32, WG>;
var<workgroup> totals: array<f32, WG>;

// Higher is more probable.
fn score(i: u32) -> f32 {
    return select(scores[i], -scores[i], p.rule == RULE_DISTANCES);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
    let index = results[0];
    var m = -3.402823e38;
    var at = 0u;
    var total = 0.0;
    for (var i = t; i < p.classes; i += WG) {
        let v = score(i);
        if (v > m) {
            m = v;
            at = i;
        }
    }
    for (var i = t; i < p.plane; i += WG) {
        total += watched[p.offset + i];
    }
    best[t] = m;
    best_at[t] = at;
    totals[t] = total;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            let v = best[t + s];
            let j = best_at[t + s];
            if (v > best[t] || (v == best[t] && j < best_at[t])) {
                best[t] = v;
                best_at[t] = j;
            }
            totals[t] += totals[t + s];
        }
        workgroupBarrier();
    }
    let top = best[0];
    var e = 0.0;
    for (var i = t; i < p.classes; i += WG) {
        e += exp(score(i) - top);
    }
    sums[t] = e;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (t < s) {
            sums[t] += sums[t + s];
        }
        workgroupBarrier();
    }
    storageBarrier();
    if (t == 0u) {
        var probability = scores[p.chosen];
        if (p.rule != RULE_PROBS) {
            probability = exp(score(p.chosen) - top) / sums[0];
        }
        let at = 4u * index + 4u;
        results[at] = bitcast<u32>(probability);
        results[at + 1u] = best_at[0];
        results[at + 2u] = bitcast<u32>(totals[0]);
        results[at + 3u] = 0u;
        results[0] = index + 1u;
    }
}
