//! Backward of the pooling layers: max pooling through its switches, average, adaptive and
//! global average pooling, and LeNet-5's trainable subsampling.

use crate::model::{AdaptiveAvgPool2d, Pool2d, Shape, Subsample};

/// The switches of max pooling (Zeiler & Fergus §2.1): for each output (channel-major), the
/// flat index into the input of the value that won its window, or `None` for a window of
/// padding only. The forward pass's rule (and PyTorch's): padding never wins, the first
/// index wins a tie, and a NaN wins (the last one).
pub fn max_pool2d_switches(p: &Pool2d, x: &[f32], s: Shape, out: Shape) -> Vec<Option<usize>> {
    let [top, _, left, _] = p.pads(s.h, s.w);
    let mut switches = Vec::with_capacity(out.len());
    for c in 0..out.c {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let mut best: Option<(usize, f32)> = None;
                for ky in 0..p.kernel.0 {
                    let Some(iy) = (oy * p.stride.0 + ky).checked_sub(top).filter(|&v| v < s.h)
                    else {
                        continue;
                    };
                    for kx in 0..p.kernel.1 {
                        let Some(ix) = (ox * p.stride.1 + kx)
                            .checked_sub(left)
                            .filter(|&v| v < s.w)
                        else {
                            continue;
                        };
                        let i = (c * s.h + iy) * s.w + ix;
                        let v = x[i];
                        let wins = best.is_none_or(|(_, m)| v > m || v.is_nan());
                        if wins {
                            best = Some((i, v));
                        }
                    }
                }
                switches.push(best.map(|(i, _)| i));
            }
        }
    }
    switches
}

/// `dx[switch[o]] += dy[o]`: each output's gradient goes to the input that won its window.
/// `x` is the pooling's input (the switches are recomputed from it).
pub fn max_pool2d_backward(p: &Pool2d, x: &[f32], s: Shape, dy: &[f64], out: Shape) -> Vec<f64> {
    let mut dx = vec![0.0f64; s.len()];
    for (&g, switch) in dy.iter().zip(max_pool2d_switches(p, x, s, out)) {
        if let Some(i) = switch {
            dx[i] += g;
        }
    }
    dx
}

/// `dx[pixel] += dy[o] / divisor(o)` for each real pixel of output `o`'s window, with
/// `Pool2d::avg_windows`' divisor (so `count_include_pad` and `ceil_mode` follow the
/// forward pass); a window of padding only passes nothing back.
pub fn avg_pool2d_backward(p: &Pool2d, s: Shape, dy: &[f64], out: Shape) -> Vec<f64> {
    let windows = p.avg_windows(s, out);
    let mut dx = vec![0.0f64; s.len()];
    for c in 0..out.c {
        for (i, &(y0, y1, x0, x1, divisor)) in windows.iter().enumerate() {
            if divisor == 0 {
                continue;
            }
            let g = dy[c * out.h * out.w + i] / divisor as f64;
            for iy in y0..y1 {
                for ix in x0..x1 {
                    dx[(c * s.h + iy) * s.w + ix] += g;
                }
            }
        }
    }
    dx
}

/// Each output cell's gradient spread evenly over its bin ([`AdaptiveAvgPool2d::bin`]).
pub fn adaptive_avg_pool2d_backward(s: Shape, dy: &[f64], out: Shape) -> Vec<f64> {
    let mut dx = vec![0.0f64; s.len()];
    for c in 0..s.c {
        for oy in 0..out.h {
            let (y0, y1) = AdaptiveAvgPool2d::bin(oy, s.h, out.h);
            for ox in 0..out.w {
                let (x0, x1) = AdaptiveAvgPool2d::bin(ox, s.w, out.w);
                let g = dy[(c * out.h + oy) * out.w + ox] / ((y1 - y0) * (x1 - x0)) as f64;
                for iy in y0..y1 {
                    for ix in x0..x1 {
                        dx[(c * s.h + iy) * s.w + ix] += g;
                    }
                }
            }
        }
    }
    dx
}

/// `dx[c, y, x] = dy[c] / (H * W)`.
pub fn global_avg_pool_backward(s: Shape, dy: &[f64]) -> Vec<f64> {
    let n = s.h * s.w;
    (0..s.len()).map(|i| dy[i / n] / n as f64).collect()
}

/// `dx = coefficient[c] * dy` over each block's pixels; the remainder no block covers gets 0.
pub fn subsample_backward(
    sub: &Subsample,
    s: Shape,
    coefficient: &[f32],
    dy: &[f64],
    out: Shape,
) -> Vec<f64> {
    let k = sub.window;
    let mut dx = vec![0.0f64; s.len()];
    for c in 0..out.c {
        for oy in 0..out.h {
            for ox in 0..out.w {
                let g = coefficient[c] as f64 * dy[(c * out.h + oy) * out.w + ox];
                for ky in 0..k {
                    for kx in 0..k {
                        dx[(c * s.h + oy * k + ky) * s.w + ox * k + kx] = g;
                    }
                }
            }
        }
    }
    dx
}
