//! The fast engine's other layers in f32: LRN, standalone BatchNorm, dense and RBF, LeNet-5's
//! partial convolution, residual addition.

use super::gemm::{matmul, Dims};
use crate::model::{Lrn, PartialConv2d, Shape};

/// `b_c = a_c / (k + alpha * sum_{c'} a_c'^2) ^ beta` over the channel window of the
/// reference (`cpu::lrn`): `c - size/2 ..= c + (size-1)/2`, clipped.
pub fn lrn(l: &Lrn, x: &[f32], s: Shape, y: &mut [f32]) {
    let plane = s.h * s.w;
    let squares: Vec<f32> = x.iter().map(|v| v * v).collect();
    let mut sum = vec![0.0f32; plane];
    for c in 0..s.c {
        let window = c.saturating_sub(l.size / 2)..(c + l.size.div_ceil(2)).min(s.c);
        sum.fill(0.0);
        for c2 in window {
            for (acc, &q) in sum.iter_mut().zip(&squares[c2 * plane..(c2 + 1) * plane]) {
                *acc += q;
            }
        }
        let src = &x[c * plane..(c + 1) * plane];
        for ((d, &v), &q) in y[c * plane..(c + 1) * plane].iter_mut().zip(src).zip(&sum) {
            *d = v / (l.k + l.alpha * q).powf(l.beta);
        }
    }
}

/// `x * scale[c] + shift[c]` per channel plane (a BatchNorm not folded into a convolution).
pub fn scale_shift(scale: &[f32], shift: &[f32], x: &[f32], y: &mut [f32]) {
    let plane = x.len() / scale.len().max(1);
    for (((src, dst), &a), &b) in x
        .chunks_exact(plane)
        .zip(y.chunks_exact_mut(plane))
        .zip(scale)
        .zip(shift)
    {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v * a + b;
        }
    }
}

/// `y = W x + bias`, `W` `[out, in]`.
pub fn dense(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32]) {
    y.copy_from_slice(bias);
    let (outs, ins) = (y.len(), x.len());
    matmul(
        (weight, Dims::packed(outs, ins)),
        (x, Dims::packed(ins, 1)),
        (y, Dims::packed(outs, 1)),
        true,
    );
}

/// `y[o] = sum_i (x[i] - W[o, i])^2`.
pub fn rbf(weight: &[f32], x: &[f32], y: &mut [f32]) {
    for (d, row) in y.iter_mut().zip(weight.chunks_exact(x.len().max(1))) {
        *d = row.iter().zip(x).map(|(w, v)| (v - w) * (v - w)).sum();
    }
}

/// LeNet-5's C3: output map `o` sums `k x k` valid convolutions of the input maps in row `o`
/// of the table (stride 1, no padding), plus its bias.
pub fn partial_conv(
    p: &PartialConv2d,
    params: [&[f32]; 2],
    x: &[f32],
    s: Shape,
    out: Shape,
    y: &mut [f32],
) {
    let [weight, bias] = params;
    let k = p.kernel;
    let mut taps = weight.chunks_exact(k * k);
    for ((row, dst), &b) in p
        .table
        .iter()
        .zip(y.chunks_exact_mut(out.h * out.w))
        .zip(bias)
    {
        dst.fill(b);
        for &i in row {
            let kernel = taps.next().expect("one kernel per connection");
            let src = &x[i * s.h * s.w..(i + 1) * s.h * s.w];
            for (oy, dst_row) in dst.chunks_exact_mut(out.w).enumerate() {
                for (ky, tap_row) in kernel.chunks_exact(k).enumerate() {
                    let line = &src[(oy + ky) * s.w..(oy + ky + 1) * s.w];
                    for (kx, &w) in tap_row.iter().enumerate() {
                        for (d, &v) in dst_row.iter_mut().zip(&line[kx..kx + out.w]) {
                            *d += w * v;
                        }
                    }
                }
            }
        }
    }
}

/// Element-wise sum of the inputs.
pub fn add(inputs: &[&[f32]], y: &mut [f32]) {
    y.copy_from_slice(inputs[0]);
    for x in &inputs[1..] {
        for (d, &v) in y.iter_mut().zip(x.iter()) {
            *d += v;
        }
    }
}
