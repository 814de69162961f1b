//! Convolutions: the general 2-D convolution (stride, dilation, padding, groups) and LeNet-5's
//! partially connected C3.

use crate::model::{Conv2d, PartialConv2d, Shape};
use std::ops::Range;

/// Value of channel `c` at row `y`, column `x` (which may lie in the zero padding).
pub(super) fn at(x: &[f32], s: Shape, c: usize, y: isize, col: isize) -> Option<f32> {
    if y < 0 || col < 0 || y as usize >= s.h || col as usize >= s.w {
        return None;
    }
    Some(x[(c * s.h + y as usize) * s.w + col as usize])
}

/// `out[o, y, x] = bias[o] + sum_{i, ky, kx} weight[o, i, ky, kx] *
/// in[g * in_per_group + i, y * stride - pad_top + ky * dilation, ...]`, where `g` is the
/// group of output channel `o`; padded positions read zero. Only output channels `channels`
/// are computed (and returned, in order).
pub(super) fn conv2d(
    c: &Conv2d,
    x: &[f32],
    s: Shape,
    weight: &[f32],
    bias: Option<&[f32]>,
    out: Shape,
    channels: Range<usize>,
) -> Vec<f32> {
    let (kh, kw) = c.kernel;
    let (dy, dx) = c.dilation;
    let [top, _, left, _] = c.pads(s.h, s.w);
    let in_per_group = c.in_channels / c.groups;
    let out_per_group = c.out_channels / c.groups;

    let mut y = Vec::with_capacity(channels.len() * out.h * out.w);
    let mut acc = vec![0.0f64; out.h * out.w];
    for o in channels {
        let first_in = (o / out_per_group) * in_per_group;
        // One weight at a time over the whole output plane: each output still sums its terms
        // in (i, ky, kx) order, and rows or columns in the padding are skipped.
        acc.fill(bias.map_or(0.0, |b| b[o] as f64));
        for i in 0..in_per_group {
            let plane = &x[(first_in + i) * s.h * s.w..][..s.h * s.w];
            for ky in 0..kh {
                for kx in 0..kw {
                    let wv = weight[((o * in_per_group + i) * kh + ky) * kw + kx] as f64;
                    for oy in 0..out.h {
                        let Some(iy) = input_index(oy, c.stride.0, ky * dy, top, s.h) else {
                            continue;
                        };
                        for ox in 0..out.w {
                            if let Some(ix) = input_index(ox, c.stride.1, kx * dx, left, s.w) {
                                acc[oy * out.w + ox] += wv * plane[iy * s.w + ix] as f64;
                            }
                        }
                    }
                }
            }
        }
        y.extend(acc.iter().map(|&v| v as f32));
    }
    y
}

/// Input coordinate read by output `o` at kernel offset `tap` (already dilated), or `None`
/// when it falls in the padding.
fn input_index(
    o: usize,
    stride: usize,
    tap: usize,
    pad_before: usize,
    len: usize,
) -> Option<usize> {
    (o * stride + tap)
        .checked_sub(pad_before)
        .filter(|&i| i < len)
}

/// `out[o, y, x] = bias[o] + sum_{j, ky, kx} weight[offset(o) + j, ky, kx] *
/// in[table[o][j], y + ky, x + kx]`: kernels are packed output map by output map
/// (`PartialConv2d::weight_offset`), in the order of each table row. Stride 1, no padding.
pub(super) fn partial_conv2d(
    p: &PartialConv2d,
    x: &[f32],
    s: Shape,
    weight: &[f32],
    bias: &[f32],
    out: Shape,
) -> Vec<f32> {
    let k = p.kernel;
    let mut y = vec![0.0; out.len()];
    for (o, row) in p.table.iter().enumerate() {
        let offset = p.weight_offset(o);
        for oy in 0..out.h {
            for ox in 0..out.w {
                let mut sum = 0.0f64;
                for (j, &i) in row.iter().enumerate() {
                    for ky in 0..k {
                        for kx in 0..k {
                            let v = x[(i * s.h + oy + ky) * s.w + ox + kx];
                            let wi = ((offset + j) * k + ky) * k + kx;
                            sum += weight[wi] as f64 * v as f64;
                        }
                    }
                }
                y[(o * out.h + oy) * out.w + ox] = (sum + bias[o] as f64) as f32;
            }
        }
    }
    y
}
