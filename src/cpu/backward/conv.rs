//! Backward of the convolutions: the general 2-D convolution (a transposed convolution with
//! the same stride, dilation, padding and groups) and LeNet-5's partially connected C3.

use crate::model::{Conv2d, PartialConv2d, Shape};

/// `dx[g * in_per_group + i, iy, ix] = sum_{o in group g, ky, kx, oy, ox}
/// weight[o, i, ky, kx] * dy[o, oy, ox]` over the outputs whose window read `(iy, ix)`
/// (`iy = oy * stride - pad_top + ky * dilation`); padded taps read nothing back.
/// `s` is the input shape, `out` the output shape, `dy` laid out as the output.
pub fn conv2d_backward(c: &Conv2d, s: Shape, weight: &[f32], dy: &[f64], out: Shape) -> Vec<f64> {
    let (kh, kw) = c.kernel;
    let (dil_y, dil_x) = c.dilation;
    let [top, _, left, _] = c.pads(s.h, s.w);
    let in_per_group = c.in_channels / c.groups;
    let out_per_group = c.out_channels / c.groups;
    let mut dx = vec![0.0f64; s.len()];
    for o in 0..out.c {
        let first_in = (o / out_per_group) * in_per_group;
        let g = &dy[o * out.h * out.w..][..out.h * out.w];
        for i in 0..in_per_group {
            let plane = &mut dx[(first_in + i) * s.h * s.w..][..s.h * s.w];
            for ky in 0..kh {
                for kx in 0..kw {
                    let wv = weight[((o * in_per_group + i) * kh + ky) * kw + kx] as f64;
                    for oy in 0..out.h {
                        let Some(iy) = input_index(oy, c.stride.0, ky * dil_y, top, s.h) else {
                            continue;
                        };
                        for ox in 0..out.w {
                            if let Some(ix) = input_index(ox, c.stride.1, kx * dil_x, left, s.w) {
                                plane[iy * s.w + ix] += wv * g[oy * out.w + ox];
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Input coordinate read by output `o` at the (dilated) kernel offset `tap`, or `None` in
/// the padding: the forward pass's rule.
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

/// `dx[table[o][j], oy + ky, ox + kx] += weight[offset(o) + j, ky, kx] * dy[o, oy, ox]`:
/// the transpose of `PartialConv2d`'s forward pass (stride 1, no padding).
pub fn partial_conv2d_backward(
    p: &PartialConv2d,
    s: Shape,
    weight: &[f32],
    dy: &[f64],
    out: Shape,
) -> Vec<f64> {
    let k = p.kernel;
    let mut dx = vec![0.0f64; s.len()];
    for (o, row) in p.table.iter().enumerate() {
        let offset = p.weight_offset(o);
        for (j, &i) in row.iter().enumerate() {
            for ky in 0..k {
                for kx in 0..k {
                    let wv = weight[((offset + j) * k + ky) * k + kx] as f64;
                    for oy in 0..out.h {
                        for ox in 0..out.w {
                            let g = dy[(o * out.h + oy) * out.w + ox];
                            dx[(i * s.h + oy + ky) * s.w + ox + kx] += wv * g;
                        }
                    }
                }
            }
        }
    }
    dx
}
