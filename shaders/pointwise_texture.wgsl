// Entry point and weight fetches of conv_pointwise.wgsl without subgroups: every
// invocation fetches its own weight texels (ROUND is 1).
// Bindings: those of conv_pointwise.wgsl, which follows.

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    product(lid.x, wid, 0u);
}

fn fetch_weights(m0: u32, row: u32, lane: u32) -> vec4<f32> {
    return vec4(0.0);
}

fn weight_of(round: vec4<f32>, texel: u32, row: u32, r: u32, q: u32) -> vec4<f32> {
    return textureLoad(weight, vec2<u32>(texel, row + r), 0);
}
