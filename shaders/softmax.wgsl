// Softmax over the whole tensor, numerically stable (max subtracted); one workgroup.
// Bindings: 0 input, 1 output, 2 params.

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read_write> output: array<f32>;
@group(0) @binding(2) var<uniform> p: LengthParams;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    var m = -0x1.fffffep+127f;
    for (var i = lid.x; i < p.len; i += 256u) {
        m = max(m, input[i]);
    }
    partial[lid.x] = m;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            partial[lid.x] = max(partial[lid.x], partial[lid.x + stride]);
        }
        workgroupBarrier();
    }
    let top = partial[0];
    workgroupBarrier();
    var s = 0.0;
    for (var i = lid.x; i < p.len; i += 256u) {
        s += exp(input[i] - top);
    }
    partial[lid.x] = s;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            partial[lid.x] += partial[lid.x + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    for (var i = lid.x; i < p.len; i += 256u) {
        output[i] = exp(input[i] - top) / total;
    }
}
