//! Pooling in f32: max and average windows (padding, ceil mode, `count_include_pad` as the
//! model resolves them), adaptive and global average pooling, LeNet-5's subsampling.

use crate::model::{AdaptiveAvgPool2d, Pool2d, Shape, Subsample};

/// Input span `[lo, hi)` of each output position's window along one axis (clipped to the
/// input; empty for a window of padding only).
fn spans(out: usize, stride: usize, kernel: usize, pad: usize, len: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|o| {
            let start = o * stride;
            let lo = start.saturating_sub(pad).min(len);
            let hi = (start + kernel).saturating_sub(pad).min(len);
            (lo, hi.max(lo))
        })
        .collect()
}

/// Maximum over each window; padding never wins and a NaN does, as in PyTorch.
pub fn max_pool(p: &Pool2d, x: &[f32], s: Shape, out: Shape, y: &mut [f32]) {
    let [top, _, left, _] = p.pads(s.h, s.w);
    let rows = spans(out.h, p.stride.0, p.kernel.0, top, s.h);
    let cols = spans(out.w, p.stride.1, p.kernel.1, left, s.w);
    for (src, dst) in x
        .chunks_exact(s.h * s.w)
        .zip(y.chunks_exact_mut(out.h * out.w))
    {
        for (&(y0, y1), dst_row) in rows.iter().zip(dst.chunks_exact_mut(out.w)) {
            for (&(x0, x1), d) in cols.iter().zip(dst_row.iter_mut()) {
                let mut m = f32::NEG_INFINITY;
                for line in src[y0 * s.w..y1 * s.w].chunks_exact(s.w) {
                    for &v in &line[x0..x1] {
                        if v > m || v.is_nan() {
                            m = v;
                        }
                    }
                }
                *d = m;
            }
        }
    }
}

/// Mean over each window of `windows` (`Pool2d::avg_windows`: input span and divisor); a
/// window with divisor 0 reads 0.
pub fn avg_pool(
    windows: &[(usize, usize, usize, usize, usize)],
    x: &[f32],
    s: Shape,
    y: &mut [f32],
) {
    let out_plane = windows.len();
    for (src, dst) in x.chunks_exact(s.h * s.w).zip(y.chunks_exact_mut(out_plane)) {
        for (&(y0, y1, x0, x1, divisor), d) in windows.iter().zip(dst.iter_mut()) {
            let sum: f32 = src[y0 * s.w..y1 * s.w]
                .chunks_exact(s.w)
                .map(|line| line[x0..x1].iter().sum::<f32>())
                .sum();
            *d = if divisor == 0 {
                0.0
            } else {
                sum / divisor as f32
            };
        }
    }
}

/// PyTorch's adaptive average pooling over the bins of [`AdaptiveAvgPool2d::bin`].
pub fn adaptive_avg_pool(x: &[f32], s: Shape, out: Shape, y: &mut [f32]) {
    let windows: Vec<_> = (0..out.h)
        .flat_map(|oy| {
            let (y0, y1) = AdaptiveAvgPool2d::bin(oy, s.h, out.h);
            (0..out.w).map(move |ox| {
                let (x0, x1) = AdaptiveAvgPool2d::bin(ox, s.w, out.w);
                (y0, y1, x0, x1, (y1 - y0) * (x1 - x0))
            })
        })
        .collect();
    avg_pool(&windows, x, s, y);
}

/// Mean of each channel's plane (summed in f64: a plane can hold thousands of values).
pub fn global_avg_pool(x: &[f32], s: Shape, y: &mut [f32]) {
    let n = s.h * s.w;
    for (src, d) in x.chunks_exact(n).zip(y.iter_mut()) {
        let sum: f64 = src.iter().map(|&v| v as f64).sum();
        *d = (sum / n as f64) as f32;
    }
}

/// LeNet-5's subsampling: `coefficient[c] * (sum of a window x window block) + bias[c]`.
pub fn subsample(
    sub: &Subsample,
    params: [&[f32]; 2],
    x: &[f32],
    s: Shape,
    out: Shape,
    y: &mut [f32],
) {
    let [coefficient, bias] = params;
    let k = sub.window;
    for (c, (src, dst)) in x
        .chunks_exact(s.h * s.w)
        .zip(y.chunks_exact_mut(out.h * out.w))
        .enumerate()
    {
        for (oy, dst_row) in dst.chunks_exact_mut(out.w).enumerate() {
            for (ox, d) in dst_row.iter_mut().enumerate() {
                let sum: f32 = src[oy * k * s.w..(oy * k + k) * s.w]
                    .chunks_exact(s.w)
                    .map(|line| line[ox * k..ox * k + k].iter().sum::<f32>())
                    .sum();
                *d = coefficient[c] * sum + bias[c];
            }
        }
    }
}
