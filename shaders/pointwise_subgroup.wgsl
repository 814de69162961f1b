// Entry point and weight fetches of conv_pointwise.wgsl with subgroups (ROUND = subgroup
// size / 4): invocation `lane` fetches texel lane % 4 of row lane / 4 of the round, and
// every invocation takes the texel it needs from the one that fetched it.
// Bindings: those of conv_pointwise.wgsl, which follows.

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
    product(lid.x, wid, lane);
}

fn fetch_weights(m0: u32, row: u32, lane: u32) -> vec4<f32> {
    return textureLoad(weight, vec2<u32>(m0 + lane % CH4, row + lane / CH4), 0);
}

fn weight_of(round: vec4<f32>, texel: u32, row: u32, r: u32, q: u32) -> vec4<f32> {
    return subgroupShuffle(round, r * CH4 + q);
}
