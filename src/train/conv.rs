//! Convolutions as matrix products: `Conv2d` (padding, stride, dilation, groups) and
//! LeNet-5's `PartialConv2d` (a full convolution whose missing connections have zero
//! kernels), forward and backward.

use super::batch::{add_bias, Batch};
use super::gemm::{matmul_nn, matmul_nt, matmul_tn, ConvGeometry};
use crate::model::{Conv2d, PartialConv2d, Shape};

/// A convolution in the terms the matrix-product code needs.
#[derive(Clone, Copy, Debug)]
pub struct ConvSpec {
    pub in_channels: usize,
    pub out_channels: usize,
    pub groups: usize,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    pub top: usize,
    pub left: usize,
}

impl ConvSpec {
    /// `Conv2d` on an input of `s`, padding resolved as in shape inference.
    pub fn of_conv(c: &Conv2d, s: Shape) -> Self {
        let [top, _, left, _] = c.pads(s.h, s.w);
        ConvSpec {
            in_channels: c.in_channels,
            out_channels: c.out_channels,
            groups: c.groups,
            kernel: c.kernel,
            stride: c.stride,
            dilation: c.dilation,
            top,
            left,
        }
    }
    /// `PartialConv2d` as a full convolution whose missing connections have zero kernels.
    pub fn of_partial(p: &PartialConv2d) -> Self {
        ConvSpec {
            in_channels: p.in_channels,
            out_channels: p.table.len(),
            groups: 1,
            kernel: (p.kernel, p.kernel),
            stride: (1, 1),
            dilation: (1, 1),
            top: 0,
            left: 0,
        }
    }
    /// The column-matrix geometry of one group for input `s` and output `out`.
    pub fn geometry(&self, s: Shape, out: Shape) -> ConvGeometry {
        ConvGeometry {
            channels: self.in_channels / self.groups,
            in_h: s.h,
            in_w: s.w,
            kernel: self.kernel,
            stride: self.stride,
            dilation: self.dilation,
            top: self.top,
            left: self.left,
            out_h: out.h,
            out_w: out.w,
        }
    }
}

/// PartialConv2d's packed kernels laid out as a dense `[out, in, k, k]` convolution weight.
pub fn expand_partial(p: &PartialConv2d, packed: &[f32]) -> Vec<f32> {
    let kk = p.kernel * p.kernel;
    let mut dense = vec![0.0; p.table.len() * p.in_channels * kk];
    for (o, row) in p.table.iter().enumerate() {
        for (j, &i) in row.iter().enumerate() {
            let src = (p.weight_offset(o) + j) * kk;
            let dst = (o * p.in_channels + i) * kk;
            dense[dst..dst + kk].copy_from_slice(&packed[src..src + kk]);
        }
    }
    dense
}

/// Convolution of every image: per group, `out = weight_g x im2col(x_g)`, then the bias.
pub fn conv_forward(
    spec: &ConvSpec,
    x: &Batch,
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut Batch,
) {
    let geo = spec.geometry(x.shape, y.shape);
    let (k, p) = (geo.rows(), geo.cols());
    let opg = spec.out_channels / spec.groups;
    let in_group = geo.channels * x.shape.h * x.shape.w;
    let mut cols = vec![0.0; k * p];
    for b in 0..x.n {
        for g in 0..spec.groups {
            let xs = &x.data[b * x.shape.len() + g * in_group..][..in_group];
            geo.im2col(xs, &mut cols);
            let ys = &mut y.data[b * y.shape.len() + g * opg * p..][..opg * p];
            matmul_nn(opg, k, p, &weight[g * opg * k..][..opg * k], &cols, ys);
        }
    }
    if let Some(bias) = bias {
        add_bias(&mut y.data, bias, p);
    }
}

/// Convolution gradients, per image and group: `dW_g += dy_g x cols^T`,
/// `dx_g += col2im(W_g^T x dy_g)` (when `dx` is wanted).
pub fn conv_backward(
    spec: &ConvSpec,
    x: &Batch,
    out: Shape,
    weight: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    mut dx: Option<&mut [f32]>,
) {
    let geo = spec.geometry(x.shape, out);
    let (k, p) = (geo.rows(), geo.cols());
    let opg = spec.out_channels / spec.groups;
    let in_group = geo.channels * x.shape.h * x.shape.w;
    let (mut cols, mut dcols) = (vec![0.0; k * p], vec![0.0; k * p]);
    for b in 0..x.n {
        for g in 0..spec.groups {
            let xs = &x.data[b * x.shape.len() + g * in_group..][..in_group];
            let dys = &dy[b * out.len() + g * opg * p..][..opg * p];
            let wg = &weight[g * opg * k..][..opg * k];
            geo.im2col(xs, &mut cols);
            matmul_nt(opg, p, k, dys, &cols, &mut dw[g * opg * k..][..opg * k]);
            if let Some(dx) = dx.as_deref_mut() {
                dcols.fill(0.0);
                matmul_tn(k, opg, p, wg, dys, &mut dcols);
                let dxs = &mut dx[b * x.shape.len() + g * in_group..][..in_group];
                geo.col2im(&dcols, dxs);
            }
        }
    }
}
