// Backward of an activation (the ACT override, numbered as in the prelude) in one of three
// modes (the MODE override; Rust numbers them the same way in `gpu::backward::mode_code`,
// a test compares): the twin of `cpu::backward::activation_backward`. It reads the
// activation's forward OUTPUT y, which a fused convolution writes where its input (the
// pre-activation) is never stored; each derivative is a function of y: ReLU's
// 1[x > 0] = 1[y > 0], ReLU6's 1[0 < x < 6] = 1[0 < y < 6], sigmoid's s (1 - s) = y (1 - y),
// tanh's 1 - y^2, the scaled tanh's 1.7159 * 2/3 * (1 - (y / 1.7159)^2), leaky ReLU's
// slope 1 where y > 0 else alpha (alpha >= 0, so y > 0 exactly where x > 0).
// - gradient: f'(x) g (leaky ReLU: g where open, alpha g where shut);
// - guided backprop (Springenberg et al. 2014): a rectifier's gradient, only where g > 0
//   (leaky ReLU: alpha g kept where shut and g > 0);
// - deconvnet (Zeiler & Fergus 2013, section 2.1): the rectifier applied to g, whatever x:
//   relu(g), and leaky ReLU's leaky(g).
// Sigmoid and the tanhs have no switch: their derivative in every mode.
// Override ACCUMULATE adds to what the output holds.
// Bindings: 0 y, 1 dy, 2 dx, 3 params (LengthParams, offset unused).

const MODE_GRADIENT: u32 = 0u;
const MODE_GUIDED: u32 = 1u;
const MODE_DECONVNET: u32 = 2u;

@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: LengthParams;

override MODE: u32 = MODE_GRADIENT;
override ACCUMULATE: bool = false;

// `closed`: the slope where the rectifier is shut (0, or leaky ReLU's alpha).
fn rectifier(open: bool, closed: f32, g: f32) -> f32 {
    let slope = select(closed, 1.0, open);
    switch MODE {
        case MODE_GUIDED: { return select(0.0, slope * g, g > 0.0); }
        case MODE_DECONVNET: { return max(g, 0.0) + closed * min(g, 0.0); }
        default: { return slope * g; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = gid.x + gid.y * groups.x * 64u;
    if (idx >= p.len) {
        return;
    }
    let v = y[idx];
    let g = dy[idx];
    var d: f32;
    switch ACT {
        case ACT_RELU: { d = rectifier(v > 0.0, 0.0, g); }
        case ACT_RELU6: { d = rectifier(v > 0.0 && v < 6.0, 0.0, g); }
        case ACT_LEAKY_RELU: { d = rectifier(v > 0.0, act_alpha(), g); }
        case ACT_SIGMOID: { d = v * (1.0 - v) * g; }
        case ACT_TANH: { d = (1.0 - v * v) * g; }
        case ACT_SCALED_TANH: {
            let t = v / 1.7159;
            d = 1.7159 * 2.0 / 3.0 * (1.0 - t * t) * g;
        }
        default: { d = g; }
    }
    if (ACCUMULATE) {
        d += dx[idx];
    }
    dx[idx] = d;
}
