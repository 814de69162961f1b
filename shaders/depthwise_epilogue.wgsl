// The end of depthwise.wgsl and depthwise_texture.wgsl, joined after either: bias,
// activation (the prelude's ACT) and the stores of one invocation's OUT outputs of a row.
// Bindings: those of the kernel in front of it (2 bias, 3 output, 4 params).

const OUT: u32 = 8u; // outputs per invocation, along a row

fn store_outputs(acc: array<f32, OUT>, oc: u32, oy: u32, ox0: u32) {
    var b = 0.0;
    if (p.has_bias != 0u) {
        b = bias[oc];
    }
    let out_row = (oc * p.out_h + oy) * p.out_w;
    var v: array<f32, OUT>;
    for (var j = 0u; j < OUT; j++) {
        v[j] = activate(acc[j] + b);
    }
    // Scalar stores with constant components (a component chosen per invocation costs
    // lavapipe far more).
    for (var j = 0u; j < OUT; j++) {
        if (ox0 + j < p.out_w) {
            output[out_row + ox0 + j] = v[j];
        }
    }
}
