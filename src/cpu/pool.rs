//! Pooling: LeNet-5's trainable subsampling, max and average pooling, global average pooling.

use super::conv::at;
use crate::model::{AdaptiveAvgPool2d, Pool2d, Shape, Subsample};

/// `out[c, y, x] = coefficient[c] * (sum of the window x window block at (y, x)) + bias[c]`;
/// blocks do not overlap and a remainder that does not fill a block is dropped.
pub(super) fn subsample(
    sub: &Subsample,
    x: &[f32],
    s: Shape,
    coefficient: &[f32],
    bias: &[f32],
    out: Shape,
) -> Vec<f32> {
    let k = sub.window;
    let mut y = vec![0.0; out.len()];
    for c in 0..out.c {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let mut sum = 0.0f64;
                for ky in 0..k {
                    for kx in 0..k {
                        sum += x[(c * s.h + oy * k + ky) * s.w + ox * k + kx] as f64;
                    }
                }
                let v = coefficient[c] as f64 * sum + bias[c] as f64;
                y[(c * out.h + oy) * out.w + ox] = v as f32;
            }
        }
    }
    y
}

/// Maximum over each window; padding counts as -infinity, so only real pixels can win.
/// A NaN in the window wins, as in PyTorch.
pub(super) fn max_pool2d(p: &Pool2d, x: &[f32], s: Shape, out: Shape) -> Vec<f32> {
    let [top, _, left, _] = p.pads(s.h, s.w);
    let mut y = vec![0.0; out.len()];
    for c in 0..out.c {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..p.kernel.0 {
                    for kx in 0..p.kernel.1 {
                        let iy = (oy * p.stride.0 + ky) as isize - top as isize;
                        let ix = (ox * p.stride.1 + kx) as isize - left as isize;
                        if let Some(v) = at(x, s, c, iy, ix) {
                            if v > m || v.is_nan() {
                                m = v;
                            }
                        }
                    }
                }
                y[(c * out.h + oy) * out.w + ox] = m;
            }
        }
    }
    y
}

/// Mean over each window, as PyTorch's `avg_pool2d`: the sum covers real pixels only (padding
/// is zero); with `count_include_pad` the divisor is the window clipped to the padded input
/// (so padded positions count, but positions past the padding that `ceil_mode` added do
/// not), otherwise the number of real pixels.
pub(super) fn avg_pool2d(p: &Pool2d, x: &[f32], s: Shape, out: Shape) -> Vec<f32> {
    let windows = p.avg_windows(s, out);
    let mut y = vec![0.0; out.len()];
    for c in 0..out.c {
        for (i, &(y0, y1, x0, x1, divisor)) in windows.iter().enumerate() {
            let mut sum = 0.0f64;
            for iy in y0..y1 {
                for ix in x0..x1 {
                    sum += x[(c * s.h + iy) * s.w + ix] as f64;
                }
            }
            // A window of padding only (possible when one side pads more than half the
            // window) has no pixels to average: it reads 0, as zero padding would.
            let mean = if divisor == 0 {
                0.0
            } else {
                sum / divisor as f64
            };
            y[c * out.h * out.w + i] = mean as f32;
        }
    }
    y
}

/// Mean of each channel over all of H x W.
pub(super) fn global_avg_pool(x: &[f32], s: Shape) -> Vec<f32> {
    let n = s.h * s.w;
    (0..s.c)
        .map(|c| {
            let sum: f64 = x[c * n..(c + 1) * n].iter().map(|&v| v as f64).sum();
            (sum / n as f64) as f32
        })
        .collect()
}

/// PyTorch's adaptive average pooling: each output cell averages its bin (see
/// [`AdaptiveAvgPool2d::bin`]).
pub(super) fn adaptive_avg_pool2d(x: &[f32], s: Shape, out: Shape) -> Vec<f32> {
    let mut y = Vec::with_capacity(out.len());
    for c in 0..s.c {
        for oy in 0..out.h {
            let (y0, y1) = AdaptiveAvgPool2d::bin(oy, s.h, out.h);
            for ox in 0..out.w {
                let (x0, x1) = AdaptiveAvgPool2d::bin(ox, s.w, out.w);
                let mut sum = 0.0f64;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        sum += x[(c * s.h + iy) * s.w + ix] as f64;
                    }
                }
                y.push((sum / ((y1 - y0) * (x1 - x0)) as f64) as f32);
            }
        }
    }
    y
}
