// Shared by every compute kernel, joined in front of each at build time (`Kernel::source`
// in src/gpu/kernels.rs): the activation numbering and function, the X texture's width, and
// the params structs more than one kernel reads, each the twin of the `#[repr(C)]` struct of
// the same name in src/gpu/params.rs (a struct only one kernel reads stays in its file).
// Bindings: none here; every kernel binds @group(0) inputs (read), then its output
// (read_write), then its params (uniform).

// What the ACT override applies to a kernel's results. Rust numbers them the same way
// (`gpu::kernels::activation_code`); a test reads these lines and compares.
const ACT_NONE: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_RELU6: u32 = 2u;
const ACT_SIGMOID: u32 = 3u;
const ACT_TANH: u32 = 4u;
const ACT_SCALED_TANH: u32 = 5u;
const ACT_LEAKY_RELU: u32 = 6u;

override ACT: u32 = ACT_NONE;
// Leaky ReLU's alpha as the bits of an f32 (Rust's `f32::to_bits`, so that a pipeline's key
// stays whole numbers; `gpu::kernels::activation_overrides`). Default 0.01, ONNX's.
override ACT_ALPHA: u32 = 0x3c23d70au;

fn act_alpha() -> f32 {
    return bitcast<f32>(ACT_ALPHA);
}

fn activate(v: f32) -> f32 {
    switch ACT {
        case ACT_RELU: { return max(v, 0.0); }
        case ACT_RELU6: { return clamp(v, 0.0, 6.0); }
        case ACT_SIGMOID: { return 1.0 / (1.0 + exp(-v)); }
        case ACT_TANH: { return tanh(v); }
        // LeNet-5's squashing function (LeCun et al. 1998, Appendix A).
        case ACT_SCALED_TANH: { return 1.7159 * tanh(2.0 * v / 3.0); }
        case ACT_LEAKY_RELU: { return select(act_alpha() * v, v, v > 0.0); }
        default: { return v; }
    }
}

fn activate4(v: vec4<f32>) -> vec4<f32> {
    return vec4(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
}

// Width in texels of the X texture that tensors are copied into, 4 values a texel, for
// kernels that read their input as a texture (X_TEXTURE_WIDTH in src/gpu/lower/texture.rs;
// a test compares them).
const X_TEXTURE_WIDTH: u32 = 1024u;

// Where texel t of the tensor copied into the X texture lies.
fn x_texel(t: u32) -> vec2<u32> {
    return vec2<u32>(t % X_TEXTURE_WIDTH, t / X_TEXTURE_WIDTH);
}

// conv_naive, conv_gemm, conv_pointwise, im2col, depthwise, depthwise_texture.
struct ConvParams {
    in_c: u32, in_h: u32, in_w: u32, out_c: u32,
    out_h: u32, out_w: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, dh: u32, dw: u32,
    pad_t: u32, pad_l: u32, groups: u32, has_bias: u32,
}

// subsample; adaptive_pool (window unused).
struct SubsampleParams {
    c: u32, in_h: u32, in_w: u32, out_h: u32,
    out_w: u32, window: u32, _pad0: u32, _pad1: u32,
}

// dense, dense_texture: rows [row_offset, row_offset + rows) of the output.
struct DenseParams {
    in_features: u32, rows: u32, row_offset: u32, has_bias: u32,
}

// Element-wise kernels over `len` values: activation, add, softmax (offset 0) and copy
// (writing at `offset`). Rust's SmallParams.
struct LengthParams {
    len: u32, offset: u32, _pad0: u32, _pad1: u32,
}

// Read by a forward kernel and its backward twin (backward_*.wgsl).

// pool, backward_pool.
struct PoolParams {
    c: u32, in_h: u32, in_w: u32, out_h: u32,
    out_w: u32, kh: u32, kw: u32, sh: u32,
    sw: u32, pad_t: u32, pad_l: u32, pad_b: u32,
    pad_r: u32, count_include_pad: u32, _pad0: u32, _pad1: u32,
}

// conv_partial, backward_conv_partial.
struct PartialConvParams {
    in_c: u32, in_h: u32, in_w: u32, out_c: u32,
    out_h: u32, out_w: u32, k: u32, _pad: u32,
}

// lrn, backward_lrn.
struct LrnParams {
    c: u32, hw: u32, size: u32, _pad: u32,
    alpha: f32, beta: f32, k: f32, _pad1: f32,
}

// batchnorm, backward_batchnorm.
struct BatchNormParams {
    c: u32, hw: u32, eps: f32, _pad: u32,
}

// rbf, backward_rbf.
struct RbfParams {
    in_features: u32, outputs: u32, _pad0: u32, _pad1: u32,
}
